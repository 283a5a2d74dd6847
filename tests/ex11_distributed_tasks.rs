//! Hidden tests for exercise 11 — distributed task processing.
//!
//! Two layers, two kinds of test:
//!
//! * [`TaskQueue`] is plain synchronous code with the time passed in: its tests call it at exact
//!   instants of tokio's paused clock (`testkit::run`), one rule at a time — the instant a lease
//!   runs out, the instant a retry is due, which task goes first;
//! * the coordinator, the workers and the submitters run as hosts of a turmoil simulation (the
//!   tokio project's deterministic network simulator): separate hosts on a simulated network with
//!   latency, held messages, crashes and restarts, all in simulated time and reproducible from the
//!   seed each test gives. The simulation drives its own runtimes, so these tests run under
//!   `testkit::sim::run`, which reports them to the grader like every other test.
//!
//! Test names are the specification; each assertion message says what was expected and the
//! likely cause when it is not.

//!
//! Traceability (checked by the dev check): each test cites the sentences of the stub's docs it
//! checks (`/// contract: "…"`). Listed here: headings and the given code (the line protocol and
//! the network traits, which learners do not write). Every rule is tested.
//!
//! not a rule: "The example tasks." — the cluster program's demo, not the library
//! not a rule: "The rules of the queue." — the heading of the type's docs
//! not a rule: "What [`TaskQueue::submit`] did with a submission." — the heading of the type's docs
//! not a rule: "A task handed to a worker for a while." — the heading of the type's docs
//! not a rule: "What became of a task." — the heading of the type's docs
//! not a rule: "What [`TaskQueue::complete`] did with a report." — the heading of the type's docs
//! not a rule: "The coordinator's queue of tasks." — the heading of the type's docs
//! not a rule: "How a worker behaves on the network." — the heading of the type's docs
//! not a rule: "Where connections come from: a listening socket." — given code (net.rs)
//! not a rule: "A connection's byte stream." — given code (net.rs)
//! not a rule: "The next incoming connection." — given code (net.rs)
//! not a rule: "How to reach the coordinator: each call opens a new connection." — given code (net.rs)
//! not a rule: "Opens a connection to the coordinator." — given code (net.rs)
//! not a rule: "Connects to the coordinator over real TCP." — given code (net.rs)
//! not a rule: "The coordinator's address, `host:port`." — given code (net.rs)
//! not a rule: "One line of the protocol." — given code (protocol.rs)
//! not a rule: "Submit a task under an idempotency key." — given code (protocol.rs)
//! not a rule: "The task is queued (or was already, under that key)." — given code (protocol.rs)
//! not a rule: "Refused: too many tasks wait." — given code (protocol.rs)
//! not a rule: "Nothing was queued." — given code (protocol.rs)
//! not a rule: "The task's outcome: it succeeded with this output." — given code (protocol.rs)
//! not a rule: "The task's outcome: every attempt failed, the last with this error." — given code (protocol.rs)
//! not a rule: "A worker asks for a task." — given code (protocol.rs)
//! not a rule: "A task leased to the worker." — given code (protocol.rs)
//! not a rule: "A worker still runs the task of this lease." — given code (protocol.rs)
//! not a rule: "The task of this lease succeeded." — given code (protocol.rs)
//! not a rule: "The task of this lease failed." — given code (protocol.rs)
//! not a rule: "Parses one line (without its line end)." — given code (protocol.rs)
//! not a rule: "`None` for anything else." — given code (protocol.rs)
//! not a rule: "The message as a line, without its line end." — given code (protocol.rs)
//! not a rule: "A connection that speaks the protocol over any byte stream." — given code (protocol.rs)
//! not a rule: "Wraps a stream." — given code (protocol.rs)
//! not a rule: "The next message; `Ok(None)` when the peer closed the connection." — given code (protocol.rs)
//! not a rule: "A line that is not a message is an `InvalidData` error." — given code (protocol.rs)
//! not a rule: "Cancel-safe only between messages." — given code (protocol.rs)
//! not a rule: "Sends one message (and flushes it)." — given code (protocol.rs)
use ex11_distributed_tasks::*;
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::{fmt_duration, ms, secs};
use tokio::time::Instant;

// The learner's `==` is trusted only where it is derived (testkit::derived_eq!). `Lease`, `Outcome`
// and `DeadLetter` hold `String`s (and an `Instant`), which a constant cannot check: the suite
// compares them field by field through `seen` (`assert_seen_eq!`).
testkit::derived_eq! {
    Config = CONFIG,
    Submitted = Submitted::Accepted,
    Completion = Completion::Recorded,
    Busy = Busy,
    WorkerConfig = WORKER,
}

/// The queue's answers as the suite compares them: field by field, with std's and tokio's `==` (a
/// hand-written `==` on the learner's type that says "equal" to everything would otherwise pass
/// every `assert_eq!` on it).
mod seen {
    use tokio::time::Instant;

    #[derive(Debug, PartialEq)]
    pub struct Lease {
        pub id: u64,
        pub key: String,
        pub payload: String,
        pub attempt: u32,
        pub expires_at: Instant,
    }

    #[derive(Debug, PartialEq)]
    pub enum Outcome {
        Done(String),
        Dead(String),
    }

    #[derive(Debug, PartialEq)]
    pub struct DeadLetter {
        pub key: String,
        pub payload: String,
        pub attempts: u32,
        pub last_error: String,
    }

    testkit::seen_trait!();

    impl Seen for super::Lease {
        type As = Lease;
        fn seen(&self) -> Lease {
            let super::Lease {
                id,
                key,
                payload,
                attempt,
                expires_at,
            } = self;
            Lease {
                id: *id,
                key: key.clone(),
                payload: payload.clone(),
                attempt: *attempt,
                expires_at: *expires_at,
            }
        }
    }

    impl Seen for super::Outcome {
        type As = Outcome;
        fn seen(&self) -> Outcome {
            match self {
                super::Outcome::Done(output) => Outcome::Done(output.clone()),
                super::Outcome::Dead(error) => Outcome::Dead(error.clone()),
            }
        }
    }

    impl Seen for super::DeadLetter {
        type As = DeadLetter;
        fn seen(&self) -> DeadLetter {
            let super::DeadLetter {
                key,
                payload,
                attempts,
                last_error,
            } = self;
            DeadLetter {
                key: key.clone(),
                payload: payload.clone(),
                attempts: *attempts,
                last_error: last_error.clone(),
            }
        }
    }
}

use testkit::assert_seen_eq;

/// The rules most tests use.
const CONFIG: Config = Config {
    lease_duration: secs(1),
    max_attempts: 3,
    backoff_base: ms(200),
    backoff_max: secs(1),
    max_pending: 100,
};

// ---------------------------------------------------------------------------------------------
// The queue, at exact instants
// ---------------------------------------------------------------------------------------------

/// Runs a queue test on the paused clock: `t0` is the instant the test starts.
fn queue_test(body: impl FnOnce(Instant) + Send + 'static) {
    testkit::run(|| async move { body(Instant::now()) });
}

fn key_of(lease: &Option<Lease>) -> Option<&str> {
    lease.as_ref().map(|l| l.key.as_str())
}

/// contract: "A new task, queued."
/// contract: "The lease's number: 1 for the first lease the queue grants, then one more for each."
/// contract: "The task's idempotency key."
/// contract: "The task's payload."
/// contract: "An attempt succeeded with this output."
/// contract: "The task succeeded: its output is recorded as its outcome."
/// contract: "An empty queue with these rules."
/// contract: "Submits a task under an idempotency key, ready at once."
/// contract: "Reports the end of an attempt under a current lease: `Ok(output)` records the task's outcome"
/// contract: "The outcome of the task under `key`, once it has one."
/// contract: "How many tasks wait to be leased (ready or backing off)."
#[test]
fn a_submitted_task_is_leased_once_and_its_output_is_its_outcome() {
    queue_test(|t0| {
        let mut queue = TaskQueue::new(CONFIG);
        assert_eq!(
            queue.submit("k1", "payload one", t0),
            Submitted::Accepted,
            "a new key is accepted"
        );
        assert_eq!(queue.pending(), 1, "a submitted task waits to be leased");
        let lease = queue
            .lease(t0)
            .expect("a task submitted at t0 is ready at t0");
        assert_seen_eq!(
            lease,
            Lease {
                id: 1,
                key: "k1".into(),
                payload: "payload one".into(),
                attempt: 1,
                expires_at: t0 + secs(1),
            },
            "the first lease: id 1, attempt 1, running out lease_duration (1s) after it was granted"
        );
        assert_eq!(queue.pending(), 0, "a leased task no longer waits");
        assert_eq!(
            queue.lease(t0),
            None,
            "a leased task must not be leased again while its lease is current"
        );
        assert_eq!(queue.outcome("k1"), None, "no outcome before a report");
        assert_eq!(
            queue.complete(1, Ok("out".into()), t0 + ms(500)),
            Completion::Recorded,
            "a success under the current lease is recorded"
        );
        assert_seen_eq!(
            queue.outcome("k1"),
            Some(&Outcome::Done("out".into())),
            "the outcome is the output"
        );
        assert_eq!(
            queue.complete(1, Ok("again".into()), t0 + ms(600)),
            Completion::Stale,
            "a second report for a finished task is stale: the outcome is recorded once"
        );
        assert_seen_eq!(
            queue.outcome("k1"),
            Some(&Outcome::Done("out".into())),
            "the outcome never changes once recorded"
        );
        queue.submit("k2", "two", t0 + secs(1));
        let second = queue.lease(t0 + secs(1)).expect("k2 is ready");
        assert_eq!(second.id, 2, "lease ids count up: the second lease is 2");
        assert_eq!(
            queue.next_wakeup(t0 + secs(1)),
            Some(t0 + secs(2)),
            "k2's lease runs out at 2s"
        );
    });
}

/// contract: "The key was submitted before (the task may be waiting, running or finished): nothing new was queued, whatever the payload."
/// contract: "A key already submitted is a [`Submitted::Duplicate`]"
#[test]
fn a_repeated_key_is_a_duplicate_whatever_its_state_or_payload() {
    queue_test(|t0| {
        let mut queue = TaskQueue::new(CONFIG);
        queue.submit("k", "first", t0);
        assert_eq!(
            queue.submit("k", "first", t0),
            Submitted::Duplicate,
            "the same key while its task waits is a duplicate"
        );
        assert_eq!(queue.pending(), 1, "a duplicate queues nothing");
        let lease = queue.lease(t0).expect("k is ready");
        assert_eq!(
            lease.payload, "first",
            "the first submission's payload is the task's"
        );
        assert_eq!(
            queue.submit("k", "other payload", t0 + ms(10)),
            Submitted::Duplicate,
            "the same key while its task runs is a duplicate, whatever the payload"
        );
        assert_eq!(
            queue.lease(t0 + ms(10)),
            None,
            "a duplicate submission must not queue the task a second time"
        );
        queue.complete(lease.id, Ok("done".into()), t0 + ms(20));
        assert_eq!(
            queue.submit("k", "first", t0 + ms(30)),
            Submitted::Duplicate,
            "the same key once its task finished is a duplicate: the task does not run again"
        );
        assert_eq!(
            queue.lease(t0 + ms(30)),
            None,
            "a finished task is never leased again"
        );

        let config = Config {
            max_attempts: 1,
            ..CONFIG
        };
        let mut queue = TaskQueue::new(config);
        queue.submit("d", "x", t0);
        let lease = queue.lease(t0).expect("d is ready");
        queue.complete(lease.id, Err("boom".into()), t0);
        assert_eq!(
            queue.submit("d", "x", t0 + ms(1)),
            Submitted::Duplicate,
            "the same key once its task was dead-lettered is a duplicate"
        );
        assert_eq!(
            queue.pending(),
            0,
            "a dead-lettered task is not queued again by a duplicate"
        );
    });
}

/// contract: "Leases the task that has been ready longest (ready at `now` or before; ties go to the earlier submission), for `lease_duration` from `now`."
/// contract: "`None` when no task is ready."
#[test]
fn tasks_are_leased_in_the_order_they_became_ready_with_ties_in_submission_order() {
    queue_test(|t0| {
        let mut queue = TaskQueue::new(CONFIG);
        for key in ["a", "b", "c", "d"] {
            queue.submit(key, key, t0);
        }
        assert_eq!(
            key_of(&queue.lease(t0)),
            Some("a"),
            "four tasks submitted at the same instant go in submission order: a first"
        );
        // a fails at once: ready again at t0 + 200ms (backoff_base).
        assert_eq!(
            queue.complete(1, Err("no".into()), t0),
            Completion::Retrying(t0 + ms(200)),
            "after a failed first attempt, ready again backoff_base (200ms) later"
        );
        queue.submit("e", "e", t0 + ms(100));
        let mut order = Vec::new();
        while let Some(lease) = queue.lease(t0 + ms(300)) {
            order.push(lease.key);
        }
        assert_eq!(
            order,
            ["b", "c", "d", "e", "a"],
            "tasks are leased in the order they became ready (b, c, d at 0ms in submission order, \
             e at 100ms, a again at 200ms): not newest first, not retries first"
        );
    });
}

/// contract: "How long a lease lasts after it is granted or renewed by a heartbeat."
/// contract: "The instant the lease runs out unless a heartbeat renews it."
/// contract: "Renews a current lease: it now runs out `lease_duration` after `now`, the instant returned."
/// contract: "A lease is current until the instant it runs out, not at that instant"
/// contract: "Ends every lease that has run out by `now` (at its expiry instant or before)"
#[test]
fn a_lease_runs_out_exactly_at_its_expiry_and_a_heartbeat_before_it_renews_it() {
    queue_test(|t0| {
        let mut queue = TaskQueue::new(CONFIG);
        queue.submit("k", "p", t0);
        let lease = queue.lease(t0).expect("k is ready");
        assert_eq!(
            queue.heartbeat(lease.id, t0 + ms(999)),
            Some(t0 + ms(1999)),
            "a heartbeat 1ms before the lease runs out renews it: lease_duration from the beat"
        );
        assert_eq!(
            queue.expire(t0 + ms(1998)),
            Vec::<String>::new(),
            "the renewed lease is current until 1999ms"
        );
        assert_eq!(
            queue.heartbeat(lease.id, t0 + ms(1999)),
            None,
            "a heartbeat at the exact instant the lease runs out is too late: a lease is current \
             until its expiry instant, not at it"
        );
        assert_eq!(
            queue.lease(t0 + ms(2198)),
            None,
            "the expired attempt backs off backoff_base (200ms) from the instant the lease ran out \
             (1999ms): not ready at 2198ms"
        );
        let second = queue.lease(t0 + ms(2199)).expect(
            "the task whose lease ran out at 1999ms must be ready again at 2199ms (backoff 200ms)",
        );
        assert_eq!(
            second.attempt, 2,
            "a lease that ran out counts as a failed attempt"
        );
        assert_eq!(
            queue.complete(second.id, Ok("late".into()), second.expires_at),
            Completion::Stale,
            "a report at the exact instant the lease runs out is stale"
        );
        assert_eq!(queue.outcome("k"), None, "a stale report records nothing");

        // expire() itself: at the instant, not a moment before, and backing off from the expiry.
        let mut queue = TaskQueue::new(CONFIG);
        queue.submit("x", "p", t0);
        queue.lease(t0);
        assert_eq!(
            queue.expire(t0 + ms(999)),
            Vec::<String>::new(),
            "1ms before its expiry a lease is current"
        );
        assert_eq!(
            queue.expire(t0 + ms(1050)),
            vec!["x".to_owned()],
            "expire returns the keys of the leases that ran out"
        );
        assert_eq!(
            queue.lease(t0 + ms(1199)),
            None,
            "a lease found expired at 1050ms ran out at 1000ms: its task is ready at 1200ms, not \
             before"
        );
        assert!(
            queue.lease(t0 + ms(1200)).is_some(),
            "a lease found expired at 1050ms ran out at 1000ms: the backoff (200ms) counts from \
             1000ms, so the task is ready at 1200ms, not 1250ms"
        );
    });
}

/// contract: "How many attempts a task gets in all (values below 1 count as 1)."
/// contract: "The wait after a task's first failed attempt; it doubles after each further failed attempt."
/// contract: "The longest wait between two attempts."
/// contract: "Which attempt of the task this is: 1 for the first."
/// contract: "Every attempt failed; this is the error of the last one."
/// contract: "A task that used up its attempts."
/// contract: "The number of attempts made."
/// contract: "The error of the last attempt."
/// contract: "The attempt failed and the task will be ready again at this instant."
/// contract: "The attempt failed and it was the last one: the task is dead-lettered."
/// contract: "`Err(error)` is a failed attempt."
/// contract: "After a failed attempt `n` the task is ready again `backoff_base × 2^(n-1)` later (at most `backoff_max`)"
/// contract: "The dead-lettered tasks, in the order they died."
#[test]
fn failed_attempts_back_off_doubling_up_to_the_cap_and_the_last_one_dead_letters_the_task() {
    queue_test(|t0| {
        let config = Config {
            max_attempts: 5,
            backoff_base: ms(100),
            backoff_max: ms(300),
            ..CONFIG
        };
        let mut queue = TaskQueue::new(config);
        queue.submit("p", "poison", t0);
        let mut now = t0;
        let mut waits = Vec::new();
        let mut last = None;
        for attempt in 1..=5 {
            let lease = queue.lease(now).unwrap_or_else(|| {
                panic!(
                    "attempt {attempt} should be ready at t={}",
                    fmt_duration(now - t0)
                )
            });
            assert_eq!(lease.attempt, attempt, "attempts are numbered from 1");
            let done = now + ms(10);
            match queue.complete(lease.id, Err(format!("error {attempt}")), done) {
                Completion::Retrying(at) => {
                    waits.push(at - done);
                    now = at;
                }
                other => last = Some(other),
            }
        }
        assert_eq!(
            last,
            Some(Completion::DeadLettered),
            "the fifth failed attempt of five is the last: the task is dead-lettered"
        );
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(300), ms(300)],
            "the waits after failed attempts 1–4: backoff_base (100ms), doubling, at most \
             backoff_max (300ms)"
        );
        assert_seen_eq!(
            queue.outcome("p"),
            Some(&Outcome::Dead("error 5".into())),
            "a dead task's outcome is the last attempt's error"
        );
        assert_seen_eq!(
            queue.dead_letters(),
            [DeadLetter {
                key: "p".into(),
                payload: "poison".into(),
                attempts: 5,
                last_error: "error 5".into(),
            }],
            "the dead letter records the key, the payload, the attempts and the last error"
        );
        assert_eq!(
            queue.lease(now + secs(10)),
            None,
            "a dead task is never leased again"
        );

        // Dead letters in the order they died; max_attempts 0 counts as 1.
        let config = Config {
            max_attempts: 0,
            ..CONFIG
        };
        let mut queue = TaskQueue::new(config);
        for key in ["x", "y"] {
            queue.submit(key, key, t0);
        }
        let x = queue.lease(t0).expect("x is ready");
        let y = queue.lease(t0).expect("y is ready");
        assert_eq!(
            queue.complete(y.id, Err("y failed".into()), t0 + ms(1)),
            Completion::DeadLettered,
            "max_attempts 0 counts as 1: the first failed attempt is the last"
        );
        queue.complete(x.id, Err("x failed".into()), t0 + ms(2));
        let dead: Vec<&str> = queue
            .dead_letters()
            .iter()
            .map(|d| d.key.as_str())
            .collect();
        assert_eq!(
            dead,
            ["y", "x"],
            "dead letters are listed in the order the tasks died"
        );
    });
}

/// contract: "The lease is not current (unknown, run out, or its task already finished): nothing changed."
/// contract: "A report under a lease that is not current is [`Completion::Stale`] and changes nothing."
/// contract: "Outcomes are *exactly once*: only the current lease may report"
#[test]
fn a_report_under_a_lease_that_is_not_current_changes_nothing() {
    queue_test(|t0| {
        let mut queue = TaskQueue::new(CONFIG);
        queue.submit("k", "p", t0);
        let first = queue.lease(t0).expect("k is ready");
        // The first lease runs out at 1s; the task is ready again at 1.2s and leased again.
        let second = queue
            .lease(t0 + ms(1200))
            .expect("k is ready again at 1.2s");
        assert_ne!(second.id, first.id, "a new lease gets a new id");
        assert_eq!(
            queue.heartbeat(first.id, t0 + ms(1300)),
            None,
            "a heartbeat for a superseded lease is refused"
        );
        assert_eq!(
            queue.complete(first.id, Ok("from the first worker".into()), t0 + ms(1400)),
            Completion::Stale,
            "the first worker's late success is stale: its lease ran out and the task was leased \
             again (only the current lease may report, or the task would have two outcomes)"
        );
        assert_eq!(queue.outcome("k"), None, "a stale report records nothing");
        assert_eq!(
            queue.complete(99, Ok("?".into()), t0 + ms(1400)),
            Completion::Stale,
            "an unknown lease is stale"
        );
        assert_eq!(
            queue.complete(
                second.id,
                Ok("from the second worker".into()),
                t0 + ms(1500)
            ),
            Completion::Recorded,
            "the current lease's report is recorded"
        );
        assert_eq!(
            queue.complete(second.id, Err("late failure".into()), t0 + ms(1600)),
            Completion::Stale,
            "after the outcome, even the lease that recorded it is stale"
        );
        assert_seen_eq!(
            queue.outcome("k"),
            Some(&Outcome::Done("from the second worker".into())),
            "the outcome is the current lease's, once"
        );
    });
}

/// contract: "How many tasks may wait to be leased (ready or backing off) before submissions are refused."
/// contract: "`max_pending` tasks are already waiting: nothing was queued and the key is not remembered"
/// contract: "a new key when `max_pending` tasks wait is [`Submitted::Busy`]"
#[test]
fn submissions_are_refused_with_busy_once_max_pending_tasks_wait() {
    queue_test(|t0| {
        let config = Config {
            max_pending: 2,
            ..CONFIG
        };
        let mut queue = TaskQueue::new(config);
        assert_eq!(
            queue.submit("a", "a", t0),
            Submitted::Accepted,
            "1 of 2 pending"
        );
        assert_eq!(
            queue.submit("b", "b", t0),
            Submitted::Accepted,
            "2 of 2 pending"
        );
        assert_eq!(
            queue.submit("c", "c", t0),
            Submitted::Busy,
            "with max_pending (2) tasks waiting, a new key is refused"
        );
        assert_eq!(
            queue.submit("a", "a", t0),
            Submitted::Duplicate,
            "a known key is a duplicate even when the queue is full"
        );
        let a = queue.lease(t0).expect("a is ready");
        assert_eq!(
            queue.submit("c", "c", t0 + ms(1)),
            Submitted::Accepted,
            "a leased task no longer counts as pending; a key refused as busy was not remembered \
             and is accepted now"
        );
        assert_eq!(queue.pending(), 2, "b and c wait");
        assert_eq!(
            queue.complete(a.id, Err("no".into()), t0 + ms(2)),
            Completion::Retrying(t0 + ms(202)),
            "a retries after 200ms"
        );
        assert_eq!(queue.pending(), 3, "a task backing off waits too");
        queue.lease(t0 + ms(3));
        assert_eq!(
            queue.submit("d", "d", t0 + ms(3)),
            Submitted::Busy,
            "a task backing off counts as pending: 2 wait (a backing off, c ready), d is refused"
        );
    });
}

/// contract: "as a failed attempt with the error `"lease expired"`, backing off from the instant it ran out."
/// contract: "Returns the keys of those tasks, the earliest expiry first."
/// contract: "Every other method does this first."
#[test]
fn an_expired_lease_fails_its_attempt_as_lease_expired_earliest_expiry_first_whichever_call_notices()
 {
    queue_test(|t0| {
        let mut queue = TaskQueue::new(CONFIG);
        queue.submit("k1", "p1", t0);
        queue.submit("k2", "p2", t0);
        let first = queue.lease(t0).expect("k1 is ready at t0");
        assert_eq!(
            queue.heartbeat(first.id, t0 + ms(500)),
            Some(t0 + ms(1500)),
            "a heartbeat at 500ms renews k1's lease to 1500ms"
        );
        let second = queue.lease(t0 + ms(100)).expect("k2 is ready");
        assert_eq!(
            second.key, "k2",
            "the second lease is k2's (it runs out at 1100ms)"
        );
        assert_eq!(
            queue.expire(t0 + secs(2)),
            vec!["k2".to_owned(), "k1".to_owned()],
            "expire returns the keys of the leases that ran out, the earliest expiry first: k2 \
             (1100ms) before k1 (1500ms), whatever order they were submitted or leased in"
        );

        // One attempt only: a lease that runs out dead-letters its task, with the error
        // "lease expired" — noticed by whichever call comes first after the expiry.
        let mut queue = TaskQueue::new(Config {
            max_attempts: 1,
            ..CONFIG
        });
        queue.submit("k", "p", t0);
        queue.lease(t0).expect("k is ready at t0");
        assert_eq!(
            queue.submit("other", "q", t0 + secs(1)),
            Submitted::Accepted,
            "a new key is accepted"
        );
        let dead: Vec<(String, u32, String)> = queue
            .dead_letters()
            .iter()
            .map(|d| (d.key.clone(), d.attempts, d.last_error.clone()))
            .collect();
        assert_eq!(
            dead,
            vec![("k".to_owned(), 1, "lease expired".to_owned())],
            "k's lease ran out at exactly 1s; the submit at 1s must first end it as a failed \
             attempt with the error \"lease expired\" (every method expires what has run out \
             before doing its own work), and with one attempt allowed k is dead-lettered"
        );
    });
}

/// contract: "The next instant after `now` at which something happens by itself"
/// contract: "`None` when nothing is due after `now`."
#[test]
fn next_wakeup_is_the_earliest_expiry_or_retry_after_now() {
    queue_test(|t0| {
        let mut queue = TaskQueue::new(CONFIG);
        assert_eq!(
            queue.next_wakeup(t0),
            None,
            "an empty queue has nothing due"
        );
        queue.submit("a", "a", t0);
        queue.submit("b", "b", t0);
        assert_eq!(
            queue.next_wakeup(t0),
            None,
            "tasks ready now are not due after now: nothing happens by itself"
        );
        let a = queue.lease(t0).expect("a is ready");
        assert_eq!(
            queue.next_wakeup(t0),
            Some(t0 + secs(1)),
            "a's lease runs out at 1s"
        );
        let b = queue.lease(t0 + ms(100)).expect("b is ready");
        queue.complete(b.id, Err("no".into()), t0 + ms(500));
        assert_eq!(
            queue.next_wakeup(t0 + ms(500)),
            Some(t0 + ms(700)),
            "b is ready again at 700ms, before a's lease runs out at 1s"
        );
        queue.complete(a.id, Ok("ok".into()), t0 + ms(600));
        assert_eq!(
            queue.next_wakeup(t0 + ms(700)),
            None,
            "b became ready at 700ms; a finished: nothing is due after 700ms"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// The whole system on turmoil's simulated network
// ---------------------------------------------------------------------------------------------

/// The workers' settings in every simulation: a heartbeat every 300ms keeps a 1s lease alive.
const WORKER: WorkerConfig = WorkerConfig {
    heartbeat_interval: ms(300),
    reconnect_delay: ms(100),
};
/// How long a submitter waits before it connects and submits again.
const RETRY: Duration = ms(250);
const COORDINATOR: &str = "coordinator:7411";

/// turmoil's listener and stream behind the exercise's two traits.
struct SimListener(turmoil::net::TcpListener);

impl Listener for SimListener {
    type Stream = turmoil::net::TcpStream;

    async fn accept(&mut self) -> io::Result<Self::Stream> {
        Ok(self.0.accept().await?.0)
    }
}

#[derive(Clone)]
struct SimConnector;

impl Connector for SimConnector {
    type Stream = turmoil::net::TcpStream;

    async fn connect(&self) -> io::Result<Self::Stream> {
        turmoil::net::TcpStream::connect(COORDINATOR).await
    }
}

/// What happened, in simulated time: a worker started or ended a task, a submitter got an
/// outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    at: Duration,
    host: String,
    what: String,
    key: String,
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Event>>>);

impl Log {
    fn record(&self, host: &str, what: &str, key: &str) {
        self.record_at(turmoil::sim_elapsed().unwrap_or_default(), host, what, key);
    }

    /// An event of the test itself (a crash, a partition), at the simulation's time.
    fn record_at(&self, at: Duration, host: &str, what: &str, key: &str) {
        let event = Event {
            at,
            host: host.into(),
            what: what.into(),
            key: key.into(),
        };
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }

    fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn count(&self, what: &str, key: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| e.what == what && e.key == key)
            .count()
    }

    fn find(&self, what: &str, key: &str) -> Vec<Event> {
        let events = self.events();
        events
            .into_iter()
            .filter(|e| e.what == what && e.key == key)
            .collect()
    }

    /// The timeline, for failure messages.
    fn show(&self) -> String {
        self.events()
            .iter()
            .map(|e| {
                format!(
                    "  {:>8} {:<12} {:<8} {}",
                    fmt_duration(e.at),
                    e.host,
                    e.what,
                    e.key
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A payload is `<key> <milliseconds of work>`, or `<key> fail`. The output names the worker.
fn handler(
    log: Log,
    host: &'static str,
) -> impl Fn(String) -> std::pin::Pin<Box<dyn Future<Output = Result<String, String>>>> {
    move |payload: String| {
        let log = log.clone();
        Box::pin(async move {
            let (key, work) = payload.split_once(' ').unwrap_or((&payload, "0"));
            log.record(host, "start", key);
            if work == "fail" {
                tokio::time::sleep(ms(50)).await;
                log.record(host, "fail", key);
                return Err(format!("{key} failed on {host}"));
            }
            tokio::time::sleep(ms(work.parse().unwrap_or(0))).await;
            log.record(host, "end", key);
            Ok(format!("{key} by {host}"))
        })
    }
}

/// A simulation with a fixed message latency (or a seeded random one between `min` and `max`).
fn simulation(seed: u64, min: Duration, max: Duration) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .simulation_duration(secs(20))
        .min_message_latency(min)
        .max_message_latency(max)
        .rng_seed(seed)
        .build()
}

fn add_coordinator(sim: &mut turmoil::Sim<'static>, config: Config) {
    sim.host("coordinator", move || async move {
        let listener = turmoil::net::TcpListener::bind("0.0.0.0:7411").await?;
        serve(SimListener(listener), config).await?;
        Ok(())
    });
}

fn add_worker(sim: &mut turmoil::Sim<'static>, host: &'static str, log: &Log) {
    let log = log.clone();
    sim.host(host, move || {
        let log = log.clone();
        async move {
            run_worker(SimConnector, WORKER, handler(log, host)).await;
            Ok(())
        }
    });
}

/// A submitter host that submits `(key, payload)`s at the given instants, all at once, and logs
/// each outcome (`done <output>`, `dead <error>` or `busy`).
fn add_submitter(
    sim: &mut turmoil::Sim<'static>,
    host: &'static str,
    log: &Log,
    tasks: &[(Duration, &str, &str)],
) {
    let log = log.clone();
    let tasks: Vec<(Duration, String, String)> = tasks
        .iter()
        .map(|(at, key, payload)| (*at, key.to_string(), payload.to_string()))
        .collect();
    sim.client(host, async move {
        let mut running = tokio::task::JoinSet::new();
        for (at, key, payload) in tasks {
            let log = log.clone();
            running.spawn_local(async move {
                tokio::time::sleep(at).await;
                let answer = submit(&SimConnector, &key, &payload, RETRY).await;
                let what = match answer {
                    Ok(Outcome::Done(output)) => format!("done {output}"),
                    Ok(Outcome::Dead(error)) => format!("dead {error}"),
                    Err(Busy) => "busy".to_owned(),
                };
                log.record(host, &what, &key);
            });
        }
        while let Some(joined) = running.join_next().await {
            joined?;
        }
        Ok(())
    });
}

/// Runs a simulation to its end (every submitter finished) or to its time limit. The test
/// checks the rules on what happened first, then [`completed`]: a rule broken on the way explains
/// more than "never finished".
fn run_to_end(sim: &mut turmoil::Sim<'static>) -> Result<(), String> {
    sim.run().map_err(|e| e.to_string())
}

/// Fails when the simulation did not complete.
fn completed(run: Result<(), String>, log: &Log, what: &str) {
    if let Err(e) = run {
        panic!(
            "{what}: the simulation did not complete ({e}); a submitter never got its outcome.\n\
             What happened:\n{}",
            log.show()
        );
    }
}

/// Steps the simulation until `until` of simulated time has passed.
fn step_until(sim: &mut turmoil::Sim<'static>, until: Duration, log: &Log) {
    while sim.elapsed() < until {
        if let Err(e) = sim.step() {
            panic!(
                "the simulation failed ({e}).\nWhat happened:\n{}",
                log.show()
            );
        }
    }
}

/// The outcome each submitter got, by key (`done …`, `dead …`, `busy`), every one of them.
fn outcomes(log: &Log) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in log.events() {
        if e.what.starts_with("done") || e.what.starts_with("dead") || e.what == "busy" {
            map.entry(e.key.clone()).or_default().push(e.what.clone());
        }
    }
    map
}

fn sim_test(body: impl FnOnce() + Send + 'static) {
    testkit::sim::run(secs(20), body);
}

/// A listener whose first `accept` fails; any later one waits for ever.
struct FailingListener(bool);

impl Listener for FailingListener {
    type Stream = tokio::io::DuplexStream;

    async fn accept(&mut self) -> io::Result<Self::Stream> {
        if std::mem::replace(&mut self.0, true) {
            std::future::pending::<()>().await;
        }
        Err(io::Error::other("the test's listener broke"))
    }
}

/// contract: "until accepting fails (that error is returned)"
#[test]
fn serve_returns_the_error_when_accepting_fails() {
    testkit::run(|| async {
        let served = tokio::time::timeout(secs(10), serve(FailingListener(false), CONFIG)).await;
        let Ok(result) = served else {
            panic!(
                "serve must return as soon as accepting fails, with that error; it was still \
                 running 10s later (does it go on accepting after an error?)"
            );
        };
        let error = result.expect_err("serve must return accept's error, not Ok");
        assert_eq!(
            error.to_string(),
            "the test's listener broke",
            "serve returns the error accept gave, unchanged"
        );
    });
}

/// contract: "Submits `payload` under the idempotency key `key` and waits for the task's outcome."
/// contract: "Runs a coordinator with these rules on connections from `listener`"
/// contract: "Each connection speaks the protocol of [`crate::protocol`]."
/// contract: "A submitter sends `SUBMIT`; the coordinator answers `BUSY` when the queue refuses it, otherwise `ACCEPTED`"
/// contract: "A worker sends `READY` and gets `TASK` once a task can be leased"
/// contract: "Runs a worker for ever: connects to the coordinator, sends `READY`"
/// contract: "One task at a time: run several workers for more."
#[test]
fn tasks_submitted_over_the_network_run_on_the_workers_and_each_outcome_comes_back_once() {
    sim_test(|| {
        let log = Log::default();
        let mut sim = simulation(1, ms(10), ms(10));
        add_coordinator(&mut sim, CONFIG);
        for host in ["worker1", "worker2", "worker3"] {
            add_worker(&mut sim, host, &log);
        }
        let keys = ["t1", "t2", "t3", "t4", "t5", "t6"];
        let tasks: Vec<(Duration, &str, String)> = keys
            .iter()
            .map(|k| (ms(100), *k, format!("{k} 1000")))
            .collect();
        let tasks: Vec<(Duration, &str, &str)> = tasks
            .iter()
            .map(|(at, k, p)| (*at, *k, p.as_str()))
            .collect();
        add_submitter(&mut sim, "submitter", &log, &tasks);
        let run = run_to_end(&mut sim);

        for key in keys {
            assert_eq!(
                log.count("start", key),
                1,
                "without failures each task runs exactly once ({key}); what happened:\n{}",
                log.show()
            );
            let got = outcomes(&log).remove(key).unwrap_or_default();
            let ended = log.find("end", key);
            let expected = format!("done {key} by {}", ended.first().map_or("?", |e| &e.host));
            assert_eq!(
                got,
                [expected],
                "the submitter gets the task's output once ({key}); what happened:\n{}",
                log.show()
            );
        }
        let mut per_worker: BTreeMap<String, usize> = BTreeMap::new();
        for e in log.events().iter().filter(|e| e.what == "start") {
            *per_worker.entry(e.host.clone()).or_default() += 1;
        }
        assert_eq!(
            per_worker.values().copied().collect::<Vec<_>>(),
            [2, 2, 2],
            "three idle workers share six tasks, two each (a worker runs one task at a time and \
             asks for the next when it is done); what happened:\n{}",
            log.show()
        );
        let last = log.events().iter().map(|e| e.at).max().unwrap_or_default();
        assert!(
            last < ms(2400),
            "six tasks of 1s on three workers take two rounds: everything done by about 2.1s, \
             not at {}; what happened:\n{}",
            fmt_duration(last),
            log.show()
        );
        completed(run, &log, "six tasks of 1s on three workers");
    });
}

/// In-memory connections handed to `serve`: the test opens each one and plays its peer.
struct Pipes(tokio::sync::mpsc::UnboundedReceiver<tokio::io::DuplexStream>);

impl Listener for Pipes {
    type Stream = tokio::io::DuplexStream;

    async fn accept(&mut self) -> io::Result<Self::Stream> {
        // The test closes the listener at its end: accepting fails and `serve` returns.
        self.0
            .recv()
            .await
            .ok_or_else(|| io::Error::other("the test closed the listener"))
    }
}

/// Opens a connection to the coordinator behind `pipes` and returns the test's end of it.
fn open(
    pipes: &tokio::sync::mpsc::UnboundedSender<tokio::io::DuplexStream>,
) -> protocol::Connection<tokio::io::DuplexStream> {
    let (coordinator_end, test_end) = tokio::io::duplex(4096);
    if pipes.send(coordinator_end).is_err() {
        // `serve` ended: its panic (a `todo!()`) is what the test reports.
        testkit::servers::reraise();
        panic!("serve returned while the test still had connections to open");
    }
    protocol::Connection::new(test_end)
}

/// The next message on `conn` as text, `None` when it closed or nothing came within `within`.
async fn next_message(
    conn: &mut protocol::Connection<tokio::io::DuplexStream>,
    within: Duration,
) -> Option<String> {
    let message = tokio::time::timeout(within, conn.receive()).await;
    testkit::servers::reraise();
    match message {
        Ok(Ok(Some(message))) => Some(message.to_string()),
        Ok(Ok(None)) | Err(_) => None,
        Ok(Err(e)) => panic!("the coordinator sent something that is not a message: {e}"),
    }
}

/// contract: "the coordinator stops waiting if the worker hangs up first"
#[test]
fn tasks_submitted_over_the_network_are_not_leased_to_a_worker_that_hung_up() {
    testkit::run(|| async {
        let (pipes, listener) = tokio::sync::mpsc::unbounded_channel();
        let coordinator = testkit::servers::spawn_watched(serve(Pipes(listener), CONFIG));
        // A worker asks for a task while there is none, then hangs up (it crashed, or was stopped).
        let mut gone = open(&pipes);
        gone.send(&protocol::Message::Ready)
            .await
            .expect("the coordinator reads READY");
        tokio::time::sleep(ms(10)).await;
        drop(gone);
        tokio::time::sleep(ms(10)).await;
        // Only now a task arrives, then a live worker asks for one.
        let mut submitter = open(&pipes);
        let submit = protocol::Message::Submit {
            key: "k".into(),
            payload: "job".into(),
        };
        submitter
            .send(&submit)
            .await
            .expect("the coordinator reads SUBMIT");
        let accepted = next_message(&mut submitter, ms(100)).await;
        assert_eq!(
            accepted.as_deref(),
            Some("ACCEPTED k"),
            "a submission to an empty queue is accepted at once"
        );
        let mut worker = open(&pipes);
        worker
            .send(&protocol::Message::Ready)
            .await
            .expect("the coordinator reads READY");
        let task = next_message(&mut worker, ms(100)).await;
        assert_eq!(
            task.as_deref(),
            Some("TASK 1 1 k job"),
            "the coordinator stops waiting for a lease when the worker that sent READY hangs up \
             first: the task must not be leased to that closed connection (it would sit there \
             until its lease ran out), so the live worker that asks next gets it at once, on its \
             first attempt"
        );
        // Every connection hangs up and the listener closes: the coordinator's tasks all end.
        drop((submitter, worker, pipes));
        let ended = tokio::time::timeout(ms(100), coordinator).await;
        assert!(
            matches!(ended, Ok(Ok(Some(Err(_))))),
            "serve returns the error once accepting fails, not {ended:?}"
        );
        tokio::time::sleep(ms(10)).await;
    });
}

/// contract: "While a task runs, a `BEAT` for its lease goes out every `heartbeat_interval`"
#[test]
fn a_task_longer_than_its_lease_is_kept_alive_by_heartbeats_and_runs_once() {
    sim_test(|| {
        let log = Log::default();
        let mut sim = simulation(2, ms(10), ms(10));
        add_coordinator(&mut sim, CONFIG);
        add_worker(&mut sim, "worker1", &log);
        add_worker(&mut sim, "worker2", &log);
        add_submitter(&mut sim, "submitter", &log, &[(ms(0), "long", "long 5000")]);
        let run = run_to_end(&mut sim);
        assert_eq!(
            log.count("start", "long"),
            1,
            "a task of 5s under a 1s lease, with a heartbeat every 300ms, runs once: the worker's \
             heartbeats must renew the lease while the task runs; what happened:\n{}",
            log.show()
        );
        let got = outcomes(&log).remove("long").unwrap_or_default();
        assert_eq!(
            got.len(),
            1,
            "one outcome for the submitter; what happened:\n{}",
            log.show()
        );
        completed(run, &log, "a 5s task under a 1s lease");
    });
}

/// A worker's connections, scripted: each `connect` takes the next entry (a refusal or one end
/// of an in-memory pipe) and is recorded on the timeline; once the script is used up, every
/// `connect` is refused.
#[derive(Clone)]
struct Scripted {
    script: Arc<Mutex<std::collections::VecDeque<Option<tokio::io::DuplexStream>>>>,
    seen: testkit::Timeline,
}

impl Connector for Scripted {
    type Stream = tokio::io::DuplexStream;

    async fn connect(&self) -> io::Result<Self::Stream> {
        let next = self
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        match next.flatten() {
            Some(stream) => {
                self.seen.record("connect");
                Ok(stream)
            }
            None => {
                self.seen.record("connect (refused)");
                Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "refused by the test",
                ))
            }
        }
    }
}

/// contract: "the first one `heartbeat_interval` after the task arrived"
/// contract: "While a task runs, a `BEAT` for its lease goes out every `heartbeat_interval`"
#[test]
fn a_task_longer_than_its_lease_gets_its_first_heartbeat_one_interval_after_it_arrived() {
    testkit::run(|| async {
        let (worker_end, test_end) = tokio::io::duplex(4096);
        let seen = testkit::Timeline::new();
        let connector = Scripted {
            script: Arc::new(Mutex::new([Some(worker_end)].into())),
            seen: seen.clone(),
        };
        // The task takes 1s: heartbeats are due 300, 600 and 900ms after it arrived.
        let work = |payload: String| async move {
            tokio::time::sleep(secs(1)).await;
            Ok::<String, String>(format!("{payload} done"))
        };
        // Watched: a panic in the worker (a `todo!()`) is what the test reports, not the closed
        // connection it leaves behind.
        let worker = testkit::servers::spawn_watched(run_worker(connector, WORKER, work));
        let mut coordinator = protocol::Connection::new(test_end);
        let mut task_sent = false;
        loop {
            let message = coordinator.receive().await;
            testkit::servers::reraise();
            let message = match message {
                Ok(Some(message)) => message,
                Ok(None) => panic!("the worker closed its connection while its task ran"),
                Err(e) => panic!("the worker sent something that is not a message: {e}"),
            };
            seen.record(message.to_string());
            if matches!(message, protocol::Message::Ok { .. }) {
                break;
            }
            if matches!(message, protocol::Message::Ready) && !task_sent {
                // The task arrives 100ms after the worker asked: the heartbeats count from here.
                tokio::time::sleep(ms(100)).await;
                let task = protocol::Message::Task {
                    lease: 7,
                    attempt: 1,
                    key: "k".into(),
                    payload: "job".into(),
                };
                coordinator
                    .send(&task)
                    .await
                    .expect("the worker reads its task");
                task_sent = true;
            }
        }
        worker.abort();
        seen.assert_eq(
            &[
                (0, "connect"),
                (0, "READY"),
                (400, "BEAT 7"),
                (700, "BEAT 7"),
                (1000, "BEAT 7"),
                (1100, "OK 7 job done"),
            ],
            "the task arrived at 100ms and ran 1s: a BEAT every heartbeat_interval (300ms), the \
             first one heartbeat_interval after the task arrived (not at once, not counted from \
             the connection), then OK when it finished",
        );
    });
}

/// contract: "After a connection fails or ends, or cannot be opened, the worker waits this long before connecting again."
/// contract: "When the connection fails or ends (the coordinator restarted, the network broke)"
#[test]
fn a_worker_cut_off_from_the_coordinator_connects_again_after_reconnect_delay() {
    testkit::run(|| async {
        use tokio::io::AsyncWriteExt;
        let (a_worker, a_test) = tokio::io::duplex(1024);
        let (b_worker, mut b_test) = tokio::io::duplex(1024);
        let seen = testkit::Timeline::new();
        let connector = Scripted {
            script: Arc::new(Mutex::new([None, Some(a_worker), Some(b_worker)].into())),
            seen: seen.clone(),
        };
        let work = |payload: String| async move { Ok::<String, String>(payload) };
        let worker = testkit::servers::spawn_watched(run_worker(connector, WORKER, work));
        // t=0: refused. t=100: connection A, which the coordinator closes at t=150.
        tokio::time::sleep(ms(150)).await;
        testkit::servers::reraise();
        drop(a_test);
        // t=250: connection B, on which the coordinator sends a line that is no message at t=300.
        tokio::time::sleep(ms(150)).await;
        testkit::servers::reraise();
        // If the worker dropped connection B already, its timeline below says when.
        let _ = b_test.write_all(b"NOT A MESSAGE\n").await;
        // t=400: refused again (the script is used up). Stop before the next attempt at t=500.
        tokio::time::sleep(ms(150)).await;
        testkit::servers::reraise();
        worker.abort();
        seen.assert_eq(
            &[
                (0, "connect (refused)"),
                (100, "connect"),
                (250, "connect"),
                (400, "connect (refused)"),
            ],
            "the worker waits reconnect_delay (100ms) after a connection that could not be opened \
             (t=0), one that ended (closed at 150ms) and one that failed (a bad line at 300ms), \
             each time counted from that moment, before it connects again",
        );
    });
}

/// contract: "Leases run out on their own, at the instant they expire, whether or not any connection is active."
/// contract: "Execution is *at least once*: a task whose lease runs out is run again"
#[test]
fn a_worker_that_crashes_mid_task_loses_its_lease_and_another_worker_runs_the_task() {
    sim_test(|| {
        let log = Log::default();
        let mut sim = simulation(3, ms(10), ms(10));
        add_coordinator(&mut sim, CONFIG);
        add_worker(&mut sim, "worker1", &log);
        add_worker(&mut sim, "worker2", &log);
        add_submitter(&mut sim, "submitter", &log, &[(ms(0), "job", "job 2000")]);
        step_until(&mut sim, ms(1000), &log);
        let started = log.find("start", "job");
        let [first] = started.as_slice() else {
            panic!(
                "by 1s the task should have started once; what happened:\n{}",
                log.show()
            );
        };
        let crashed = first.host.clone();
        sim.crash(crashed.as_str());
        log.record_at(sim.elapsed(), "test", "crash", &crashed);
        let run = run_to_end(&mut sim);

        let starts = log.find("start", "job");
        assert_eq!(
            starts.len(),
            2,
            "the crashed worker's lease runs out (no heartbeat for 1s) and the task is leased \
             again, to the other worker: two starts in all; what happened:\n{}",
            log.show()
        );
        let second = &starts[1];
        assert!(
            second.host != crashed && second.at > ms(1900) && second.at < ms(2300),
            "the second attempt starts on the other worker after the crashed worker's lease ran out \
             (its last heartbeat at about 0.9s + 1s lease + 200ms backoff ≈ 2.1s), not at {} on {}; \
             what happened:\n{}",
            fmt_duration(second.at),
            second.host,
            log.show()
        );
        let got = outcomes(&log).remove("job").unwrap_or_default();
        assert_eq!(
            got,
            [format!("done job by {}", second.host)],
            "the submitter gets the outcome of the attempt that finished, once; what happened:\n{}",
            log.show()
        );
        completed(run, &log, "a worker crashed in the middle of the task");
    });
}

/// contract: "Outcomes are *exactly once*: only the current lease may report, so each task gets one outcome, which never changes."
#[test]
fn a_worker_cut_off_by_the_network_reports_too_late_and_only_the_current_lease_counts() {
    sim_test(|| {
        let log = Log::default();
        let mut sim = simulation(4, ms(10), ms(10));
        add_coordinator(&mut sim, CONFIG);
        add_worker(&mut sim, "worker1", &log);
        add_worker(&mut sim, "worker2", &log);
        add_submitter(&mut sim, "submitter", &log, &[(ms(0), "job", "job 2000")]);
        step_until(&mut sim, ms(500), &log);
        let started = log.find("start", "job");
        let [first] = started.as_slice() else {
            panic!(
                "by 0.5s the task should have started once; what happened:\n{}",
                log.show()
            );
        };
        let cut = first.host.clone();
        // Every message between the worker and the coordinator is held: heartbeats, then its
        // success at about 2s. They arrive, late, when the link is released at 2.5s.
        sim.hold(cut.as_str(), "coordinator");
        log.record_at(sim.elapsed(), "test", "hold", &cut);
        step_until(&mut sim, ms(2500), &log);
        sim.release(cut.as_str(), "coordinator");
        log.record_at(sim.elapsed(), "test", "release", &cut);
        let run = run_to_end(&mut sim);

        let starts = log.find("start", "job");
        assert_eq!(
            starts.len(),
            2,
            "the cut-off worker's lease runs out and the task runs again elsewhere (at least once: \
             two starts); what happened:\n{}",
            log.show()
        );
        let other = &starts[1].host;
        let got = outcomes(&log).remove("job").unwrap_or_default();
        assert_eq!(
            got,
            [format!("done job by {other}")],
            "the cut-off worker's success arrives after its lease ran out and the task was leased \
             again: it is stale and must be ignored. The outcome is the current lease's ({other}), \
             delivered once; what happened:\n{}",
            log.show()
        );
        completed(run, &log, "a worker cut off from the coordinator for 2s");
    });
}

/// contract: "If the connection cannot be opened, fails or ends before the outcome arrives, it connects again after `retry_delay` and submits again *with the same key*"
/// contract: "When the connection fails or ends (the coordinator restarted, the network broke), the task in progress is abandoned"
#[test]
fn a_coordinator_that_restarts_while_a_submitter_waits_still_gives_it_one_outcome() {
    sim_test(|| {
        let log = Log::default();
        let mut sim = simulation(5, ms(10), ms(10));
        add_coordinator(&mut sim, CONFIG);
        add_worker(&mut sim, "worker1", &log);
        add_submitter(&mut sim, "submitter", &log, &[(ms(0), "job", "job 1000")]);
        step_until(&mut sim, ms(500), &log);
        // The worst moment: the task was accepted and runs; the coordinator's memory is lost.
        sim.bounce("coordinator");
        log.record_at(sim.elapsed(), "test", "restart", "coordinator");
        let run = run_to_end(&mut sim);
        let got = outcomes(&log).remove("job").unwrap_or_default();
        assert_eq!(
            got.len(),
            1,
            "after the restart the submitter must connect again and submit again with the same key \
             (the new coordinator knows nothing), and get one outcome; what happened:\n{}",
            log.show()
        );
        assert!(
            got[0].starts_with("done job by worker1"),
            "the task is run again after the restart and its output delivered, not {:?}; what \
             happened:\n{}",
            got[0],
            log.show()
        );
        completed(run, &log, "the coordinator restarted while the task ran");
    });
}

/// contract: "submits again *with the same key*: the coordinator runs the task once however many times it was submitted"
#[test]
fn a_coordinator_that_restarts_or_drops_the_connection_is_sent_the_same_key_again() {
    testkit::run(|| async {
        let (first, first_coordinator) = tokio::io::duplex(4096);
        let (second, second_coordinator) = tokio::io::duplex(4096);
        let seen = testkit::Timeline::new();
        let connector = Scripted {
            script: Arc::new(Mutex::new([Some(first), Some(second)].into())),
            seen: seen.clone(),
        };
        let submitter = testkit::servers::spawn_watched(async move {
            submit(&connector, "job", "payload", RETRY).await
        });
        // The test plays the coordinator: the first connection is accepted, then lost.
        let mut coordinator = protocol::Connection::new(first_coordinator);
        let message = receive_from_submitter(&mut coordinator).await;
        seen.record(message);
        let accepted = protocol::Message::Accepted { key: "job".into() };
        coordinator
            .send(&accepted)
            .await
            .expect("the submitter reads ACCEPTED");
        drop(coordinator);
        // The second connection gets the outcome.
        let mut coordinator = protocol::Connection::new(second_coordinator);
        let message = receive_from_submitter(&mut coordinator).await;
        seen.record(message);
        let done = protocol::Message::Done {
            key: "job".into(),
            output: "out".into(),
        };
        coordinator
            .send(&done)
            .await
            .expect("the submitter reads DONE");
        let outcome = submitter
            .await
            .expect("the submitter's task was not cancelled");
        testkit::servers::reraise();
        seen.assert_eq(
            &[
                (0, "connect"),
                (0, "SUBMIT job payload"),
                (250, "connect"),
                (250, "SUBMIT job payload"),
            ],
            "after the connection is lost the submitter connects again after retry_delay (250ms) \
             and submits again with the same key: the coordinator runs a key once however many \
             times it was submitted, while a new key would be a new task, run again",
        );
        assert!(
            matches!(&outcome, Some(Ok(Outcome::Done(output))) if output == "out"),
            "the submitter returns the outcome the second connection brought, not {outcome:?}"
        );
    });
}

/// The submitter's next message as text; a closed connection or garbage fails the test.
async fn receive_from_submitter(
    conn: &mut protocol::Connection<tokio::io::DuplexStream>,
) -> String {
    let message = conn.receive().await;
    testkit::servers::reraise();
    match message {
        Ok(Some(message)) => message.to_string(),
        Ok(None) => panic!("the submitter closed its connection before it submitted"),
        Err(e) => panic!("the submitter sent something that is not a message: {e}"),
    }
}

/// contract: "once the task has an outcome, `DONE` or `DEAD`"
#[test]
fn a_failing_task_is_retried_with_backoff_and_dead_lettered_after_max_attempts() {
    sim_test(|| {
        let log = Log::default();
        let mut sim = simulation(6, ms(10), ms(10));
        add_coordinator(&mut sim, CONFIG);
        add_worker(&mut sim, "worker1", &log);
        add_submitter(&mut sim, "submitter", &log, &[(ms(0), "bad", "bad fail")]);
        let run = run_to_end(&mut sim);
        let fails = log.find("fail", "bad");
        let starts = log.find("start", "bad");
        assert_eq!(
            starts.len(),
            3,
            "a task that fails every time runs max_attempts (3) times; what happened:\n{}",
            log.show()
        );
        let gaps: Vec<Duration> = fails
            .iter()
            .zip(&starts[1..])
            .map(|(f, s)| s.at - f.at)
            .collect();
        let backoff_respected = gaps.len() == 2 && gaps[0] >= ms(200) && gaps[1] >= ms(400);
        assert!(
            backoff_respected && gaps.iter().all(|g| *g < ms(600)),
            "the next attempt starts after the backoff: 200ms after the first failure, 400ms \
             after the second (plus the network's few ms), not {:?}; what happened:\n{}",
            gaps.iter().map(|g| fmt_duration(*g)).collect::<Vec<_>>(),
            log.show()
        );
        let got = outcomes(&log).remove("bad").unwrap_or_default();
        assert_eq!(
            got,
            ["dead bad failed on worker1"],
            "the submitter gets DEAD with the last attempt's error, once; what happened:\n{}",
            log.show()
        );
        completed(run, &log, "a task that always fails");
    });
}

/// contract: "The coordinator refused the submission: too many tasks wait."
/// contract: "Nothing was queued; try later."
/// contract: "A `BUSY` answer is returned as [`Busy`] at once, without retrying."
#[test]
fn a_saturated_system_refuses_a_submission_with_busy_and_finishes_the_rest() {
    sim_test(|| {
        let log = Log::default();
        let mut sim = simulation(7, ms(10), ms(10));
        add_coordinator(
            &mut sim,
            Config {
                max_pending: 1,
                ..CONFIG
            },
        );
        add_worker(&mut sim, "worker1", &log);
        let tasks = [
            (ms(0), "a", "a 1000"),
            (ms(200), "b", "b 1000"),
            (ms(400), "c", "c 1000"),
        ];
        add_submitter(&mut sim, "submitter", &log, &tasks);
        let run = run_to_end(&mut sim);
        let got = outcomes(&log);
        let expected: BTreeMap<String, Vec<String>> = [
            ("a", "done a by worker1"),
            ("b", "done b by worker1"),
            ("c", "busy"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), vec![v.to_owned()]))
        .collect();
        assert_eq!(
            got,
            expected,
            "a runs on the only worker, b waits (1 pending = max_pending), so c is refused with \
             BUSY at once and the submitter returns Busy (no retry); what happened:\n{}",
            log.show()
        );
        let busy = log.find("busy", "c");
        assert!(
            busy.first().is_some_and(|e| e.at < ms(500)),
            "BUSY is answered at once (c submitted at 0.4s); what happened:\n{}",
            log.show()
        );
        completed(run, &log, "one worker, max_pending 1, three tasks");
    });
}

/// contract: "(a duplicate key too)"
#[test]
fn the_same_key_from_two_submitters_runs_once_and_both_get_its_outcome_whatever_the_seed() {
    for seed in 10..14 {
        sim_test(move || {
            let log = Log::default();
            // Random latency from 1 to 80ms: messages on different connections overtake each
            // other, differently for each seed.
            let mut sim = simulation(seed, ms(1), ms(80));
            add_coordinator(&mut sim, CONFIG);
            add_worker(&mut sim, "worker1", &log);
            add_worker(&mut sim, "worker2", &log);
            add_submitter(
                &mut sim,
                "alice",
                &log,
                &[(ms(0), "shared", "shared 700"), (ms(5), "a", "a 300")],
            );
            add_submitter(
                &mut sim,
                "bob",
                &log,
                &[(ms(3), "shared", "shared 700"), (ms(0), "b", "b 300")],
            );
            let run = run_to_end(&mut sim);
            assert_eq!(
                log.count("start", "shared"),
                1,
                "seed {seed}: a key submitted twice is one task: it runs once (the second \
                 submission is a duplicate); what happened:\n{}",
                log.show()
            );
            let got = outcomes(&log);
            let shared = got.get("shared").cloned().unwrap_or_default();
            let by = log.find("end", "shared");
            let expected = format!("done shared by {}", by.first().map_or("?", |e| &e.host));
            assert_eq!(
                shared,
                [expected.clone(), expected],
                "seed {seed}: both submitters of the key get its one outcome; what happened:\n{}",
                log.show()
            );
            for key in ["a", "b"] {
                assert_eq!(
                    got.get(key).map(Vec::len),
                    Some(1),
                    "seed {seed}: every submission gets one outcome ({key}); what happened:\n{}",
                    log.show()
                );
            }
            completed(run, &log, "two submitters, one shared key");
        });
    }
}

// ---- instructor only: tests against the reference
//
// A differential check of the queue. `TaskQueue` is synchronous with the time passed in, so the
// docs fix every answer at every instant: which call returns what, which task is leased next,
// when a lease runs out, when a retry is due, what is dead-lettered, what `pending`,
// `next_wakeup` and `outcome` say in between. The check generates runs of calls — submissions
// (keys repeated, payloads changed, a small `max_pending`), leases, heartbeats and reports under
// the current lease, an older one or one never granted, successes and failures, explicit
// `expire`s — at instants chosen to hit the boundaries: a step of exactly `lease_duration` or
// the backoff, or the instant the queue itself says something is due (`next_wakeup`) and one
// millisecond either side of it. Both crates replay the run and everything a caller sees is
// compared. The one thing the docs leave open is the order of tasks whose leases ran out at the
// same instant (in `expire`'s list and among the dead letters of one call): those are compared
// as sets.
//
// The instants are passed in, never slept to: a queue that reads the clock itself instead of
// `now` disagrees with the reference at once.

use ex11_distributed_tasks_reference as reference;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use testkit::differential::proptest::prelude::*;
use testkit::differential::{Check, same_events};

/// Which lease a heartbeat or a report names.
#[derive(Clone, Copy, Debug)]
enum GenLease {
    /// The lease granted `n` leases before the latest (0: the latest).
    Back(u8),
    /// An id the queue never granted.
    Unknown,
}

/// One call of a generated run.
#[derive(Clone, Debug)]
enum GenCall {
    Submit { key: u8, payload: u8 },
    Lease,
    Heartbeat(GenLease),
    Complete { lease: GenLease, ok: bool },
    Expire,
}

/// When a call happens.
#[derive(Clone, Copy, Debug)]
enum GenWhen {
    /// This many milliseconds after the previous call.
    After(u64),
    /// At the instant the queue's `next_wakeup` names, moved by -1, 0 or +1 ms (or at once when
    /// nothing is due).
    AtWakeup(i8),
}

#[derive(Clone, Debug)]
struct GenQueueRun {
    lease_ms: u64,
    max_attempts: u32,
    backoff_base_ms: u64,
    backoff_max_ms: u64,
    max_pending: usize,
    calls: Vec<(GenWhen, GenCall)>,
}

fn gen_queue_runs() -> impl Strategy<Value = GenQueueRun> {
    (
        prop_oneof![Just(100u64), Just(250), Just(1000)],
        prop_oneof![Just(0u32), Just(1), Just(2), Just(3), Just(5)],
        prop_oneof![Just(0u64), Just(50), Just(100), Just(200)],
        prop_oneof![Just(0u64), Just(150), Just(400), Just(1000)],
        prop_oneof![Just(0usize), Just(1), Just(2), Just(3), Just(100)],
    )
        .prop_flat_map(|(lease_ms, max_attempts, base, max, max_pending)| {
            let when = prop_oneof![
                3 => prop_oneof![
                    Just(0u64),
                    Just(1),
                    Just(lease_ms - 1),
                    Just(lease_ms),
                    Just(lease_ms + 1),
                    Just(base),
                    Just(base + 1),
                    Just(2 * base),
                    0..=2 * lease_ms,
                ]
                .prop_map(GenWhen::After),
                1 => (-1i8..=1).prop_map(GenWhen::AtWakeup),
            ];
            let lease = prop_oneof![
                4 => Just(GenLease::Back(0)),
                2 => (1u8..=3).prop_map(GenLease::Back),
                1 => Just(GenLease::Unknown),
            ];
            let call = prop_oneof![
                3 => (0u8..5, 0u8..2).prop_map(|(key, payload)| GenCall::Submit { key, payload }),
                3 => Just(GenCall::Lease),
                2 => lease.clone().prop_map(GenCall::Heartbeat),
                3 => (lease, prop::bool::ANY).prop_map(|(lease, ok)| GenCall::Complete { lease, ok }),
                1 => Just(GenCall::Expire),
            ];
            (
                Just((lease_ms, max_attempts, base, max, max_pending)),
                prop::collection::vec((when, call), 1..=32),
            )
        })
        .prop_map(
            |((lease_ms, max_attempts, backoff_base_ms, backoff_max_ms, max_pending), calls)| {
                GenQueueRun {
                    lease_ms,
                    max_attempts,
                    backoff_base_ms,
                    backoff_max_ms,
                    max_pending,
                    calls,
                }
            },
        )
}

/// An instant as milliseconds after the run's start (negative before it).
fn rel_ms(t0: Instant, t: Instant) -> String {
    match t.checked_duration_since(t0) {
        Some(d) => fmt_duration(d),
        None => format!("-{}", fmt_duration(t0 - t)),
    }
}

/// An optional instant as `rel_ms` shows it, or `None`.
fn rel_ms_or_none(t0: Instant, t: Option<Instant>) -> String {
    t.map_or_else(|| "None".to_owned(), |t| rel_ms(t0, t))
}

/// Sorts each run of consecutive keys that share an expiry instant: the docs order `expire`'s
/// keys (and the dead letters of one call) by expiry and leave ties open.
fn ties_sorted(keys: Vec<String>, expiry: &HashMap<String, Instant>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    let mut start = 0;
    for (i, key) in keys.iter().enumerate() {
        if i > start && expiry.get(key) != expiry.get(&keys[start]) {
            out.extend(sorted(&keys[start..i]));
            start = i;
        }
    }
    out.extend(sorted(&keys[start..]));
    out
}

fn sorted(keys: &[String]) -> Vec<String> {
    let mut keys = keys.to_vec();
    keys.sort();
    keys
}

/// Replays a generated run with the crate `$krate`: every call's answer, and every change of
/// what `pending`, `next_wakeup`, `outcome` and `dead_letters` say, at the call's instant.
macro_rules! replay_queue {
    ($krate:ident) => {
        |run: GenQueueRun| -> Pin<Box<dyn Future<Output = Vec<(u64, String)>>>> {
            Box::pin(async move {
                let t0 = Instant::now();
                let mut queue = $krate::TaskQueue::new($krate::Config {
                    lease_duration: ms(run.lease_ms),
                    max_attempts: run.max_attempts,
                    backoff_base: ms(run.backoff_base_ms),
                    backoff_max: ms(run.backoff_max_ms),
                    max_pending: run.max_pending,
                });
                let mut events: Vec<(u64, String)> = Vec::new();
                let mut now = t0;
                // What this side was told: the leases granted (ids, newest last), each lease's
                // key, and each key's latest expiry (to tell ties apart).
                let mut granted: Vec<u64> = Vec::new();
                let mut key_of: HashMap<u64, String> = HashMap::new();
                let mut expiry: HashMap<String, Instant> = HashMap::new();
                // What the read-only methods said last.
                let mut shown_pending = 0;
                let mut shown_wakeup: Option<Instant> = None;
                let mut shown_outcomes: HashMap<String, String> = HashMap::new();
                let mut shown_dead = 0;
                for (when, call) in run.calls {
                    now = match when {
                        GenWhen::After(d) => now + ms(d),
                        GenWhen::AtWakeup(shift) => match queue.next_wakeup(now) {
                            Some(at) if shift < 0 => at.checked_sub(ms(1)).unwrap_or(at).max(now),
                            Some(at) => (at + ms(shift as u64)).max(now),
                            None => now,
                        },
                    };
                    let t = now.duration_since(t0).as_millis() as u64;
                    let lease_id = |which: GenLease| match which {
                        GenLease::Back(n) => granted
                            .len()
                            .checked_sub(1 + n as usize)
                            .map_or(1000, |i| granted[i]),
                        GenLease::Unknown => 1000,
                    };
                    let said = match call {
                        GenCall::Submit { key, payload } => {
                            let (key, payload) = (format!("k{key}"), format!("p{key}.{payload}"));
                            let answer = match queue.submit(&key, &payload, now) {
                                $krate::Submitted::Accepted => "Accepted",
                                $krate::Submitted::Duplicate => "Duplicate",
                                $krate::Submitted::Busy => "Busy",
                            };
                            format!("submit({key}, {payload}) → {answer}")
                        }
                        GenCall::Lease => match queue.lease(now) {
                            Some(lease) => {
                                granted.push(lease.id);
                                key_of.insert(lease.id, lease.key.clone());
                                expiry.insert(lease.key.clone(), lease.expires_at);
                                format!(
                                    "lease() → #{} {} ({}) attempt {} until {}",
                                    lease.id,
                                    lease.key,
                                    lease.payload,
                                    lease.attempt,
                                    rel_ms(t0, lease.expires_at)
                                )
                            }
                            None => "lease() → None".to_owned(),
                        },
                        GenCall::Heartbeat(which) => {
                            let id = lease_id(which);
                            let answer = queue.heartbeat(id, now);
                            if let (Some(at), Some(key)) = (answer, key_of.get(&id)) {
                                expiry.insert(key.clone(), at);
                            }
                            format!("heartbeat(#{id}) → {}", rel_ms_or_none(t0, answer))
                        }
                        GenCall::Complete { lease, ok } => {
                            let id = lease_id(lease);
                            let output = if ok {
                                Ok(format!("out {t}"))
                            } else {
                                Err(format!("err {t}"))
                            };
                            let answer = match queue.complete(id, output.clone(), now) {
                                $krate::Completion::Recorded => "Recorded".to_owned(),
                                $krate::Completion::Retrying(at) => {
                                    format!("Retrying at {}", rel_ms(t0, at))
                                }
                                $krate::Completion::DeadLettered => "DeadLettered".to_owned(),
                                $krate::Completion::Stale => "Stale".to_owned(),
                            };
                            format!("complete(#{id}, {output:?}) → {answer}")
                        }
                        GenCall::Expire => {
                            let keys = ties_sorted(queue.expire(now), &expiry);
                            format!("expire() → {keys:?}")
                        }
                    };
                    events.push((t, said));
                    // What the read-only methods say now, where it changed.
                    let pending = queue.pending();
                    if pending != shown_pending {
                        events.push((t, format!("  pending() = {pending}")));
                        shown_pending = pending;
                    }
                    let wakeup = queue.next_wakeup(now);
                    if wakeup != shown_wakeup {
                        let at = rel_ms_or_none(t0, wakeup);
                        events.push((t, format!("  next_wakeup(now) = {at}")));
                        shown_wakeup = wakeup;
                    }
                    for key in (0..5).map(|k| format!("k{k}")) {
                        let outcome = match queue.outcome(&key) {
                            Some($krate::Outcome::Done(out)) => format!("Done({out:?})"),
                            Some($krate::Outcome::Dead(error)) => format!("Dead({error:?})"),
                            None => "None".to_owned(),
                        };
                        let before = shown_outcomes.get(&key).map_or("None", String::as_str);
                        if outcome != before {
                            events.push((t, format!("  outcome({key}) = {outcome}")));
                            shown_outcomes.insert(key, outcome);
                        }
                    }
                    let dead = queue.dead_letters();
                    if dead.len() < shown_dead {
                        events.push((
                            t,
                            format!("  dead_letters() lost entries: {} left", dead.len()),
                        ));
                    }
                    let new: Vec<String> = dead
                        .iter()
                        .skip(shown_dead)
                        .map(|d| d.key.clone())
                        .collect();
                    for key in ties_sorted(new, &expiry) {
                        let d = dead
                            .iter()
                            .skip(shown_dead)
                            .find(|d| d.key == key)
                            .expect("listed above");
                        events.push((
                            t,
                            format!(
                                "  dead letter: {} ({}) after {} attempts, last error {:?}",
                                d.key, d.payload, d.attempts, d.last_error
                            ),
                        ));
                    }
                    shown_dead = dead.len();
                }
                events
            })
        }
    };
}

/// contract: "Submits a task under an idempotency key, ready at once."
/// contract: "A key already submitted is a [`Submitted::Duplicate`]"
/// contract: "a new key when `max_pending` tasks wait is [`Submitted::Busy`]"
/// contract: "Leases the task that has been ready longest (ready at `now` or before; ties go to the earlier submission), for `lease_duration` from `now`."
/// contract: "A lease is current until the instant it runs out, not at that instant: a heartbeat then is too late and returns `None`, as for any lease that is not current."
/// contract: "After a failed attempt `n` the task is ready again `backoff_base × 2^(n-1)` later (at most `backoff_max`), unless that was attempt `max_attempts`: then it is dead-lettered."
/// contract: "A report under a lease that is not current is [`Completion::Stale`] and changes nothing."
/// contract: "as a failed attempt with the error `"lease expired"`, backing off from the instant it ran out."
/// contract: "Returns the keys of those tasks, the earliest expiry first."
/// contract: "Every other method does this first."
/// contract: "The dead-lettered tasks, in the order they died."
/// contract: "The next instant after `now` at which something happens by itself"
#[test]
fn the_queue_matches_the_reference_on_generated_runs_at_and_around_every_boundary() {
    Check::new("the_queue_matches_the_reference_on_generated_runs_at_and_around_every_boundary")
        .cases(400)
        .run(
            gen_queue_runs(),
            replay_queue!(ex11_distributed_tasks),
            replay_queue!(reference),
            |_, reference, yours| {
                same_events(
                    "what each call of the queue returned, and what pending, next_wakeup, \
                     outcome and dead_letters said after it",
                    reference,
                    yours,
                )
            },
        );
}
