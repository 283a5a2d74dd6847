//! Wrong solution: merges one stream per *listed* topic, keyed by its position in the list
//! (the topic's name kept beside it for `Missed`), and never checks whether it already follows a
//! topic — one listed twice has two receivers, and each notification on it arrives twice.
//! replaces: subscription.rs
//! expect: a_topic_listed_twice_is_followed_once — one subscription, however often it lists a topic

use crate::notification::{Event, Notification};
use std::collections::VecDeque;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::{StreamExt, StreamMap};

/// A subscription to one or more topics of a [`Hub`](crate::Hub). Dropping it unsubscribes.
pub struct Subscription {
    replay: VecDeque<Notification>,
    // The topics in the order they were listed; a stream's key is its index here.
    topics: Vec<String>,
    live: StreamMap<usize, BroadcastStream<Notification>>,
}

impl Subscription {
    pub(crate) fn new() -> Self {
        Self {
            replay: VecDeque::new(),
            topics: Vec::new(),
            live: StreamMap::new(),
        }
    }

    pub(crate) fn follows(&self, _topic: &str) -> bool {
        false // every listed topic gets its own stream
    }

    pub(crate) fn add(
        &mut self,
        topic: &str,
        replay: impl Iterator<Item = Notification>,
        receiver: broadcast::Receiver<Notification>,
    ) {
        self.replay.extend(replay);
        self.live
            .insert(self.topics.len(), BroadcastStream::new(receiver));
        self.topics.push(topic.to_owned());
    }

    /// The next event: the replay first, then live notifications as they are published (or a
    /// [`Event::Missed`] when this subscription fell behind on a topic). `None` once the hub is
    /// closed and everything published before has been yielded — or at once for a subscription
    /// to no topic. Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> Option<Event> {
        if let Some(notification) = self.replay.pop_front() {
            return Some(Event::Notification(notification));
        }
        let (index, item) = self.live.next().await?;
        Some(match item {
            Ok(notification) => Event::Notification(notification),
            Err(BroadcastStreamRecvError::Lagged(count)) => Event::Missed {
                topic: self.topics[index].clone(),
                count,
            },
        })
    }
}
