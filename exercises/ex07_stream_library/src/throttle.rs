//! `throttle`: at most one item per period, and backpressure on the source.

use futures::Stream;
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

pin_project! {
    /// The stream returned by [`throttle`](crate::TimedStreamExt::throttle).
    ///
    /// Yields every item of the source, in order, at most one per `period`: the first as soon as
    /// it is ready, each later one no earlier than `period` after the previous one was yielded
    /// (a source that is slower than that is not slowed down further). Nothing is dropped.
    ///
    /// **Backpressure.** While it waits out the period, the source is *not* polled: a throttled
    /// stream pulls from its source no faster than it yields, and never holds an item. So the
    /// end of the source is noticed only when the wait in progress is over.
    #[must_use = "streams do nothing unless polled"]
    pub struct Throttle<S> {
        #[pin]
        source: S,
        period: Duration,
        // Add what you need: a timer for "not before" (a `#[pin]` field of type
        // `Option<Sleep>` works well: `this.gate.set(Some(sleep_until(…)))`).
    }
}

impl<S> Throttle<S> {
    pub(crate) fn new(source: S, period: Duration) -> Self {
        Self { source, period }
    }
}

impl<S: Stream> Stream for Throttle<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        todo!("Throttle::poll_next: wait out the period, then poll the source for one item")
    }
}
