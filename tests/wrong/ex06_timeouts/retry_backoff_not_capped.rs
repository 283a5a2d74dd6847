//! Wrong solution: doubles the backoff but forgets the cap (max_backoff).
//! replaces: retry.rs
//! expect: backoff_doubles_from_the_initial_wait_up_to_the_cap — capped at max_backoff
//! expect: retry_schedule_is_exact_with_backoff_capped — capped at 400ms

use crate::timeout::{TimedOut, with_timeout};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub attempt_timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub deadline: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError<E> {
    Failed(E),
    TimedOut(TimedOut),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryError<E> {
    Exhausted {
        attempts: u32,
        last: AttemptError<E>,
    },
    DeadlineExceeded {
        attempts: u32,
        last: AttemptError<E>,
    },
}

impl RetryPolicy {
    pub fn backoff(&self, failures: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
    }
}
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, RetryError<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + policy.deadline;
    let mut attempt = 1;
    loop {
        // Each attempt gets its own timeout, shortened to whatever is left before the deadline,
        // so that no attempt can carry the whole operation past it.
        let left = deadline.saturating_duration_since(Instant::now());
        let cut_by_deadline = left < policy.attempt_timeout;
        let failure = match with_timeout(policy.attempt_timeout.min(left), op(attempt)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => AttemptError::Failed(e),
            Err(timed_out) if cut_by_deadline => {
                let last = AttemptError::TimedOut(timed_out);
                return Err(RetryError::DeadlineExceeded {
                    attempts: attempt,
                    last,
                });
            }
            Err(timed_out) => AttemptError::TimedOut(timed_out),
        };

        if attempt >= policy.max_attempts {
            return Err(RetryError::Exhausted {
                attempts: attempt,
                last: failure,
            });
        }
        // Give up *now* if the next attempt could not start before the deadline: sleeping until
        // then would only make the caller wait for an answer we already know.
        let next_start = Instant::now() + policy.backoff(attempt);
        if next_start >= deadline {
            return Err(RetryError::DeadlineExceeded {
                attempts: attempt,
                last: failure,
            });
        }
        tokio::time::sleep_until(next_start).await;
        attempt += 1;
    }
}
