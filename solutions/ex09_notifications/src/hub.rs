//! The hub: one broadcast channel per topic, and each topic's recent history.

use crate::notification::Notification;
use crate::subscription::Subscription;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// The hub's limits. `capacity` must be at least 1 (a zero panics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// How many notifications of one topic a subscriber may fall behind before it misses some:
    /// the capacity of each topic's broadcast channel. Like tokio's broadcast channel, it is
    /// rounded up to a power of two: 3 holds 4.
    pub capacity: usize,
    /// How many of a topic's most recent notifications a new subscriber receives first (0: none).
    pub replay: usize,
}

/// A notification hub. Cloning it gives another handle to the same hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    config: HubConfig,
    // A std `Mutex`: it is held for a few instructions and never across an `.await` (publishing
    // to a broadcast channel does not wait), so it cannot stall the executor.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    topics: HashMap<String, Topic>,
    closed: bool,
}

struct Topic {
    sender: broadcast::Sender<Notification>,
    // The last `replay` notifications, oldest first.
    history: VecDeque<Notification>,
    last_seq: u64,
}

impl Hub {
    /// A hub with no topics yet: a topic exists from its first publish or subscribe.
    pub fn new(config: HubConfig) -> Self {
        assert!(config.capacity > 0, "capacity must be at least 1");
        Self {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Publishes `body` on `topic`, numbered one more than the topic's previous notification,
    /// and returns how many subscriptions will receive it. It never waits: a subscriber that
    /// falls behind misses notifications ([`Event::Missed`](crate::Event::Missed)) instead of
    /// slowing the publisher or the other subscribers. After [`close`](Hub::close) nothing is
    /// delivered, and it returns 0.
    pub fn publish(&self, topic: &str, body: impl Into<String>) -> usize {
        let mut state = self.inner.lock();
        if state.closed {
            return 0;
        }
        let replay = self.inner.config.replay;
        let topic_state = state.topic(topic, self.inner.config.capacity);
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
        // `send` fails only when nobody subscribes: the notification is then simply not
        // delivered to anyone (it stays in the history).
        topic_state.sender.send(notification).unwrap_or(0)
    }

    /// Subscribes to `topics`. The subscription first yields each topic's replay (its last
    /// `replay` notifications, topic by topic in the order given, oldest first), then every
    /// notification published on any of the topics from now on — with no gap and no duplicate
    /// between the two. A topic listed twice counts once, at its first place in the list.
    pub fn subscribe(&self, topics: &[&str]) -> Subscription {
        let mut state = self.inner.lock();
        let mut subscription = Subscription::new();
        if state.closed {
            return subscription; // ends at once
        }
        for &topic in topics {
            if subscription.follows(topic) {
                continue;
            }
            let topic_state = state.topic(topic, self.inner.config.capacity);
            // The snapshot and the receiver are taken under the same lock `publish` holds:
            // nothing can be published in between, so the replay ends exactly where the live
            // notifications begin.
            let replay = topic_state.history.iter().cloned();
            subscription.add(topic, replay, topic_state.sender.subscribe());
        }
        subscription
    }

    /// How many subscriptions follow `topic` right now (a dropped subscription stops counting
    /// at once). After [`close`](Hub::close) it is 0: nothing will reach them any more.
    pub fn subscribers(&self, topic: &str) -> usize {
        let state = self.inner.lock();
        state
            .topics
            .get(topic)
            .map_or(0, |t| t.sender.receiver_count())
    }

    /// Closes the hub: every subscription yields what was published before, then ends; later
    /// publishes deliver nothing, and later subscriptions end at once. Closing a closed hub
    /// changes nothing.
    pub fn close(&self) {
        let mut state = self.inner.lock();
        state.closed = true;
        // Dropping the senders closes the channels: receivers drain what they hold, then end.
        state.topics.clear();
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update is a single step; a panic elsewhere cannot leave the state half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn topic(&mut self, name: &str, capacity: usize) -> &mut Topic {
        self.topics.entry(name.to_owned()).or_insert_with(|| Topic {
            sender: broadcast::channel(capacity).0,
            history: VecDeque::new(),
            last_seq: 0,
        })
    }
}
