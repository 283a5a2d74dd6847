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
    // Your fields. Shared by every clone, so behind an `Arc`: per topic a broadcast sender, its
    // recent history (for the replay) and its last number; and whether the hub is closed.
}

impl Hub {
    /// A hub with no topics yet: a topic exists from its first publish or subscribe.
    pub fn new(config: HubConfig) -> Self {
        todo!("Hub::new: an empty hub with this config")
    }

    /// Publishes `body` on `topic`, numbered one more than the topic's previous notification,
    /// and returns how many subscriptions will receive it. It never waits: a subscriber that
    /// falls behind misses notifications ([`Event::Missed`](crate::Event::Missed)) instead of
    /// slowing the publisher or the other subscribers. After [`close`](Hub::close) nothing is
    /// delivered, and it returns 0.
    pub fn publish(&self, topic: &str, body: impl Into<String>) -> usize {
        todo!("Hub::publish: number it, keep it for the replay, send it on the topic's channel")
    }

    /// Subscribes to `topics`. The subscription first yields each topic's replay (its last
    /// `replay` notifications, topic by topic in the order given, oldest first), then every
    /// notification published on any of the topics from now on — with no gap and no duplicate
    /// between the two. A topic listed twice counts once, at its first place in the list.
    pub fn subscribe(&self, topics: &[&str]) -> Subscription {
        todo!("Hub::subscribe: per topic, the replay and a receiver, taken together under one lock")
    }

    /// How many subscriptions follow `topic` right now (a dropped subscription stops counting
    /// at once). After [`close`](Hub::close) it is 0: nothing will reach them any more.
    pub fn subscribers(&self, topic: &str) -> usize {
        todo!("Hub::subscribers: the receiver count of the topic's channel")
    }

    /// Closes the hub: every subscription yields what was published before, then ends; later
    /// publishes deliver nothing, and later subscriptions end at once. Closing a closed hub
    /// changes nothing.
    pub fn close(&self) {
        todo!("Hub::close: drop every sender, and remember that the hub is closed")
    }
}
