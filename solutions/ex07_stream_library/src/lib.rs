//! # Exercise 07 — a stream library: time-aware combinators (reference solution)
//!
//! A `Stream` is an `Iterator` whose `next` may have to wait. This crate adds four operators that
//! are all about *when* items move, each a struct that implements `Stream` by hand:
//!
//! * [`throttle`](TimedStreamExt::throttle) (`throttle.rs`): at most one item per period, nothing
//!   dropped, and the source is not asked for more while it waits;
//! * [`debounce`](TimedStreamExt::debounce) (`debounce.rs`): only the last item of a burst, once
//!   the source has been quiet for a while;
//! * [`batch`](TimedStreamExt::batch) (`batch.rs`): items in `Vec`s, closed when full or when the
//!   first item of the batch has waited long enough;
//! * [`timeout_each`](TimedStreamExt::timeout_each) (`timeout_each.rs`): an error, and the end,
//!   when the source goes silent for too long.
//!
//! Writing `poll_next` by hand is the point: each operator holds a timer (`tokio::time::Sleep`)
//! next to the stream it wraps, polls them in the right order, and returns `Poll::Pending` only
//! after something it polled has registered the waker — that is what makes the task wake up again
//! at the right instant. Pinning is done with `pin-project-lite`, which gives safe access to the
//! pinned fields (hand-written projections would need `unsafe`, which this workspace forbids).

mod batch;
mod debounce;
mod ext;
mod throttle;
mod timeout_each;

pub use batch::Batch;
pub use debounce::Debounce;
pub use ext::TimedStreamExt;
pub use throttle::Throttle;
pub use timeout_each::{TimedOut, TimeoutEach};
