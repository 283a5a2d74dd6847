//! Wrong solution: Delay::after keeps the duration and creates its Sleep on the first poll — so
//! the delay counts from when it is first awaited, not from when it was created.
//! replaces: delay.rs
//! expect: delay_after_counts_from_its_creation_not_from_its_first_poll — the deadline is fixed when the Delay is created
//! expect: hand_written_futures_match_the_reference_poll_by_poll — what each poll answered
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

#[derive(Debug)]
enum When {
    At(Instant),
    In(Duration),
}

#[derive(Debug)]
pub struct Delay {
    when: When,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Delay {
    pub fn until(deadline: Instant) -> Self {
        Self {
            when: When::At(deadline),
            sleep: None,
        }
    }

    pub fn after(duration: Duration) -> Self {
        Self {
            when: When::In(duration),
            sleep: None,
        }
    }

    pub fn deadline(&self) -> Instant {
        match (&self.sleep, &self.when) {
            (Some(sleep), _) => sleep.deadline(),
            (None, When::At(deadline)) => *deadline,
            (None, When::In(duration)) => Instant::now() + *duration,
        }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = match self.when {
            When::At(deadline) => deadline,
            When::In(duration) => Instant::now() + duration,
        };
        self.sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)))
            .as_mut()
            .poll(cx)
    }
}
