//! Wrong solution: gives every attempt its full attempt_timeout and checks the deadline only
//! between attempts, so the last attempt runs past the deadline.
//! replaces: retry.rs
//! expect: the_deadline_cuts_a_running_attempt_short — retry must return at the deadline

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
        let factor = 2u32
            .checked_pow(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_backoff)
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
        let failure = match with_timeout(policy.attempt_timeout, op(attempt)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => AttemptError::Failed(e),
            Err(t) => AttemptError::TimedOut(t),
        };
        if Instant::now() >= deadline {
            return Err(RetryError::DeadlineExceeded {
                attempts: attempt,
                last: failure,
            });
        }
        if attempt >= policy.max_attempts {
            return Err(RetryError::Exhausted {
                attempts: attempt,
                last: failure,
            });
        }
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
