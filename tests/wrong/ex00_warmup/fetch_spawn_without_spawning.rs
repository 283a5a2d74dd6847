//! Wrong solution: "fetch_with_spawn" that never spawns — join_all runs the fetches together,
//! but only while the caller polls it; nothing runs them in between.
//! replaces: fetch.rs
//! expect: spawned_fetches_make_progress_while_nobody_awaits_them — were not spawned
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
    futures::future::join_all(ids.iter().map(|&id| fetch(id))).await
}

pub async fn fetch_all<F, Fut>(ids: &[u32], fetch: F) -> Vec<String>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String>,
{
    futures::future::join_all(ids.iter().map(|&id| fetch(id))).await
}
