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
        // `None` once it has timed out: the source is dropped at that moment.
        #[pin]
        source: Option<S>,
        // Armed at the first poll and after every item.
        #[pin]
        deadline: Option<Sleep>,
        limit: Duration,
    }
}

impl<S> TimeoutEach<S> {
    pub(crate) fn new(source: S, limit: Duration) -> Self {
        Self {
            source: Some(source),
            deadline: None,
            limit,
        }
    }
}

impl<S: Stream> Stream for TimeoutEach<S> {
    type Item = Result<S::Item, TimedOut>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let Some(source) = this.source.as_mut().as_pin_mut() else {
            return Poll::Ready(None); // timed out earlier, or ended
        };
        match source.poll_next(cx) {
            Poll::Ready(Some(item)) => {
                // An item in time: the next one gets `limit` from now.
                this.deadline
                    .set(Some(sleep_until(Instant::now() + *this.limit)));
                return Poll::Ready(Some(Ok(item)));
            }
            Poll::Ready(None) => {
                this.source.set(None);
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        // The source is waiting. The clock starts at the first poll, not at construction: a
        // stream built now and polled later is not already late.
        if this.deadline.is_none() {
            this.deadline
                .set(Some(sleep_until(Instant::now() + *this.limit)));
        }
        let deadline = this.deadline.as_mut().as_pin_mut().expect("armed above");
        match deadline.poll(cx) {
            Poll::Ready(()) => {
                // Too late: drop the source now (whatever it was waiting on is cancelled), then
                // report it once; every later poll returns `None`.
                this.source.set(None);
                Poll::Ready(Some(Err(TimedOut { limit: *this.limit })))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
