//! Pinning: polling a future by hand, and polling the same future again and again.
//!
//! An `async` block compiles to a state machine that can hold references into itself: a local
//! variable, and a borrow of it that lives across an `.await`. Move that state machine to
//! another address after it has started and the borrow points at the old place. So
//! `Future::poll` takes `self: Pin<&mut Self>` — a promise that the future will not move again
//! until it is dropped — and you can only poll a future once it is pinned:
//!
//! * `std::pin::pin!(fut)` pins it where it is, in the current function (it can no longer be
//!   moved, only used through the `Pin<&mut _>` that `pin!` returns);
//! * `Box::pin(fut)` pins it on the heap (the box can move; the future inside cannot);
//! * a type with no self-references is `Unpin`, and for it `Pin` is no restriction at all.
//!
//! `.await` pins for you, which is why you rarely see any of this — until you poll a future by
//! hand, or poll the same future in every turn of a loop.

use std::future::Future;
use std::time::Duration;

/// Runs `a` and `b` at the same time in the current task and returns both outputs, `(a, b)`,
/// once both have finished: a `join!` of two futures, written by hand.
///
/// * Both start at once, and the call returns when the slower one finishes.
/// * A future that has finished is never polled again (polling a finished future may panic):
///   keep its output until the other one is done.
///
/// The point is to write it without `join!` or `select!`: pin both futures (`std::pin::pin!`)
/// and poll them yourself inside `std::future::poll_fn`.
pub async fn join_both<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: Future,
    B: Future,
{
    todo!("pin both futures and poll them in poll_fn until both are done")
}

/// Runs `work` to completion and, while it runs, calls `report(elapsed)` every `every`: at
/// `every`, `2 × every`, … after the call, with the time since the call, for as long as the work
/// is not done. Returns the work's output the moment it finishes, not at the next report.
///
/// * Work that finishes before `every` gets no report at all.
/// * The work is started once and polled until it is done: it is never restarted, and never
///   dropped before it finishes.
/// * A report due at the very instant the work finishes may be made or skipped.
/// * `every` must be more than zero.
pub async fn with_progress<F: Future>(
    work: F,
    every: Duration,
    mut report: impl FnMut(Duration),
) -> F::Output {
    todo!("pin the work, then select! between it and the next report")
}
