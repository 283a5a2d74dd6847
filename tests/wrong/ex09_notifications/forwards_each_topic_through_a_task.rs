//! Wrong solution: spawns one task per topic that forwards the broadcast receiver into the
//! subscription's `mpsc` queue. Dropping the subscription does not stop the tasks: each keeps
//! its receiver — still counted as a subscriber, still counted by `publish` — until it next
//! tries to forward something.
//! replaces: subscription.rs
//! expect: dropping_a_subscription_unsubscribes_at_once — a dropped subscription must stop counting at once

use crate::notification::{Event, Notification};
use std::collections::VecDeque;
use tokio::sync::{broadcast, mpsc};

/// A subscription to one or more topics of a [`Hub`](crate::Hub). Dropping it unsubscribes.
pub struct Subscription {
    replay: VecDeque<Notification>,
    topics: Vec<String>,
    // Given to each forwarding task; ours is dropped at the first `next` so that the queue
    // ends once every task has.
    forward: Option<mpsc::UnboundedSender<Event>>,
    live: mpsc::UnboundedReceiver<Event>,
}

impl Subscription {
    pub(crate) fn new() -> Self {
        let (forward, live) = mpsc::unbounded_channel();
        Self {
            replay: VecDeque::new(),
            topics: Vec::new(),
            forward: Some(forward),
            live,
        }
    }

    pub(crate) fn follows(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == topic)
    }

    pub(crate) fn add(
        &mut self,
        topic: &str,
        replay: impl Iterator<Item = Notification>,
        mut receiver: broadcast::Receiver<Notification>,
    ) {
        self.replay.extend(replay);
        self.topics.push(topic.to_owned());
        let Some(forward) = self.forward.clone() else {
            return;
        };
        let topic = topic.to_owned();
        tokio::spawn(async move {
            loop {
                let event = match receiver.recv().await {
                    Ok(notification) => Event::Notification(notification),
                    Err(broadcast::error::RecvError::Lagged(count)) => Event::Missed {
                        topic: topic.clone(),
                        count,
                    },
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if forward.send(event).is_err() {
                    return; // the subscription was dropped
                }
            }
        });
    }

    /// The next event: the replay first, then live notifications as they are published (or a
    /// [`Event::Missed`] when this subscription fell behind on a topic). `None` once the hub is
    /// closed and everything published before has been yielded — or at once for a subscription
    /// to no topic. Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(notification) = self.replay.pop_front() {
            return Some(Event::Notification(notification));
        }
        self.forward = None;
        self.live.recv().await
    }
}
