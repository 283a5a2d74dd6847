//! The coordinator's bookkeeping: which tasks exist, who holds them, until when, and what became
//! of them. Plain synchronous code with the time passed in, so every rule can be checked at an
//! exact instant, without a network.

use std::time::Duration;
use tokio::time::Instant;

/// The rules of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long a lease lasts after it is granted or renewed by a heartbeat.
    pub lease_duration: Duration,
    /// How many attempts a task gets in all (values below 1 count as 1).
    pub max_attempts: u32,
    /// The wait after a task's first failed attempt; it doubles after each further failed attempt.
    pub backoff_base: Duration,
    /// The longest wait between two attempts.
    pub backoff_max: Duration,
    /// How many tasks may wait to be leased (ready or backing off) before submissions are refused.
    pub max_pending: usize,
}

/// What [`TaskQueue::submit`] did with a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// A new task, queued.
    Accepted,
    /// The key was submitted before (the task may be waiting, running or finished): nothing new
    /// was queued, whatever the payload.
    Duplicate,
    /// `max_pending` tasks are already waiting: nothing was queued and the key is not
    /// remembered, so the same submission may be accepted later.
    Busy,
}

/// A task handed to a worker for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The lease's number: 1 for the first lease the queue grants, then one more for each.
    pub id: u64,
    /// The task's idempotency key.
    pub key: String,
    /// The task's payload.
    pub payload: String,
    /// Which attempt of the task this is: 1 for the first.
    pub attempt: u32,
    /// The instant the lease runs out unless a heartbeat renews it.
    pub expires_at: Instant,
}

/// What became of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An attempt succeeded with this output.
    Done(String),
    /// Every attempt failed; this is the error of the last one.
    Dead(String),
}

/// A task that used up its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The task's idempotency key.
    pub key: String,
    /// The task's payload.
    pub payload: String,
    /// The number of attempts made.
    pub attempts: u32,
    /// The error of the last attempt.
    pub last_error: String,
}

/// What [`TaskQueue::complete`] did with a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The task succeeded: its output is recorded as its outcome.
    Recorded,
    /// The attempt failed and the task will be ready again at this instant.
    Retrying(Instant),
    /// The attempt failed and it was the last one: the task is dead-lettered.
    DeadLettered,
    /// The lease is not current (unknown, run out, or its task already finished): nothing changed.
    Stale,
}

/// The coordinator's queue of tasks.
///
/// Execution is *at least once*: a task whose lease runs out is run again, although its first
/// worker may still be running it. Outcomes are *exactly once*: only the current lease may report,
/// so each task gets one outcome, which never changes.
#[derive(Debug)]
pub struct TaskQueue {
    // Your fields: the rules, the tasks by key with their state, the next lease id, the dead
    // letters…
}

impl TaskQueue {
    /// An empty queue with these rules.
    pub fn new(config: Config) -> Self {
        todo!("new: an empty queue")
    }

    /// Submits a task under an idempotency key, ready at once. A key already submitted is a
    /// [`Submitted::Duplicate`]; a new key when `max_pending` tasks wait is [`Submitted::Busy`].
    pub fn submit(&mut self, key: &str, payload: &str, now: Instant) -> Submitted {
        todo!("submit: a duplicate, busy, or a new task ready at `now`")
    }

    /// Leases the task that has been ready longest (ready at `now` or before; ties go to the
    /// earlier submission), for `lease_duration` from `now`. `None` when no task is ready.
    pub fn lease(&mut self, now: Instant) -> Option<Lease> {
        todo!("lease: the task ready longest, under a new lease")
    }

    /// Renews a current lease: it now runs out `lease_duration` after `now`, the instant returned.
    /// A lease is current until the instant it runs out, not at that instant: a heartbeat then is
    /// too late and returns `None`, as for any lease that is not current.
    pub fn heartbeat(&mut self, lease_id: u64, now: Instant) -> Option<Instant> {
        todo!("heartbeat: renew a current lease")
    }

    /// Reports the end of an attempt under a current lease: `Ok(output)` records the task's
    /// outcome; `Err(error)` is a failed attempt. After a failed attempt `n` the task is ready
    /// again `backoff_base × 2^(n-1)` later (at most `backoff_max`), unless that was attempt
    /// `max_attempts`: then it is dead-lettered. A report under a lease that is not current is
    /// [`Completion::Stale`] and changes nothing.
    pub fn complete(
        &mut self,
        lease_id: u64,
        output: Result<String, String>,
        now: Instant,
    ) -> Completion {
        todo!("complete: record the output, or back off, or dead-letter")
    }

    /// Ends every lease that has run out by `now` (at its expiry instant or before) as a failed
    /// attempt with the error `"lease expired"`, backing off from the instant it ran out. Returns
    /// the keys of those tasks, the earliest expiry first. Every other method does this first.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        todo!("expire: end the leases that ran out, as failed attempts")
    }

    /// The outcome of the task under `key`, once it has one.
    pub fn outcome(&self, key: &str) -> Option<&Outcome> {
        todo!("outcome: the finished task's outcome")
    }

    /// The dead-lettered tasks, in the order they died.
    pub fn dead_letters(&self) -> &[DeadLetter] {
        todo!("dead_letters: in the order the tasks died")
    }

    /// How many tasks wait to be leased (ready or backing off).
    pub fn pending(&self) -> usize {
        todo!("pending: tasks waiting to be leased")
    }

    /// The next instant after `now` at which something happens by itself: a lease runs out or a
    /// backing-off task becomes ready. `None` when nothing is due after `now`.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        todo!("next_wakeup: the next expiry or retry after `now`")
    }
}
