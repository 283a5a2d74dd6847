//! Hedged requests: if the primary is slow, send a backup and take whichever answers first.

use futures::future::{Either, select};
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

/// Which copy of the request an invocation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The first request, sent at once.
    Primary,
    /// The second request, sent only if the primary is slow or fails fast.
    Backup,
}

/// Sends `request(Primary)`; if it has not answered after `hedge_after`, also sends
/// `request(Backup)`, and returns the first success.
///
/// * Primary succeeds before `hedge_after`, or at that very instant: return it; the backup is
///   never sent.
/// * Primary fails before `hedge_after`: send the backup at once and return its result.
/// * Primary still running at `hedge_after`: send the backup and keep the primary running (do not
///   restart it). The first `Ok` of the two wins and the other is dropped at that instant. If one
///   fails, wait for the other: its result is the answer. If both fail, return the error of the
///   one that failed last; if they fail at the same instant, the backup's error. If both succeed
///   at the same instant, either answer is right.
pub async fn hedged<T, E, F, Fut>(hedge_after: Duration, mut request: F) -> Result<T, E>
where
    F: FnMut(Attempt) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut primary = pin!(request(Attempt::Primary));
    match tokio::time::timeout(hedge_after, primary.as_mut()).await {
        // The primary answered in time: no backup is ever sent.
        Ok(Ok(value)) => return Ok(value),
        // The primary failed fast: the backup is now the only hope, so send it at once.
        Ok(Err(_)) => return request(Attempt::Backup).await,
        // The primary is slow: hedge.
        Err(_) => {}
    }

    let backup = pin!(request(Attempt::Backup));
    // `select` resolves with the first of the two and hands back the other, still running.
    match select(primary, backup).await {
        // A success wins outright; returning drops the other future, which cancels it.
        Either::Left((Ok(value), _)) | Either::Right((Ok(value), _)) => Ok(value),
        // One failed: the other one is still in flight, and its answer — success or failure —
        // is now the answer.
        Either::Left((Err(_), other)) => other.await,
        Either::Right((Err(_), other)) => other.await,
    }
}
