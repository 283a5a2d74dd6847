//! A timer future of your own, built on tokio's: a hand-written future that *delegates* to
//! another future, which means polling that inner future — and so pinning it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

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
    // Add the field `poll` needs: a `tokio::time::Sleep`. A `Sleep` must not move once it has
    // been polled (it is `!Unpin`): how can you keep one in a struct and still poll it? (The
    // chapter's hints say.)
}

impl Delay {
    /// A delay that completes at `deadline`.
    pub fn until(deadline: Instant) -> Self {
        todo!("make a Delay around a tokio Sleep that ends at `deadline`")
    }

    /// A delay that completes `duration` after now (the moment `after` is called).
    pub fn after(duration: Duration) -> Self {
        todo!("make a Delay that ends `duration` from now")
    }

    /// The instant at which this delay completes. For a deadline that had already passed, it is
    /// still that deadline — not the moment of the call or of the first poll.
    pub fn deadline(&self) -> Instant {
        todo!("return the deadline")
    }
}

impl Future for Delay {
    type Output = ();

    /// `Pending` until the deadline, then `Ready(())` (see [`Delay`]).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        todo!("poll the inner Sleep")
    }
}
