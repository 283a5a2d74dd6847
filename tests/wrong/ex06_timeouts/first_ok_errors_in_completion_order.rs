//! Wrong solution: collects the errors in the order the futures failed instead of input order.
//! replaces: race.rs
//! expect: first_ok_returns_every_error_in_input_order_when_all_fail — not the order they failed
use futures::stream::{FuturesUnordered, StreamExt};
use std::future::Future;

pub async fn first_ok<T, E, Fut>(futures: Vec<Fut>) -> Result<T, Vec<E>>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut racing: FuturesUnordered<Fut> = futures.into_iter().collect();
    let mut errors = Vec::new();
    while let Some(result) = racing.next().await {
        match result {
            Ok(value) => return Ok(value),
            Err(e) => errors.push(e),
        }
    }
    Err(errors)
}
