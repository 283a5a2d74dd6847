//! Graceful shutdown: signal every worker, wait up to a grace period, abort the rest.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio::task::{Id, JoinSet};
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
    /// One token for the whole group: cancelling it is the polite "please stop".
    token: CancellationToken,
    /// The workers' tasks, aborted when the supervisor is dropped (with the future of `shutdown`,
    /// which owns it), so no worker can outlive us by accident.
    tasks: Workers,
    names: HashMap<Id, String>,
}

impl Supervisor {
    /// An empty supervisor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns `worker(token)` as a task named `name`. The worker should return soon after the
    /// token is cancelled.
    pub fn spawn<F, Fut>(&mut self, name: impl Into<String>, worker: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = self.tasks.spawn(worker(self.token.clone()));
        self.names.insert(handle.id(), name.into());
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
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        self.token.cancel();
        let mut report = ShutdownReport::default();

        // One deadline for the whole group, not one per worker: waiting `grace` for each in turn
        // would let n stubborn workers hold us for n × grace.
        let deadline = tokio::time::Instant::now() + grace;
        while let Ok(Some(ended)) =
            tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await
        {
            self.record(ended, &mut report);
        }

        // Whatever is left ignored the token. `abort` only *requests* cancellation; joining
        // afterwards waits until each task has really been dropped, so none is alive when we return.
        self.tasks.abort_all();
        while let Some(ended) = self.tasks.join_next_with_id().await {
            self.record(ended, &mut report);
        }

        report.finished.sort();
        report.aborted.sort();
        report.panicked.sort();
        report
    }

    fn record(
        &mut self,
        ended: Result<(Id, ()), tokio::task::JoinError>,
        report: &mut ShutdownReport,
    ) {
        let (id, list) = match ended {
            Ok((id, ())) => (id, &mut report.finished),
            Err(e) if e.is_cancelled() => (e.id(), &mut report.aborted),
            Err(e) => (e.id(), &mut report.panicked),
        };
        list.push(
            self.names
                .remove(&id)
                .unwrap_or_else(|| format!("task {id}")),
        );
    }
}

// A JoinSet that aborts its tasks, explicitly, when it is dropped. A bare JoinSet promises as
// much, yet a supervisor dropped while its workers waited on a timer was measured here leaving
// them running (tokio 1.54): the explicit `abort_all` is what the contract relies on.
#[derive(Default)]
struct Workers(JoinSet<()>);

impl std::ops::Deref for Workers {
    type Target = JoinSet<()>;
    fn deref(&self) -> &JoinSet<()> {
        &self.0
    }
}

impl std::ops::DerefMut for Workers {
    fn deref_mut(&mut self) -> &mut JoinSet<()> {
        &mut self.0
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.0.abort_all();
    }
}
