//! Wrong solution: no broadcast channel — the hub keeps one unbounded `mpsc` sender per
//! subscription and pushes every notification into each queue. Nobody ever waits, but a
//! subscriber that falls behind is never told it missed anything: its queue just grows (without
//! bound: the memory a stalled subscriber holds is the hub's problem).
//! replaces: lib.rs
//! expect: a_subscriber_that_falls_too_far_behind_is_told_how_many_it_missed — must be told it missed 6

mod notification;

pub use notification::{Event, Notification};

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// The hub's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// Unused: a subscriber's queue has no limit.
    pub capacity: usize,
    /// How many of a topic's most recent notifications a new subscriber receives first.
    pub replay: usize,
}

/// A notification hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    config: HubConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    topics: HashMap<String, Topic>,
    closed: bool,
}

#[derive(Default)]
struct Topic {
    // One queue per subscription that follows the topic.
    queues: Vec<mpsc::UnboundedSender<Notification>>,
    history: VecDeque<Notification>,
    last_seq: u64,
}

impl Hub {
    /// A hub with no topics yet.
    pub fn new(config: HubConfig) -> Self {
        assert!(config.capacity > 0, "capacity must be at least 1");
        Self {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes `body` on `topic` and returns how many subscriptions will receive it.
    pub fn publish(&self, topic: &str, body: impl Into<String>) -> usize {
        let replay = self.inner.config.replay;
        let mut state = self.lock();
        if state.closed {
            return 0;
        }
        let topic_state = state.topics.entry(topic.to_owned()).or_default();
        topic_state.last_seq += 1;
        let notification = Notification {
            topic: topic.to_owned(),
            seq: topic_state.last_seq,
            body: body.into(),
        };
        if replay > 0 {
            if topic_state.history.len() == replay {
                topic_state.history.pop_front();
            }
            topic_state.history.push_back(notification.clone());
        }
        // A queue whose subscription was dropped refuses the notification: forget it.
        topic_state
            .queues
            .retain(|queue| queue.send(notification.clone()).is_ok());
        topic_state.queues.len()
    }

    /// Subscribes to `topics`: the replay first, then everything published from now on.
    pub fn subscribe(&self, topics: &[&str]) -> Subscription {
        let mut state = self.lock();
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut subscription = Subscription {
            replay: VecDeque::new(),
            live: receiver,
        };
        if state.closed {
            return subscription;
        }
        let mut followed: Vec<&str> = Vec::new();
        for &topic in topics {
            if followed.contains(&topic) {
                continue;
            }
            followed.push(topic);
            let topic_state = state.topics.entry(topic.to_owned()).or_default();
            subscription
                .replay
                .extend(topic_state.history.iter().cloned());
            topic_state.queues.push(sender.clone());
        }
        // Only the topics hold senders: the queue ends when the hub lets go of them.
        subscription
    }

    /// How many subscriptions follow `topic` right now.
    pub fn subscribers(&self, topic: &str) -> usize {
        self.lock().topics.get(topic).map_or(0, |t| {
            t.queues.iter().filter(|queue| !queue.is_closed()).count()
        })
    }

    /// Closes the hub: subscriptions drain their queues, then end.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.topics.clear();
    }
}

/// A subscription to one or more topics of a [`Hub`].
pub struct Subscription {
    replay: VecDeque<Notification>,
    live: mpsc::UnboundedReceiver<Notification>,
}

impl Subscription {
    /// The next event: the replay first, then the queue.
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(notification) = self.replay.pop_front() {
            return Some(Event::Notification(notification));
        }
        self.live.recv().await.map(Event::Notification)
    }
}
