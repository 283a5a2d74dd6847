//! Wrong solution: keeps the deadline as a std::time::Instant and, until it passes, wakes itself
//! to check again — a busy loop on a clock the paused runtime does not control.
//! replaces: delay.rs
//! expect: delay_completes_at_exactly_its_deadline — blocked the executor
//! expect: delay_is_pending_until_its_deadline_and_wakes_its_task_then — woke its task at t=0
//! expect: hand_written_futures_match_the_reference_poll_by_poll — what each poll answered
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Delay {
    until: std::time::Instant,
}

impl Delay {
    pub fn until(deadline: Instant) -> Self {
        Self {
            until: deadline.into_std(),
        }
    }

    pub fn after(duration: Duration) -> Self {
        Self {
            until: std::time::Instant::now() + duration,
        }
    }

    pub fn deadline(&self) -> Instant {
        Instant::from_std(self.until)
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::time::Instant::now() >= self.until {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
