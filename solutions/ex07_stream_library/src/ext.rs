//! The extension trait that puts the operators on every stream.

use crate::{Batch, Debounce, Throttle, TimeoutEach};
use futures::Stream;
use std::time::Duration;

/// Time-aware operators for every [`Stream`]: `use ex07_stream_library::TimedStreamExt;` and
/// call them like `StreamExt`'s (`source.throttle(ms(100))`).
///
/// All of them are lazy: nothing happens until the returned stream is polled, and they only
/// ever poll their source from inside their own `poll_next`. They need a tokio runtime with a
/// timer (the tests use the paused clock).
///
/// **Ties go to the source.** Every operator asks its source first: an item (or the end) that
/// arrives at the very instant one of its timers runs out counts as arriving before it. So an
/// item exactly `quiet` after the pending one restarts a debounce's wait, an item exactly
/// `window` after a batch's first one still joins that batch, and an item exactly `limit` after
/// the previous one comes out of `timeout_each` as `Ok`, not as the error.
pub trait TimedStreamExt: Stream + Sized {
    /// Yields every item of `self`, in order, at most one per `period`: the first as soon as it
    /// is ready, each later one no earlier than `period` after the previous one was yielded.
    /// Nothing is dropped. See [`Throttle`].
    fn throttle(self, period: Duration) -> Throttle<Self> {
        Throttle::new(self, period)
    }

    /// Yields an item once `quiet` has passed without a newer one. See [`Debounce`].
    fn debounce(self, quiet: Duration) -> Debounce<Self> {
        Debounce::new(self, quiet)
    }

    /// Collects items into batches of at most `max`, each closed `window` after its first item
    /// at the latest. Panics if `max` is 0. See [`Batch`].
    fn batch(self, max: usize, window: Duration) -> Batch<Self> {
        Batch::new(self, max, window)
    }

    /// Yields `Ok(item)` while items keep coming within `limit` of each other, then one
    /// `Err(TimedOut)` and the end. See [`TimeoutEach`].
    fn timeout_each(self, limit: Duration) -> TimeoutEach<Self> {
        TimeoutEach::new(self, limit)
    }
}

impl<S: Stream> TimedStreamExt for S {}
