//! Wrong solution: counts down and returns Pending, but never wakes the task — so after the
//! first Pending no executor ever polls it again.
//! replaces: countdown.rs
//! expect: countdown_wakes_its_task_every_time_it_returns_pending — without waking its task
//! expect: awaiting_a_countdown_on_the_runtime_takes_no_time — waited forever
//! expect: hand_written_futures_match_the_reference_poll_by_poll — what each poll answered
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Debug)]
pub struct Countdown {
    remaining: u32,
}

impl Countdown {
    pub fn new(n: u32) -> Self {
        Self { remaining: n }
    }
}

impl Future for Countdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.remaining == 0 {
            return Poll::Ready(());
        }
        self.remaining -= 1;
        Poll::Pending
    }
}
