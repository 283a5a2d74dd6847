//! `debounce`: the last item of a burst, once the source has been quiet.

use futures::Stream;
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

pin_project! {
    /// The stream returned by [`debounce`](crate::TimedStreamExt::debounce).
    ///
    /// Yields an item once `quiet` has passed since it arrived without a newer one arriving: a
    /// newer item replaces the pending one and starts the wait again, so a burst comes out as
    /// its last item, `quiet` after the burst ended. A source slower than `quiet` comes through
    /// whole, each item `quiet` late.
    ///
    /// When the source ends, the pending item (if any) is yielded at once, without waiting out
    /// the quiet time, and then the stream ends.
    #[must_use = "streams do nothing unless polled"]
    pub struct Debounce<S: Stream> {
        #[pin]
        source: S,
        quiet: Duration,
        // Add what you need: the pending item (`Option<S::Item>`), a timer (`#[pin]` `Sleep`,
        // moved with `reset`), and whether the source has ended.
    }
}

impl<S: Stream> Debounce<S> {
    pub(crate) fn new(source: S, quiet: Duration) -> Self {
        Self { source, quiet }
    }
}

impl<S: Stream> Stream for Debounce<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        todo!(
            "Debounce::poll_next: take every ready item (the newest replaces the pending one), \
             then yield the pending one when the source is quiet or has ended"
        )
    }
}
