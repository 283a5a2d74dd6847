//! Graceful shutdown: signal every worker, wait up to a grace period, abort the rest.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Who ended how, each list sorted by name. Names need not be unique: two workers spawned under
/// one name are two entries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Workers that returned on their own (before or during the shutdown).
    pub finished: Vec<String>,
    /// Workers still running when the grace period ended, and aborted.
    pub aborted: Vec<String>,
    /// Workers that panicked.
    pub panicked: Vec<String>,
}

/// Owns a group of named worker tasks and shuts them down together.
#[derive(Default)]
pub struct Supervisor {
    // Add the fields you need: a token to share, the tasks, their names...
}

impl Supervisor {
    /// An empty supervisor.
    pub fn new() -> Self {
        todo!("create an empty supervisor")
    }

    /// Spawns `worker(token)` as a task named `name`. The worker should return soon after the
    /// token is cancelled.
    pub fn spawn<F, Fut>(&mut self, name: impl Into<String>, worker: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        todo!("spawn the worker with a clone of the shared token, and remember its name")
    }

    /// Cancels the token, waits until every worker has ended or `grace` has passed — whichever
    /// comes first — aborts the rest, and returns once no worker task is left alive.
    ///
    /// * The token is cancelled the instant `shutdown` is called.
    /// * Returns as soon as the last worker ends, without waiting out the grace period.
    /// * `grace` is one period for the whole group, not one per worker: at `grace` after the call,
    ///   every worker still running is aborted.
    /// * No worker task may be alive when this returns (an aborted task is gone only once it has
    ///   been joined).
    /// * A worker that ends at the very instant the grace period ends may be reported either way.
    /// * If this future is dropped before it completes (a caller's timeout, say), every worker
    ///   still running is aborted at that instant: no worker outlives its supervisor.
    pub async fn shutdown(self, grace: Duration) -> ShutdownReport {
        todo!("cancel, wait up to `grace`, abort the rest, and report")
    }
}
