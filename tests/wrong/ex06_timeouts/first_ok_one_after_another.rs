//! Wrong solution: awaits the futures one after another — a loop of .await is sequential.
//! replaces: race.rs
//! expect: first_ok_runs_the_futures_concurrently — not one after another
use std::future::Future;

pub async fn first_ok<T, E, Fut>(futures: Vec<Fut>) -> Result<T, Vec<E>>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut errors = Vec::new();
    for fut in futures {
        match fut.await {
            Ok(value) => return Ok(value),
            Err(e) => errors.push(e),
        }
    }
    Err(errors)
}
