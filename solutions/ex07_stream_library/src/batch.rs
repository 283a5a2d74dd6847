//! `batch`: items in `Vec`s, closed when full or when their first item has waited long enough.

use futures::Stream;
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

pin_project! {
    /// The stream returned by [`batch`](crate::TimedStreamExt::batch).
    ///
    /// Collects the source's items, in order, into batches of at most `max` items. A batch is
    /// yielded as soon as it has `max` items, or `window` after its *first* item arrived,
    /// whichever comes first; the window of the next batch starts with that batch's own first
    /// item. When the source ends, the partial batch (if any) is yielded at once, then the
    /// stream ends. A batch is never empty: a silent source yields nothing.
    #[must_use = "streams do nothing unless polled"]
    pub struct Batch<S: Stream> {
        #[pin]
        source: S,
        items: Vec<S::Item>,
        max: usize,
        window: Duration,
        // When the batch being built must be yielded; armed by its first item.
        #[pin]
        closes_at: Sleep,
        source_done: bool,
    }
}

impl<S: Stream> Batch<S> {
    pub(crate) fn new(source: S, max: usize, window: Duration) -> Self {
        assert!(max > 0, "a batch must be allowed at least one item");
        Self {
            source,
            // Not `with_capacity(max)`: `max` is a bound, and a huge one (say `usize::MAX`, for
            // "only the window closes a batch") must not be reserved up front.
            items: Vec::new(),
            max,
            window,
            closes_at: sleep_until(Instant::now()),
            source_done: false,
        }
    }
}

impl<S: Stream> Stream for Batch<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        let mut this = self.project();
        while !*this.source_done {
            match this.source.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if this.items.is_empty() {
                        // The first item of a batch starts its window.
                        this.closes_at.as_mut().reset(Instant::now() + *this.window);
                    }
                    this.items.push(item);
                    if this.items.len() == *this.max {
                        return Poll::Ready(Some(std::mem::take(this.items)));
                    }
                }
                Poll::Ready(None) => *this.source_done = true,
                Poll::Pending => break,
            }
        }
        if this.items.is_empty() {
            // Nothing to yield: either the end, or wait for the source (it registered the waker).
            return if *this.source_done {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        }
        if *this.source_done {
            return Poll::Ready(Some(std::mem::take(this.items)));
        }
        // A partial batch: out when its window closes; the timer will wake us then.
        match this.closes_at.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(std::mem::take(this.items))),
            Poll::Pending => Poll::Pending,
        }
    }
}
