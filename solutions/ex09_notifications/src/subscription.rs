//! One subscriber's view of the hub.

use crate::notification::{Event, Notification};
use std::collections::VecDeque;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::{StreamExt, StreamMap};

/// A subscription to one or more topics of a [`Hub`](crate::Hub). Dropping it unsubscribes.
pub struct Subscription {
    // The replay, delivered before anything live.
    replay: VecDeque<Notification>,
    // The live notifications of every topic, merged: whichever topic has one ready first.
    live: StreamMap<String, BroadcastStream<Notification>>,
}

impl Subscription {
    pub(crate) fn new() -> Self {
        Self {
            replay: VecDeque::new(),
            live: StreamMap::new(),
        }
    }

    pub(crate) fn follows(&self, topic: &str) -> bool {
        self.live.contains_key(topic)
    }

    pub(crate) fn add(
        &mut self,
        topic: &str,
        replay: impl Iterator<Item = Notification>,
        receiver: broadcast::Receiver<Notification>,
    ) {
        self.replay.extend(replay);
        self.live
            .insert(topic.to_owned(), BroadcastStream::new(receiver));
    }

    /// The next event: the replay first, then live notifications as they are published (or a
    /// [`Event::Missed`] when this subscription fell behind on a topic). `None` once the hub is
    /// closed and everything published before has been yielded — or at once for a subscription
    /// to no topic. After a `None`, every later call returns `None` at once. Cancel-safe:
    /// dropping the future loses nothing.
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(notification) = self.replay.pop_front() {
            return Some(Event::Notification(notification));
        }
        // `StreamMap` ends (yields `None`) when every topic's stream has ended, i.e. when the
        // hub dropped the senders and each receiver drained what it held. Awaiting it is
        // cancel-safe: an item is only taken out when it is returned.
        let (topic, item) = self.live.next().await?;
        Some(match item {
            Ok(notification) => Event::Notification(notification),
            Err(BroadcastStreamRecvError::Lagged(count)) => Event::Missed { topic, count },
        })
    }
}
