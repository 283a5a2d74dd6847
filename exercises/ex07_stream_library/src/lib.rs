//! # Exercise 07 — a stream library: time-aware combinators
//!
//! A `Stream` is an `Iterator` whose `next` may have to wait. This crate adds four operators that
//! are all about *when* items move, each a struct that implements `Stream` by hand. Work through
//! them in this order:
//!
//! 1. [`throttle`](TimedStreamExt::throttle) (`throttle.rs`): at most one item per period,
//!    nothing dropped, and the source is not asked for more while it waits;
//! 2. [`timeout_each`](TimedStreamExt::timeout_each) (`timeout_each.rs`): an error, and the end,
//!    when the source goes silent for too long;
//! 3. [`debounce`](TimedStreamExt::debounce) (`debounce.rs`): only the last item of a burst, once
//!    the source has been quiet for a while;
//! 4. [`batch`](TimedStreamExt::batch) (`batch.rs`): items in `Vec`s, closed when full or when
//!    the first item of the batch has waited long enough.
//!
//! Each operator holds a timer (`tokio::time::Sleep`) next to the stream it wraps. In
//! `poll_next`, poll them in the right order, and return `Poll::Pending` only after something you
//! polled returned `Pending` itself — it registered the waker, which is what wakes your task at
//! the right instant. `pin-project-lite` gives you the pinned fields safely (`this.project()`).
//!
//! Run the tests with `cargo test -p ex07_stream_library`. They run on tokio's paused clock and
//! check the exact instant every item comes out. The chapter is
//! `curriculum/src/ex07-stream-library.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

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
