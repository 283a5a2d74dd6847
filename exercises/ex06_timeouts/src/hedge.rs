//! Hedged requests: if the primary is slow, send a backup and take whichever answers first.

use std::future::Future;
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
    todo!("send the primary, and a backup if the primary is slow")
}
