//! A cancellation-safe worker: a `select!` loop over a job channel, a shutdown token and a
//! per-job time limit, that never loses or repeats a job whichever branch wins.

use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: u64,
    pub payload: String,
}

/// What a worker did with every job it took from the channel.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    /// Jobs whose handler finished, in the order they were taken.
    pub completed: Vec<u64>,
    /// Jobs whose handler ran out of time and was cancelled, in the order they were taken.
    pub timed_out: Vec<u64>,
    /// The job whose handler was running when shutdown was requested, if any.
    pub interrupted: Option<u64>,
}

/// Takes jobs from `jobs` one at a time and runs `handler` on each, for at most `job_limit`,
/// until the channel is closed and empty or `shutdown` is cancelled.
///
/// * Jobs are taken in channel order, one at a time; each starts as soon as the previous one is
///   done (or as soon as it arrives, if the worker was idle).
/// * A handler that runs longer than `job_limit` is dropped at exactly that instant; its id goes
///   to `timed_out`, and the worker moves on. A handler that finishes at the very instant
///   `job_limit` is reached has finished in time: `completed`.
/// * Ids need not be unique: a job is reported once per time it was taken, repeats included.
/// * Returns when every sender is gone and the channel is empty.
/// * When `shutdown` is cancelled the worker returns **at once**: if it was idle, with nothing
///   more; if a handler was running, that handler is dropped and its id reported as
///   `interrupted`. A worker whose token is already cancelled takes no further job, even when one
///   is ready. Jobs not taken stay in the channel. A handler that finishes at the very instant
///   shutdown is requested may be reported either way (completed or interrupted), once.
/// * Cancellation safety: every job taken from the channel is reported exactly once (completed,
///   timed out or interrupted) — none is lost, none handed to the handler twice — whichever
///   branch of your `select!` wins. If the worker's own future is dropped while it waits for a
///   job, no job is lost either.
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
            biased;
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
