//! Timeouts: race the operation against a timer; whichever finishes first wins, the other is dropped.

use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The error of an operation that did not finish in the time it was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    /// How long the operation was allowed to run.
    pub allowed: Duration,
}

impl fmt::Display for TimedOut {
    /// Says how long was allowed, for example `timed out after 250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!("write a message that says how long was allowed")
    }
}

impl std::error::Error for TimedOut {}

/// Runs `fut` for at most `limit`.
///
/// * Returns `Ok(output)` as soon as `fut` completes within the limit.
/// * Otherwise returns `Err(TimedOut { allowed: limit })` at exactly `limit` after the call, and
///   `fut` has been dropped (cancelled) by then.
/// * An operation that completes at the very instant the limit is reached is in time: `Ok`. So
///   is one that is ready at once under a zero limit.
pub async fn with_timeout<F: Future>(limit: Duration, fut: F) -> Result<F::Output, TimedOut> {
    todo!("race `fut` against a timer of `limit`")
}

/// Runs `fut` until `deadline` at the latest.
///
/// Like [`with_timeout`], but with an absolute instant (a `tokio::time::Instant`). On timeout the
/// error's `allowed` is the time that was left at the call: `deadline - now`, or zero when the
/// deadline had already passed (then the call fails at once, without waiting — unless `fut` is
/// ready at once: an operation done by the deadline, or at it, is in time and returns `Ok`).
pub async fn with_deadline<F: Future>(deadline: Instant, fut: F) -> Result<F::Output, TimedOut> {
    todo!("race `fut` against the deadline")
}
