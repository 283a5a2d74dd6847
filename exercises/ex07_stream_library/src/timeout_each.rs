//! `timeout_each`: an error, and the end, when the source goes silent for too long.

use futures::Stream;
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

/// The error [`timeout_each`](crate::TimedStreamExt::timeout_each) yields when no item arrived
/// within `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    /// The limit that passed without an item.
    pub limit: Duration,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no item within {:?}", self.limit)
    }
}

impl std::error::Error for TimedOut {}

pin_project! {
    /// The stream returned by [`timeout_each`](crate::TimedStreamExt::timeout_each).
    ///
    /// Yields each item of the source as `Ok(item)` as long as every item arrives within
    /// `limit` of the previous one — the first within `limit` of the first poll. When `limit`
    /// passes without an item, it yields `Err(TimedOut { limit })` at exactly that instant,
    /// drops the source (cancelling whatever it was waiting on), and ends. A source that ends
    /// in time ends the stream normally.
    #[must_use = "streams do nothing unless polled"]
    pub struct TimeoutEach<S> {
        // An `Option`, so that the source can be dropped on time: `this.source.set(None)`.
        #[pin]
        source: Option<S>,
        limit: Duration,
        // Add what you need: the deadline for the next item (`#[pin]` `Option<Sleep>`).
    }
}

impl<S> TimeoutEach<S> {
    pub(crate) fn new(source: S, limit: Duration) -> Self {
        Self {
            source: Some(source),
            limit,
        }
    }
}

impl<S: Stream> Stream for TimeoutEach<S> {
    type Item = Result<S::Item, TimedOut>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        todo!(
            "TimeoutEach::poll_next: poll the source; if it is pending, poll the deadline \
             (armed at the first poll and after every item)"
        )
    }
}
