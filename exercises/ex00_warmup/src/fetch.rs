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
    todo!("await the fetches one after another")
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
    todo!("run the three fetches together with tokio::join!")
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
    todo!("spawn every fetch, then await the JoinHandles in order")
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
    todo!("run all the fetches together in this task")
}
