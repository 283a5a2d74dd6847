//! Retry with a per-attempt timeout, exponential backoff with a cap, and an overall deadline.

use crate::timeout::TimedOut;
use std::future::Future;
use std::time::Duration;

/// How [`retry`] paces and bounds its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts to make (at least one is always made).
    pub max_attempts: u32,
    /// How long one attempt may run before it is cancelled and counted as failed.
    pub attempt_timeout: Duration,
    /// The wait after the first failure; it doubles after every further failure...
    pub initial_backoff: Duration,
    /// ...but never exceeds this.
    pub max_backoff: Duration,
    /// The whole operation, waits included, ends by this long after the call.
    pub deadline: Duration,
}

impl RetryPolicy {
    /// The wait after the `failures`-th failed attempt (1-based): `initial_backoff * 2^(failures-1)`,
    /// capped at `max_backoff`. Never panics, however many failures: past the cap, the exact
    /// value no longer matters (think about overflow). `backoff(0)` is treated as `backoff(1)`.
    pub fn backoff(&self, failures: u32) -> Duration {
        todo!("compute the capped exponential backoff")
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError<E> {
    /// The operation returned an error.
    Failed(E),
    /// The operation was cancelled because it ran out of time.
    TimedOut(TimedOut),
}

/// Why [`retry`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryError<E> {
    /// Every one of `max_attempts` attempts failed; `last` is the last failure.
    Exhausted {
        attempts: u32,
        last: AttemptError<E>,
    },
    /// The overall deadline came first: it cut an attempt short (`last` is then `TimedOut` with
    /// the time that attempt was given), or the next attempt could not have started before it.
    DeadlineExceeded {
        attempts: u32,
        last: AttemptError<E>,
    },
}

/// Calls `op(1)`, `op(2)`, ... until one attempt succeeds, following `policy`.
///
/// The schedule, exactly:
/// * attempt 1 starts at once; `op` receives the attempt number (1-based);
/// * each attempt may run for `attempt_timeout`, but never past the overall deadline
///   (`deadline` after the call): it is cancelled (dropped) when its time is up; an attempt that
///   answers at the very instant its time is up has answered in time;
/// * after the n-th failure (an error or a timeout) retry waits `policy.backoff(n)`, counted from
///   the moment the attempt failed, then starts attempt n + 1;
/// * the first `Ok` is returned at once; no further attempt is made.
///
/// Giving up:
/// * after `max_attempts` failed attempts: `Exhausted` with the last failure, at once (no wait
///   after the last attempt) — also when the last attempt failed at or near the deadline, as long
///   as the deadline did not cut it short; with `max_attempts` 0 the one attempt made is the
///   last, so `attempts` is 1;
/// * when the deadline cuts an attempt short (it had less than `attempt_timeout` left, and its
///   time ran out): `DeadlineExceeded`, at the deadline, even if it was the last attempt. An
///   attempt whose own `attempt_timeout` ends exactly at the deadline was not cut short: it
///   timed out;
/// * when the next attempt would start at or after the deadline: `DeadlineExceeded` with the last
///   failure, *immediately* — there is no point in sleeping towards a deadline that will stop the
///   attempt before it starts.
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, RetryError<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    todo!("retry `op` with per-attempt timeouts, backoff and a deadline")
}
