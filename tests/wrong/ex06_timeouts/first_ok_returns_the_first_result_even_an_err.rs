//! Wrong solution: returns whatever finishes first — an Err that arrives before any Ok ends the
//! race, as if first_ok were select_all.
//! replaces: race.rs
//! expect: first_ok_returns_the_first_success_and_drops_the_losers_at_that_instant — an earlier error does not end the race
//! expect: first_ok_matches_the_reference_on_generated_races_with_ties — an Err at the same instant does not
use futures::stream::{FuturesUnordered, StreamExt};
use std::future::Future;

pub async fn first_ok<T, E, Fut>(futures: Vec<Fut>) -> Result<T, Vec<E>>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut racing: FuturesUnordered<Fut> = futures.into_iter().collect();
    match racing.next().await {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(vec![e]),
        None => Err(vec![]),
    }
}
