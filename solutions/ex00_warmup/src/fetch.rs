//! Three ways to run several fetches: one after another, together in one task, or as tasks of
//! their own.
//!
//! Every function takes the fetch as a closure, `fetch(id)`, which returns a future. Calling it
//! does nothing yet: a future is lazy, and the fetch runs only while something polls it. What
//! differs between the functions below is *who* polls the futures, and *when*.

use std::future::Future;

/// Runs `fetch(id)` for each id **one after another**: each fetch starts only when the previous
/// one has finished, so the total time is the *sum* of the fetches' times (three 1 s fetches take
/// 3 s).
///
/// Returns the results in the order of `ids`. An empty `ids` gives an empty `Vec` at once.
pub async fn fetch_sequentially<F, Fut>(ids: &[u32], fetch: F) -> Vec<String>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String>,
{
    let mut results = Vec::with_capacity(ids.len());
    for &id in ids {
        // `.await` suspends this function until the fetch is done; the next fetch is not even
        // created before that. Correct when each step needs the previous one, slow otherwise.
        results.push(fetch(id).await);
    }
    results
}

/// Runs three fetches **at the same time** with `tokio::join!` and returns their results in the
/// order of `ids`.
///
/// All three start at once, so the total time is that of the *slowest* (three 1 s fetches take
/// 1 s, not 3 s). Nothing is spawned: `join!` polls the three futures in the current task.
pub async fn fetch_with_join<F, Fut>(ids: [u32; 3], fetch: F) -> [String; 3]
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String>,
{
    let [a, b, c] = ids;
    // `join!` polls all three futures each time this task wakes up and finishes when the last
    // one has: while one fetch waits, the others make progress. Its output is a tuple in the
    // order of the arguments, whatever order they finished in.
    let (a, b, c) = tokio::join!(fetch(a), fetch(b), fetch(c));
    [a, b, c]
}

/// Runs every fetch as **a task of its own** (`tokio::spawn`) and returns the results in the
/// order of `ids` — not the order in which they finished.
///
/// * Every fetch is spawned before any is awaited, so all of them start at once and the total
///   time is that of the slowest.
/// * Spawned tasks are run by the runtime, not by the caller: once spawned, the fetches make
///   progress even while nobody is polling `fetch_with_spawn`'s future.
/// * A fetch that panics makes `fetch_with_spawn` panic.
///
/// `tokio::spawn` needs a `Send + 'static` future (a task may outlive its caller, and a
/// multi-threaded runtime may move it between threads): that is why `Fut` has those bounds here
/// and nowhere else.
pub async fn fetch_with_spawn<F, Fut>(ids: &[u32], fetch: F) -> Vec<String>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String> + Send + 'static,
{
    // First spawn them all. From here on the runtime runs each fetch as a task, whether or not
    // anyone is waiting for it.
    let handles: Vec<_> = ids.iter().map(|&id| tokio::spawn(fetch(id))).collect();

    // Then wait for each in input order. Awaiting handle 1 while handle 2 is already done costs
    // nothing: the total time is that of the slowest fetch, and the order is the input order.
    // (Awaiting each handle right after spawning it would make this sequential again.)
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        // A `JoinError` means the task panicked (nothing here aborts it): re-raise that panic
        // in the caller, as if the fetch had panicked right here.
        let result = handle
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        results.push(result);
    }
    results
}

/// Like [`fetch_with_join`] for any number of ids: runs all the fetches at once in the current
/// task and returns their results in the order of `ids`. An empty `ids` gives an empty `Vec` at
/// once.
///
/// Nothing is spawned, so the futures need not be `Send` or `'static`.
pub async fn fetch_all<F, Fut>(ids: &[u32], fetch: F) -> Vec<String>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = String>,
{
    // `join!` needs to know its futures when the code is written; `join_all` takes a whole
    // collection of them and returns their outputs in the same order.
    futures::future::join_all(ids.iter().map(|&id| fetch(id))).await
}
