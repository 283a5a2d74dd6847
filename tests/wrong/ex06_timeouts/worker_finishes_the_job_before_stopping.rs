//! Wrong solution: checks the token only while waiting for a job, so a shutdown that arrives
//! mid-job waits for that job to finish.
//! replaces: worker.rs
//! expect: shutdown_interrupts_the_running_job_at_once_and_reports_it — not after job 2 finishes

use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: u64,
    pub payload: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    pub completed: Vec<u64>,
    pub timed_out: Vec<u64>,
    pub interrupted: Option<u64>,
}

pub async fn run_worker<H, Fut>(
    jobs: &mut mpsc::Receiver<Job>,
    shutdown: CancellationToken,
    job_limit: Duration,
    mut handler: H,
) -> WorkerReport
where
    H: FnMut(Job) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut report = WorkerReport::default();
    loop {
        let job = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return report,
            job = jobs.recv() => match job {
                Some(job) => job,
                None => return report,
            },
        };
        let id = job.id;
        match tokio::time::timeout(job_limit, handler(job)).await {
            Ok(()) => report.completed.push(id),
            Err(_) => report.timed_out.push(id),
        }
    }
}
