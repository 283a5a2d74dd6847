//! Wrong solution: "joins" the fetches with three `.await`s in a row — each waits for the one
//! before, so three 1 s fetches take 3 s.
//! replaces: fetch.rs
//! expect: fetch_with_join_runs_three_one_second_fetches_in_one_second — took 3000ms: the fetches ran one after another; join! runs them together
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
    [fetch(a).await, fetch(b).await, fetch(c).await]
}

pub async fn fetch_with_spawn<F, Fut>(ids: &[u32], fetch: F) -> Vec<String>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String> + Send + 'static,
{
    let handles: Vec<_> = ids.iter().map(|&id| tokio::spawn(fetch(id))).collect();

    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        let result = handle
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        results.push(result);
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
