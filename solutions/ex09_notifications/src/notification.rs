//! What travels through the hub.

/// One notification, as every subscriber of its topic receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The topic it was published on.
    pub topic: String,
    /// Its number on that topic: 1 for the first notification ever published on it, then 2, 3 …
    /// (numbers are never reused, so a subscriber can tell what it missed).
    pub seq: u64,
    /// What was published.
    pub body: String,
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A notification on one of the subscription's topics.
    Notification(Notification),
    /// The subscription fell so far behind on `topic` that the hub dropped `count` notifications
    /// for it (the oldest ones); the ones after them follow.
    Missed {
        /// The topic the notifications were missed on.
        topic: String,
        /// How many were missed.
        count: u64,
    },
}
