//! Submitting a task and waiting for its outcome, across failures.

use crate::net::Connector;
use crate::protocol::{Connection, Message};
use crate::queue::Outcome;
use std::fmt;
use std::io;
use std::time::Duration;
use tokio::time::sleep;

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
    loop {
        match try_submit(connector, key, payload).await {
            Ok(Some(answer)) => return answer,
            // The connection ended or failed first: submit again.
            Ok(None) | Err(_) => sleep(retry_delay).await,
        }
    }
}

// One submission on one connection: `Ok(None)` when the connection ended before an answer.
async fn try_submit<C: Connector>(
    connector: &C,
    key: &str,
    payload: &str,
) -> io::Result<Option<Result<Outcome, Busy>>> {
    let mut conn = Connection::new(connector.connect().await?);
    let submit = Message::Submit {
        key: key.to_owned(),
        payload: payload.to_owned(),
    };
    conn.send(&submit).await?;
    while let Some(message) = conn.receive().await? {
        match message {
            Message::Busy { .. } => return Ok(Some(Err(Busy))),
            Message::Accepted { .. } => {}
            Message::Done { output, .. } => return Ok(Some(Ok(Outcome::Done(output)))),
            Message::Dead { error, .. } => return Ok(Some(Ok(Outcome::Dead(error)))),
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unexpected answer: {other}"),
                ));
            }
        }
    }
    Ok(None)
}
