//! One subscriber's view of the hub.

use crate::notification::{Event, Notification};
use std::collections::VecDeque;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::{StreamExt, StreamMap};

/// A subscription to one or more topics of a [`Hub`](crate::Hub). Dropping it unsubscribes.
pub struct Subscription {
    // Your fields: the replay still to deliver, and the live notifications of every topic
    // (a `StreamMap<String, BroadcastStream<Notification>>` merges them).
}

impl Subscription {
    /// The next event: the replay first, then live notifications as they are published (or a
    /// [`Event::Missed`] when this subscription fell behind on a topic). `None` once the hub is
    /// closed and everything published before has been yielded — or at once for a subscription
    /// to no topic. After a `None`, every later call returns `None` at once. Cancel-safe:
    /// dropping the future loses nothing.
    pub async fn next(&mut self) -> Option<Event> {
        todo!("Subscription::next: the replay first, then the merged live streams")
    }
}
