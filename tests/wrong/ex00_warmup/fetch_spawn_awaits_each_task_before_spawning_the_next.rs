//! Wrong solution: spawns a fetch and awaits its JoinHandle at once, then spawns the next — the
//! tasks never overlap, so spawning bought nothing.
//! replaces: fetch.rs
//! expect: fetch_with_spawn_starts_every_fetch_at_once — every fetch must start at t=0
//! expect: spawned_fetches_make_progress_while_nobody_awaits_them — spawn every fetch before awaiting any JoinHandle
//! expect: fetches_match_the_reference_on_generated_ids_delays_and_callers — when each fetch started
use std::future::Future;

pub async fn fetch_sequentially<F, Fut>(ids: &[u32], fetch: F) -> Vec<String>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String>,
{
    let mut results = Vec::with_capacity(ids.len());
    for &id in ids {
        results.push(fetch(id).await);
    }
    results
}

pub async fn fetch_with_join<F, Fut>(ids: [u32; 3], fetch: F) -> [String; 3]
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String>,
{
    let [a, b, c] = ids;
    let (a, b, c) = tokio::join!(fetch(a), fetch(b), fetch(c));
    [a, b, c]
}

pub async fn fetch_with_spawn<F, Fut>(ids: &[u32], fetch: F) -> Vec<String>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String> + Send + 'static,
{
    let mut results = Vec::with_capacity(ids.len());
    for &id in ids {
        let handle = tokio::spawn(fetch(id));
        results.push(handle.await.unwrap());
    }
    results
}

pub async fn fetch_all<F, Fut>(ids: &[u32], fetch: F) -> Vec<String>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String>,
{
    futures::future::join_all(ids.iter().map(|&id| fetch(id))).await
}
