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
        // The item waiting for the quiet time to pass, and the timer that measures it.
        pending: Option<S::Item>,
        #[pin]
        quiet_until: Sleep,
        quiet: Duration,
        // The source ended; never poll it again.
        source_done: bool,
    }
}

impl<S: Stream> Debounce<S> {
    pub(crate) fn new(source: S, quiet: Duration) -> Self {
        Self {
            source,
            pending: None,
            quiet_until: sleep_until(Instant::now()),
            quiet,
            source_done: false,
        }
    }
}

impl<S: Stream> Stream for Debounce<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        // Drain everything the source has ready: each newer item replaces the pending one and
        // restarts the quiet time. Stop when the source is pending (it registered the waker).
        while !*this.source_done {
            match this.source.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    *this.pending = Some(item);
                    this.quiet_until
                        .as_mut()
                        .reset(Instant::now() + *this.quiet);
                }
                Poll::Ready(None) => *this.source_done = true,
                Poll::Pending => break,
            }
        }
        if *this.source_done {
            // The end flushes: whatever is pending goes out now, then `None` for good.
            return Poll::Ready(this.pending.take());
        }
        if this.pending.is_none() {
            return Poll::Pending;
        }
        // An item is waiting: it goes out when the quiet time has passed. Until then the timer
        // (and the source, above) will wake us.
        match this.quiet_until.poll(cx) {
            Poll::Ready(()) => Poll::Ready(this.pending.take()),
            Poll::Pending => Poll::Pending,
        }
    }
}
