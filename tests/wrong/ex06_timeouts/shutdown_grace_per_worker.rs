//! Wrong solution: waits for the workers one by one, giving each its own grace period, so n
//! stubborn workers hold the shutdown for n × grace.
//! replaces: shutdown.rs
//! expect: the_grace_period_is_shared_by_all_workers_not_given_to_each — not after 300ms each
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
        for (name, mut handle) in self.tasks {
            let result = match tokio::time::timeout(grace, &mut handle).await {
                Ok(result) => result,
                Err(_) => {
                    handle.abort();
                    handle.await
                }
            };
            match result {
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
