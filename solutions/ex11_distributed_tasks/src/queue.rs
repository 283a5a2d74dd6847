//! The coordinator's bookkeeping: which tasks exist, who holds them, until when, and what became
//! of them. Plain synchronous code with the time passed in, so every rule can be checked at an
//! exact instant, without a network.

use std::collections::HashMap;
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

// The state of one task.
#[derive(Debug)]
enum State {
    // Waiting to be leased from `ready_at` on.
    Pending { ready_at: Instant },
    // Held by a worker under lease `lease_id` until `expires_at`.
    Leased { lease_id: u64, expires_at: Instant },
    Finished(Outcome),
}

#[derive(Debug)]
struct Task {
    payload: String,
    // The order of submission: breaks ties between tasks ready at the same instant.
    seq: u64,
    attempts: u32,
    state: State,
}

/// The coordinator's queue of tasks.
///
/// Execution is *at least once*: a task whose lease runs out is run again, although its first
/// worker may still be running it. Outcomes are *exactly once*: only the current lease may report,
/// so each task gets one outcome, which never changes.
#[derive(Debug)]
pub struct TaskQueue {
    config: Config,
    tasks: HashMap<String, Task>,
    next_seq: u64,
    next_lease: u64,
    dead: Vec<DeadLetter>,
}

impl TaskQueue {
    /// An empty queue with these rules.
    pub fn new(config: Config) -> Self {
        TaskQueue {
            config,
            tasks: HashMap::new(),
            next_seq: 0,
            next_lease: 1,
            dead: Vec::new(),
        }
    }

    /// Submits a task under an idempotency key, ready at once. A key already submitted is a
    /// [`Submitted::Duplicate`]; a new key when `max_pending` tasks wait is [`Submitted::Busy`].
    pub fn submit(&mut self, key: &str, payload: &str, now: Instant) -> Submitted {
        self.expire(now);
        if self.tasks.contains_key(key) {
            return Submitted::Duplicate;
        }
        if self.pending() >= self.config.max_pending {
            return Submitted::Busy;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let task = Task {
            payload: payload.to_owned(),
            seq,
            attempts: 0,
            state: State::Pending { ready_at: now },
        };
        self.tasks.insert(key.to_owned(), task);
        Submitted::Accepted
    }

    /// Leases the task that has been ready longest (ready at `now` or before; ties go to the
    /// earlier submission), for `lease_duration` from `now`. `None` when no task is ready.
    pub fn lease(&mut self, now: Instant) -> Option<Lease> {
        self.expire(now);
        let (key, task) = self
            .tasks
            .iter_mut()
            .filter_map(|(key, task)| match task.state {
                State::Pending { ready_at } if ready_at <= now => {
                    Some((ready_at, task.seq, key, task))
                }
                _ => None,
            })
            .min_by_key(|(ready_at, seq, _, _)| (*ready_at, *seq))
            .map(|(_, _, key, task)| (key, task))?;
        let id = self.next_lease;
        self.next_lease += 1;
        task.attempts += 1;
        let expires_at = now + self.config.lease_duration;
        task.state = State::Leased {
            lease_id: id,
            expires_at,
        };
        Some(Lease {
            id,
            key: key.clone(),
            payload: task.payload.clone(),
            attempt: task.attempts,
            expires_at,
        })
    }

    /// Renews a current lease: it now runs out `lease_duration` after `now`, the instant returned.
    /// A lease is current until the instant it runs out, not at that instant: a heartbeat then is
    /// too late and returns `None`, as for any lease that is not current.
    pub fn heartbeat(&mut self, lease_id: u64, now: Instant) -> Option<Instant> {
        self.expire(now);
        let expires_at = now + self.config.lease_duration;
        let task = self.leased_mut(lease_id)?;
        task.state = State::Leased {
            lease_id,
            expires_at,
        };
        Some(expires_at)
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
        self.expire(now);
        let Some(key) = self.leased_key(lease_id) else {
            return Completion::Stale;
        };
        match output {
            Ok(output) => {
                if let Some(task) = self.tasks.get_mut(&key) {
                    task.state = State::Finished(Outcome::Done(output));
                }
                Completion::Recorded
            }
            Err(error) => self.fail(&key, error, now),
        }
    }

    /// Ends every lease that has run out by `now` (at its expiry instant or before) as a failed
    /// attempt with the error `"lease expired"`, backing off from the instant it ran out. Returns
    /// the keys of those tasks, the earliest expiry first. Every other method does this first.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let mut expired: Vec<(Instant, u64, String)> = self
            .tasks
            .iter()
            .filter_map(|(key, task)| match task.state {
                State::Leased { expires_at, .. } if expires_at <= now => {
                    Some((expires_at, task.seq, key.clone()))
                }
                _ => None,
            })
            .collect();
        expired.sort();
        for (expires_at, _, key) in &expired {
            self.fail(key, "lease expired".to_owned(), *expires_at);
        }
        expired.into_iter().map(|(_, _, key)| key).collect()
    }

    /// The outcome of the task under `key`, once it has one.
    pub fn outcome(&self, key: &str) -> Option<&Outcome> {
        match &self.tasks.get(key)?.state {
            State::Finished(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// The dead-lettered tasks, in the order they died.
    pub fn dead_letters(&self) -> &[DeadLetter] {
        &self.dead
    }

    /// How many tasks wait to be leased (ready or backing off).
    pub fn pending(&self) -> usize {
        self.tasks
            .values()
            .filter(|task| matches!(task.state, State::Pending { .. }))
            .count()
    }

    /// The next instant after `now` at which something happens by itself: a lease runs out or a
    /// backing-off task becomes ready. `None` when nothing is due after `now`.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        self.tasks
            .values()
            .filter_map(|task| match task.state {
                State::Pending { ready_at } => Some(ready_at),
                State::Leased { expires_at, .. } => Some(expires_at),
                State::Finished(_) => None,
            })
            .filter(|&at| at > now)
            .min()
    }

    // The task held under `lease_id`, if that lease is current (expired ones are gone already).
    fn leased_mut(&mut self, lease_id: u64) -> Option<&mut Task> {
        self.tasks
            .values_mut()
            .find(|task| matches!(task.state, State::Leased { lease_id: id, .. } if id == lease_id))
    }

    fn leased_key(&self, lease_id: u64) -> Option<String> {
        self.tasks
            .iter()
            .find(|(_, task)| matches!(task.state, State::Leased { lease_id: id, .. } if id == lease_id))
            .map(|(key, _)| key.clone())
    }

    // A failed attempt at `at`: back off, or dead-letter after the last attempt.
    fn fail(&mut self, key: &str, error: String, at: Instant) -> Completion {
        let config = self.config;
        let Some(task) = self.tasks.get_mut(key) else {
            return Completion::Stale;
        };
        if task.attempts >= config.max_attempts.max(1) {
            self.dead.push(DeadLetter {
                key: key.to_owned(),
                payload: task.payload.clone(),
                attempts: task.attempts,
                last_error: error.clone(),
            });
            task.state = State::Finished(Outcome::Dead(error));
            return Completion::DeadLettered;
        }
        let ready_at = at + backoff(&config, task.attempts);
        task.state = State::Pending { ready_at };
        Completion::Retrying(ready_at)
    }
}

// The wait after failed attempt `attempt` (1 for the first): doubling, capped.
fn backoff(config: &Config, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    config
        .backoff_base
        .saturating_mul(1 << doublings)
        .min(config.backoff_max)
}
