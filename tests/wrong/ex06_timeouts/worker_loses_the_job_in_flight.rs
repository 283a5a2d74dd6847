//! Wrong solution: races the token against "receive a job and handle it" as one branch, so when
//! shutdown wins mid-job the job — already taken from the channel — is dropped without a trace.
//! replaces: worker.rs
//! expect: shutdown_interrupts_the_running_job_at_once_and_reports_it — must be reported as interrupted
//! expect: no_job_is_lost_or_handled_twice_whenever_shutdown_comes — vanished

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
        let next = async {
            let job = jobs.recv().await?;
            let id = job.id;
            Some((
                id,
                tokio::time::timeout(job_limit, handler(job)).await.is_ok(),
            ))
        };
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return report,
            done = next => match done {
                Some((id, true)) => report.completed.push(id),
                Some((id, false)) => report.timed_out.push(id),
                None => return report,
            },
        }
    }
}
