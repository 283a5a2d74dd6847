//! A timer future of our own, built on tokio's: a hand-written future that *delegates* to
//! another future, which means polling that inner future — and so pinning it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// A future that completes at an instant of tokio's clock, built on a `tokio::time::Sleep`.
///
/// * `Delay::until(deadline)` completes at exactly `deadline`; `Delay::after(duration)` completes
///   `duration` after it was **created** (not after its first poll). A deadline that has already
///   passed makes it ready at its first poll.
/// * Before the deadline `poll` returns `Pending`, and the task is woken once, at the deadline —
///   not earlier, and not over and over in a busy loop. (Polling the inner `Sleep` registers the
///   waker with tokio's timer, which wakes it when the time comes.)
/// * It runs on tokio's clock (`tokio::time::Instant`), so it works on the paused clock of the
///   tests. `std::time::Instant` and `std::thread::sleep` know nothing about that clock, and
///   `std::thread::sleep` stops every other task on the thread while it sleeps.
#[derive(Debug)]
pub struct Delay {
    // `Sleep` is `!Unpin`: tokio's timer keeps a pointer to it, so it must not move once it has
    // been polled. Boxing it gives it a fixed address on the heap; `Pin<Box<_>>` records that
    // promise in the type. The box itself may move freely, so `Delay` stays `Unpin` — and its
    // `poll` can reach `sleep` without any pin projection (or `unsafe`).
    sleep: Pin<Box<Sleep>>,
}

impl Delay {
    /// A delay that completes at `deadline`.
    pub fn until(deadline: Instant) -> Self {
        Self {
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    /// A delay that completes `duration` after now (the moment `after` is called).
    pub fn after(duration: Duration) -> Self {
        // Fix the deadline now: a future is lazy, but "250 ms from now" means from *now*, not
        // from whenever someone first polls it.
        Self::until(Instant::now() + duration)
    }

    /// The instant at which this delay completes. For a deadline that had already passed, it is
    /// still that deadline — not the moment of the call or of the first poll.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

impl Future for Delay {
    type Output = ();

    /// `Pending` until the deadline, then `Ready(())` (see [`Delay`]).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `as_mut` turns our `Pin<Box<Sleep>>` into the `Pin<&mut Sleep>` that `poll` needs,
        // without giving up the box. The `Sleep` does the real work: when it returns `Pending`
        // it has already handed `cx`'s waker to the timer, so we may return `Pending` too.
        self.sleep.as_mut().poll(cx)
    }
}
