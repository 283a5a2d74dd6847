//! Wrong solution: select! without `biased;` — when shutdown is requested and a job is ready,
//! it picks one of the two at random, so it sometimes takes a job after being told to stop.
//! replaces: worker.rs
//! expect: a_worker_told_to_stop_takes_no_further_job_even_when_one_is_ready — biased

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
        // Waiting for a job. `biased` checks the token first, so a worker that has been told to
        // stop takes no further job even when one is ready. `recv` is cancellation safe: if the
        // token wins, no job has left the channel.
        let job = tokio::select! {
                        _ = shutdown.cancelled() => return report,
            job = jobs.recv() => match job {
                Some(job) => job,
                None => return report, // every sender is gone and the channel is drained
            },
        };

        // Running it. From here on the job is ours: whichever branch wins, its id goes into the
        // report exactly once. That bookkeeping — not the choice of primitive — is what makes the
        // loop cancellation safe.
        let id = job.id;
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                // Leaving the select drops the handler's future: the job is cancelled, and reported.
                report.interrupted = Some(id);
                return report;
            }
            finished = tokio::time::timeout(job_limit, handler(job)) => match finished {
                Ok(()) => report.completed.push(id),
                Err(_) => report.timed_out.push(id),
            },
        }
    }
}
