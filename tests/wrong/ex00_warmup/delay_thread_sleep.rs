//! Wrong solution: when polled, sleeps the thread until the deadline with std::thread::sleep —
//! which stops the whole executor, and does not move tokio's clock either.
//! replaces: delay.rs
//! expect: delay_completes_at_exactly_its_deadline — blocked the executor
//! expect: hand_written_futures_match_the_reference_poll_by_poll — what each poll answered
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Delay {
    deadline: Instant,
}

impl Delay {
    pub fn until(deadline: Instant) -> Self {
        Self { deadline }
    }

    pub fn after(duration: Duration) -> Self {
        Self::until(Instant::now() + duration)
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(left);
        Poll::Ready(())
    }
}
