//! Wrong solution: a timeout with a fallback, not a hedge — when the delay passes it drops the
//! primary and only waits for the backup, so a primary about to answer is thrown away.
//! replaces: hedge.rs
//! expect: hedged_keeps_the_primary_running_and_it_can_still_win — the primary must not be dropped or restarted
use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Primary,
    Backup,
}

pub async fn hedged<T, E, F, Fut>(hedge_after: Duration, mut request: F) -> Result<T, E>
where
    F: FnMut(Attempt) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match tokio::time::timeout(hedge_after, request(Attempt::Primary)).await {
        Ok(Ok(value)) => Ok(value),
        _ => request(Attempt::Backup).await,
    }
}
