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

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

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
    // `poll` needs `Pin<&mut A>`; `pin!` pins each future inside this function's own state
    // (which `.await` keeps pinned), and `as_mut()` reborrows the pin for each call.
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut a_out = None;
    let mut b_out = None;

    // `poll_fn` turns a closure into a future: every time our task is polled, the closure is.
    poll_fn(|cx| {
        // Poll only the futures that have not finished; the same `cx` means that whichever of
        // them wakes up, it wakes this task, and we poll again.
        if a_out.is_none()
            && let Poll::Ready(out) = a.as_mut().poll(cx)
        {
            a_out = Some(out);
        }
        if b_out.is_none()
            && let Poll::Ready(out) = b.as_mut().poll(cx)
        {
            b_out = Some(out);
        }
        match (a_out.take(), b_out.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            // Not both done: put back what we have. Returning `Pending` without waking anyone
            // is right here: each unfinished future registered our waker when it was polled.
            (a, b) => {
                a_out = a;
                b_out = b;
                Poll::Pending
            }
        }
    })
    .await
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
    let start = Instant::now();
    // `select!` polls `work` through `&mut work` in every turn of the loop, so the same future
    // must stay at the same place from one turn to the next: pin it once, here. (`work`
    // instead of `&mut work` would move the future into the first `select!`, to be dropped with
    // the losing branch; `&mut work` without `pin!` does not compile, as `F` may be `!Unpin`.)
    let mut work = pin!(work);
    let mut next_report = start + every;
    loop {
        tokio::select! {
            // Check the work first: if it finishes at the same instant a report is due, return.
            biased;
            output = &mut work => return output,
            // A fresh `sleep_until` each turn, towards a fixed schedule: reports stay at exact
            // multiples of `every` however long `report` takes.
            () = sleep_until(next_report) => {
                report(next_report - start);
                next_report += every;
            }
        }
    }
}
