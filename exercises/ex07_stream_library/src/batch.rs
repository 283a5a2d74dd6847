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
        max: usize,
        window: Duration,
        // Add what you need: the batch being built (`Vec<S::Item>`), a timer for when it
        // closes, and whether the source has ended.
    }
}

impl<S: Stream> Batch<S> {
    pub(crate) fn new(source: S, max: usize, window: Duration) -> Self {
        assert!(max > 0, "a batch must be allowed at least one item");
        Self {
            source,
            max,
            window,
        }
    }
}

impl<S: Stream> Stream for Batch<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        todo!(
            "Batch::poll_next: take ready items until the batch is full; yield a partial batch \
             when its window closes or the source ends"
        )
    }
}
