//! Wrong solution: wraps the whole retry loop in one overall timeout, so when the next attempt
//! could not start before the deadline it sleeps towards the deadline instead of giving up at once.
//! replaces: retry.rs
//! expect: retry_gives_up_as_soon_as_the_next_attempt_could_not_start_before_the_deadline — instead of sleeping towards the deadline

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
    let mut attempts = 0;
    let mut last = None;
    let attempts_ref = &mut attempts;
    let last_ref = &mut last;
    let all = async move {
        loop {
            *attempts_ref += 1;
            let n = *attempts_ref;
            match with_timeout(policy.attempt_timeout, op(n)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => *last_ref = Some(AttemptError::Failed(e)),
                Err(t) => *last_ref = Some(AttemptError::TimedOut(t)),
            }
            if n >= policy.max_attempts.max(1) {
                return Err(RetryError::Exhausted {
                    attempts: n,
                    last: last_ref.take().unwrap(),
                });
            }
            tokio::time::sleep(policy.backoff(n)).await;
        }
    };
    match with_timeout(policy.deadline, all).await {
        Ok(result) => result,
        Err(t) => Err(RetryError::DeadlineExceeded {
            attempts,
            last: last.unwrap_or(AttemptError::TimedOut(t)),
        }),
    }
}
