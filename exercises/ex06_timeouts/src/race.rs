//! Race several futures; the first success wins and the losers are dropped at once.

use std::future::Future;

/// Runs all `futures` concurrently and returns the first `Ok`.
///
/// * Every future starts at once (they run concurrently, not one after another).
/// * The first `Ok` is returned the instant it arrives, and every other future has been dropped
///   (cancelled) by then — an earlier `Err` does not end the race, nor does an `Err` at the same
///   instant. If several succeed at the same instant, any one of them is a right answer.
/// * If all fail, returns every error, **in the order the futures were given** (not the order in
///   which they failed), when the last one fails. An empty input gives `Err(vec![])`.
///
/// The futures need not be `Send` or `'static`: run them in the current task rather than
/// spawning them.
pub async fn first_ok<T, E, Fut>(futures: Vec<Fut>) -> Result<T, Vec<E>>
where
    Fut: Future<Output = Result<T, E>>,
{
    todo!("race the futures; return the first Ok or every error")
}
