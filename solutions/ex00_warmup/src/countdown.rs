//! A future written by hand: what `async` generates for you, spelled out.
//!
//! A future is a value with a `poll` method. Each call either finishes (`Poll::Ready(output)`)
//! or says "not yet" (`Poll::Pending`). An executor polls a future once, and then again only
//! after someone has called the *waker* it handed over in the `Context`. So a future that
//! returns `Pending` must first make sure somebody will wake it: a timer, a socket, a channel —
//! or, when it has nothing to wait for, itself.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that is not ready the first `n` times it is polled, and completes the time after.
///
/// * `Countdown::new(n)` returns `Poll::Pending` on its first `n` polls and `Poll::Ready(())` on
///   poll `n + 1`; `Countdown::new(0)` is ready at its first poll.
/// * Every time it returns `Pending` it first wakes its task (`cx.waker().wake_by_ref()`), so the
///   executor polls it again soon. A future that returns `Pending` without arranging a wake-up is
///   never polled again: awaiting it waits forever.
/// * It waits for nothing else: awaited on a runtime it completes after `n` trips through the
///   scheduler, without any time passing.
#[derive(Debug)]
pub struct Countdown {
    remaining: u32,
}

impl Countdown {
    /// A countdown that returns `Pending` `n` times before it is ready.
    pub fn new(n: u32) -> Self {
        Self { remaining: n }
    }
}

impl Future for Countdown {
    type Output = ();

    /// Counts down by one on each poll (see [`Countdown`]).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `Countdown` holds only a `u32`, so it is `Unpin`: `Pin<&mut Self>` gives out a plain
        // `&mut Self`, and we can change the field like any other.
        if self.remaining == 0 {
            return Poll::Ready(());
        }
        self.remaining -= 1;
        // We say "not yet" while waiting for nothing, so nothing else will ever wake us. Wake
        // our own task now: the executor puts it back in its queue and polls it again after the
        // other ready tasks have had their turn. (`tokio::task::yield_now` is built on the same idea.)
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
