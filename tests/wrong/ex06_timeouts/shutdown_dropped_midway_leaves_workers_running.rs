//! Wrong solution: keeps each worker's JoinHandle and aborts the ones still running when the grace
//! period ends — right as long as shutdown runs to its end. A caller that gives up on shutdown
//! (drops its future) drops the handles, which only detaches the workers: they keep running.
//! replaces: shutdown.rs
//! expect: shutdown_matches_the_reference_on_generated_workers_and_give_ups — a shutdown dropped by its caller aborts every worker still running
//! expect: a_shutdown_dropped_by_its_caller_aborts_every_worker_at_once — no worker outlives its supervisor
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    pub finished: Vec<String>,
    pub aborted: Vec<String>,
    pub panicked: Vec<String>,
}

#[derive(Default)]
pub struct Supervisor {
    token: CancellationToken,
    tasks: Vec<(String, JoinHandle<()>)>,
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn spawn<F, Fut>(&mut self, name: impl Into<String>, worker: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(worker(self.token.clone()));
        self.tasks.push((name.into(), handle));
    }

    pub async fn shutdown(self, grace: Duration) -> ShutdownReport {
        self.token.cancel();
        let mut report = ShutdownReport::default();
        let deadline = tokio::time::Instant::now() + grace;
        for (name, mut handle) in self.tasks {
            let ended = match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(ended) => ended,
                Err(_) => {
                    handle.abort();
                    handle.await
                }
            };
            match ended {
                Ok(()) => report.finished.push(name),
                Err(e) if e.is_cancelled() => report.aborted.push(name),
                Err(_) => report.panicked.push(name),
            }
        }
        report.finished.sort();
        report.aborted.sort();
        report.panicked.sort();
        report
    }
}
