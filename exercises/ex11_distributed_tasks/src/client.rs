//! Submitting a task and waiting for its outcome, across failures.

use crate::net::Connector;
use crate::queue::Outcome;
use std::fmt;
use std::time::Duration;

/// The coordinator refused the submission: too many tasks wait. Nothing was queued; try later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the coordinator is busy: too many tasks wait")
    }
}

impl std::error::Error for Busy {}

/// Submits `payload` under the idempotency key `key` and waits for the task's outcome.
///
/// If the connection cannot be opened, fails or ends before the outcome arrives, it connects
/// again after `retry_delay` and submits again *with the same key*: the coordinator runs the
/// task once however many times it was submitted, and this function returns its one outcome,
/// once. A `BUSY` answer is returned as [`Busy`] at once, without retrying.
pub async fn submit<C: Connector>(
    connector: &C,
    key: &str,
    payload: &str,
    retry_delay: Duration,
) -> Result<Outcome, Busy> {
    todo!("submit: SUBMIT, then the outcome; on a lost connection, submit again with the same key")
}
