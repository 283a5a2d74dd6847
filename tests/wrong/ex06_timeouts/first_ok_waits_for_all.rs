//! Wrong solution: runs the futures together with join_all, then picks the first Ok — so it
//! always waits for the slowest one and never cancels the losers.
//! replaces: race.rs
//! expect: first_ok_returns_the_first_success_and_drops_the_losers_at_that_instant — first_ok must return when the first success arrives
use std::future::Future;

pub async fn first_ok<T, E, Fut>(futures: Vec<Fut>) -> Result<T, Vec<E>>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut errors = Vec::new();
    for result in futures::future::join_all(futures).await {
        match result {
            Ok(value) => return Ok(value),
            Err(e) => errors.push(e),
        }
    }
    Err(errors)
}
