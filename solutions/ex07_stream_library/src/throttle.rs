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
        // The earliest instant the next item may be yielded; `None` before the first item and
        // once that instant has passed.
        #[pin]
        gate: Option<Sleep>,
        period: Duration,
    }
}

impl<S> Throttle<S> {
    pub(crate) fn new(source: S, period: Duration) -> Self {
        Self {
            source,
            gate: None,
            period,
        }
    }
}

impl<S: Stream> Stream for Throttle<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        // First the gate: until it opens, the source is left alone. `ready!` returns `Pending`
        // here, and the `Sleep` has registered our waker for the instant it opens.
        if let Some(gate) = this.gate.as_mut().as_pin_mut() {
            ready!(gate.poll(cx));
            this.gate.set(None);
        }
        // Then one item from the source. If it is not ready, the source registered the waker.
        let item = ready!(this.source.poll_next(cx));
        if item.is_some() && !this.period.is_zero() {
            // The period counts from the moment the item is yielded (now), not from when the
            // previous gate opened: a slow source is never hurried to "catch up".
            this.gate
                .set(Some(sleep_until(Instant::now() + *this.period)));
        }
        Poll::Ready(item)
    }
}
