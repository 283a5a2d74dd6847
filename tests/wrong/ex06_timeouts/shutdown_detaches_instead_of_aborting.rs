//! Wrong solution: after the grace period it drops the JoinHandles of the workers still running,
//! believing that stops them — dropping a JoinHandle only detaches the task, which keeps running.
//! replaces: shutdown.rs
//! expect: a_worker_that_ignores_shutdown_is_aborted_when_the_grace_period_ends — must be gone when shutdown returns
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
            match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(())) => report.finished.push(name),
                Ok(Err(_)) => report.panicked.push(name),
                // Dropping the handle here does not stop the task.
                Err(_) => report.aborted.push(name),
            }
        }
        report.finished.sort();
        report.aborted.sort();
        report.panicked.sort();
        report
    }
}
