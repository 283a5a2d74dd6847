//! Hidden tests for exercise 06 — timeouts and cancellation.
//!
//! Every test runs on tokio's paused clock (`testkit::run`): instants are virtual and exact, and
//! the whole suite covers minutes of virtual time in milliseconds of real time. Test names are the
//! specification; each assertion message says what was expected and the likely cause when it is not.
//!
//! Traceability (checked by the dev check): each test cites the sentences of the stub's docs it
//! checks (`/// contract: "…"`); the sentences below state no rule a test could observe.
//!
//! not a rule: "Which copy of the request an invocation is." — the heading of `Attempt`; its variants' docs state the rules
//! not a rule: "How [`retry`] paces and bounds its attempts." — the heading of `RetryPolicy`; its fields' docs state the rules
//! not a rule: "Why one attempt failed." — the heading of `AttemptError`; its variants' docs state the rules
//! not a rule: "Why [`retry`] gave up." — the heading of `RetryError`; its variants' docs state the rules
//! not a rule: "The schedule, exactly:" — the heading of the list of rules after it
//! not a rule: "One unit of work." — what a `Job` is: an id and a payload, no behaviour
//! not a rule: "The futures need not be `Send` or `'static`" — the signature has neither bound and the suite's racers are neither, so the compiler holds a solution to it; how to meet it is advice
//! not a rule: "The worker should return soon after the token is cancelled." — advice to whoever writes a worker, not a rule of the supervisor (what happens to a worker that does not is the rules of `shutdown`)

use ex06_timeouts::*;
use pretty_assertions::assert_eq;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::{Probe, Test, Timeline, ms, now, secs};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

// The learner's `==` is trusted only where it is derived (testkit::derived_eq!).
testkit::derived_eq! {
    Attempt = Attempt::Primary,
    TimedOut = TimedOut { allowed: Duration::ZERO },
    AttemptError<u32> = AttemptError::Failed(0),
    RetryError<u32> = RetryError::Exhausted { attempts: 0, last: AttemptError::Failed(0) },
    RetryPolicy = RetryPolicy {
        max_attempts: 0,
        attempt_timeout: Duration::ZERO,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        deadline: Duration::ZERO,
    },
}

// The learner's types are compared by their std-typed parts, never by their own `PartialEq`: a
// `PartialEq` that always says "equal" must not pass a test.

/// A with_timeout/with_deadline result, with the error as the time it allowed.
fn timed<T: Clone>(result: &Result<T, TimedOut>) -> Result<T, Duration> {
    match result {
        Ok(value) => Ok(value.clone()),
        Err(TimedOut { allowed }) => Err(*allowed),
    }
}

/// Why retry gave up, in words built from its parts.
fn gave_up(error: &RetryError<String>) -> String {
    let last = |last: &AttemptError<String>| match last {
        AttemptError::Failed(e) => format!("Failed({e:?})"),
        AttemptError::TimedOut(TimedOut { allowed }) => format!("TimedOut({allowed:?} allowed)"),
    };
    match error {
        RetryError::Exhausted { attempts, last: l } => {
            format!("Exhausted {{ attempts: {attempts}, last: {} }}", last(l))
        }
        RetryError::DeadlineExceeded { attempts, last: l } => {
            format!(
                "DeadlineExceeded {{ attempts: {attempts}, last: {} }}",
                last(l)
            )
        }
    }
}

/// A retry result, with the error in words.
fn retried<T: Clone>(result: &Result<T, RetryError<String>>) -> Result<T, String> {
    match result {
        Ok(value) => Ok(value.clone()),
        Err(error) => Err(gave_up(error)),
    }
}

/// A worker's report: completed, timed out, interrupted.
fn parts(report: &WorkerReport) -> (Vec<u64>, Vec<u64>, Option<u64>) {
    (
        report.completed.clone(),
        report.timed_out.clone(),
        report.interrupted,
    )
}

/// A shutdown report: finished, aborted, panicked.
fn names_of(report: &ShutdownReport) -> (Vec<String>, Vec<String>, Vec<String>) {
    (
        report.finished.clone(),
        report.aborted.clone(),
        report.panicked.clone(),
    )
}

/// Asserts that the call under test returned at `expected` (virtual time since the test started).
#[track_caller]
fn returned_at(expected: Duration, call: &str) {
    assert_eq!(
        now(),
        expected,
        "{call} returned at t={:?}, expected t={:?}",
        now(),
        expected
    );
}

/// A future that completes with `value` after `after` of virtual time.
async fn after<T>(after: Duration, value: T) -> T {
    sleep(after).await;
    value
}

// ---------------------------------------------------------------------------------------------
// 1. with_timeout / with_deadline
// ---------------------------------------------------------------------------------------------

/// contract: "Returns `Ok(output)` as soon as `fut` completes within the limit"
#[test]
fn with_timeout_returns_the_value_of_an_operation_that_finishes_in_time() {
    testkit::run(|| async {
        let result = with_timeout(ms(250), after(ms(100), "done")).await;
        assert_eq!(
            result,
            Ok("done"),
            "an operation that finishes at t=100ms, within its 250ms limit: with_timeout must \
             return Ok with the operation's output"
        );
        assert_eq!(
            now(),
            ms(100),
            "with_timeout must return as soon as the operation finishes"
        );
    });
}

/// contract: "Runs `fut` for at most `limit`"
/// contract: "Otherwise returns `Err(TimedOut { allowed: limit })` at exactly `limit` after the call"
/// contract: "The error of an operation that did not finish in the time it was allowed"
/// contract: "How long the operation was allowed to run"
/// contract: "Says how long was allowed, for example `timed out after 250ms`"
#[test]
fn with_timeout_gives_up_at_exactly_the_limit_and_says_how_long_was_allowed() {
    testkit::run(|| async {
        let result = with_timeout(ms(250), after(secs(10), ())).await;
        assert_eq!(
            timed(&result),
            Err(ms(250)),
            "an operation of 10s under a 250ms limit: with_timeout must give up at the limit with \
             Err(TimedOut {{ allowed: 250ms }}), the limit it was given"
        );
        assert_eq!(
            now(),
            ms(250),
            "the timeout must fire at the limit, not when the operation ends"
        );
        let message = TimedOut { allowed: ms(250) }.to_string();
        assert!(
            message.contains("250ms"),
            "TimedOut's Display must say how long was allowed, got {message:?}"
        );
    });
}

/// contract: "and `fut` has been dropped (cancelled) by then"
#[test]
fn with_timeout_cancels_the_operation_when_the_limit_passes() {
    testkit::run(|| async {
        let op = Probe::new("operation");
        let _ = with_timeout(ms(300), op.wrap(after(secs(5), ()))).await;
        assert_eq!(
            op.cancelled_at(),
            Some(ms(300)),
            "the timed-out operation must be dropped at the limit ({})",
            op.describe()
        );
    });
}

/// contract: "Runs `fut` until `deadline` at the latest"
/// contract: "Like [`with_timeout`], but with an absolute instant"
/// contract: "On timeout the error's `allowed` is the time that was left at the call: `deadline - now`"
#[test]
fn with_deadline_stops_at_the_deadline_and_reports_the_time_that_was_left() {
    testkit::run(|| async {
        sleep(ms(100)).await;
        let deadline = Instant::now() + ms(300);
        let result = with_deadline(deadline, after(secs(1), 7)).await;
        assert_eq!(
            timed(&result),
            Err(ms(300)),
            "called at t=100ms with the deadline at t=400ms, an operation of 1s must fail with \
             Err(TimedOut {{ allowed: 300ms }}): with_deadline gives up at the deadline, and \
             `allowed` is the time that was left at the call (deadline - now)"
        );
        assert_eq!(now(), ms(400), "the deadline was t=400ms");

        let ok = with_deadline(Instant::now() + ms(50), after(ms(20), 7)).await;
        assert_eq!(
            ok,
            Ok(7),
            "an operation that finishes 20ms into its 50ms allowance: with_deadline must return \
             Ok with its output"
        );
        assert_eq!(
            now(),
            ms(420),
            "returned at t={:?}, expected t=420ms: with_deadline must return as soon as the \
             operation finishes (20ms after the call at t=400ms), not at the deadline (t=450ms)",
            now()
        );
    });
}

/// contract: "or zero when the deadline had already passed (then the call fails at once, without waiting"
#[test]
fn with_deadline_in_the_past_allows_nothing() {
    testkit::run(|| async {
        let deadline = Instant::now();
        sleep(ms(10)).await;
        let result = with_deadline(deadline, after(ms(5), ())).await;
        assert_eq!(
            timed(&result),
            Err(Duration::ZERO),
            "the deadline passed 10ms before the call: with_deadline must fail at once with \
             Err(TimedOut {{ allowed: Duration::ZERO }}), the time left saturated at zero, without \
             waiting for the operation"
        );
        assert_eq!(
            now(),
            ms(10),
            "a deadline already past must fail at once, without waiting"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 2. retry
// ---------------------------------------------------------------------------------------------

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 10,
        attempt_timeout: secs(1),
        initial_backoff: ms(100),
        max_backoff: ms(400),
        deadline: secs(60),
    }
}

/// An operation whose attempt `n` waits `script[n-1].0` and then returns `script[n-1].1`
/// (`None` = never answers). Attempts past the script fail at once with "down". Every start is
/// recorded on the timeline.
fn scripted(
    timeline: &Timeline,
    script: Vec<(Duration, Option<Result<&'static str, String>>)>,
) -> impl FnMut(u32) -> std::pin::Pin<Box<dyn Future<Output = Result<&'static str, String>>>> {
    let timeline = timeline.clone();
    move |n| {
        timeline.record(format!("attempt {n}"));
        let (delay, outcome) = script
            .get(n as usize - 1)
            .cloned()
            .unwrap_or((Duration::ZERO, Some(Err("down".into()))));
        Box::pin(async move {
            sleep(delay).await;
            match outcome {
                Some(result) => result,
                None => std::future::pending().await,
            }
        })
    }
}

/// contract: "The wait after the first failure; it doubles after every further failure"
/// contract: "...but never exceeds this"
/// contract: "`initial_backoff * 2^(failures-1)`, capped at `max_backoff`"
/// contract: "Never panics, however many failures"
/// contract: "`backoff(0)` is treated as `backoff(1)`"
#[test]
fn backoff_doubles_from_the_initial_wait_up_to_the_cap() {
    testkit::run(|| async {
        let p = policy();
        let waits: Vec<Duration> = (1..=6).map(|n| p.backoff(n)).collect();
        assert_eq!(
            waits,
            vec![ms(100), ms(200), ms(400), ms(400), ms(400), ms(400)],
            "backoff(n) = initial × 2^(n-1), capped at max_backoff"
        );
        let uncapped = RetryPolicy {
            max_backoff: Duration::MAX,
            ..policy()
        };
        assert!(
            uncapped.backoff(200) >= uncapped.backoff(40),
            "a long run of failures must not overflow: the wait only ever grows"
        );
        let most = std::panic::catch_unwind(|| uncapped.backoff(u32::MAX));
        assert!(
            most.is_ok(),
            "backoff(u32::MAX) panicked: backoff never panics, however many failures (2^(n-1) \
             overflows every integer type: saturate, or stop doubling once past the cap)"
        );
        let zero = std::panic::catch_unwind(|| p.backoff(0));
        assert_eq!(
            zero.ok(),
            Some(ms(100)),
            "backoff(0) is treated as backoff(1): the initial wait (100ms), and no panic (None \
             here is a panic: failures - 1 underflows at 0, use saturating_sub)"
        );
        let low_cap = RetryPolicy {
            initial_backoff: ms(500),
            max_backoff: ms(300),
            ..policy()
        };
        assert_eq!(
            (low_cap.backoff(1), low_cap.backoff(2)),
            (ms(300), ms(300)),
            "with initial_backoff 500ms and max_backoff 300ms, every wait is 300ms: the cap holds \
             from the first failure on, not only once the wait has doubled"
        );
    });
}

/// contract: "Calls `op(1)`, `op(2)`, ... until one attempt succeeds, following `policy`"
/// contract: "attempt 1 starts at once; `op` receives the attempt number (1-based)"
/// contract: "the first `Ok` is returned at once; no further attempt is made"
#[test]
fn retry_returns_the_first_success_and_makes_no_further_attempt() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let ok = Some(Ok("payload"));
        let err = Some(Err("flaky".to_string()));
        let op = scripted(
            &timeline,
            vec![(ms(0), err.clone()), (ms(0), err), (ms(30), ok)],
        );
        let result = retry(&policy(), op).await;
        assert_eq!(
            result,
            Ok("payload"),
            "attempts 1 and 2 fail and attempt 3 succeeds (max_attempts is 10): retry must return \
             attempt 3's Ok at once"
        );
        assert_eq!(now(), ms(330), "attempt 3 started at t=300ms and took 30ms");
        timeline.assert_eq(
            &[(0, "attempt 1"), (100, "attempt 2"), (300, "attempt 3")],
            "attempts wait 100ms, then 200ms after each failure",
        );
    });
}

/// contract: "after the n-th failure (an error or a timeout) retry waits `policy.backoff(n)`"
/// contract: "Every one of `max_attempts` attempts failed; `last` is the last failure"
/// contract: "after `max_attempts` failed attempts: `Exhausted` with the last failure, at once (no wait after the last attempt)"
/// contract: "The operation returned an error"
#[test]
fn retry_schedule_is_exact_with_backoff_capped() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let policy = RetryPolicy {
            max_attempts: 6,
            ..policy()
        };
        let result = retry(&policy, scripted(&timeline, vec![])).await;
        assert_eq!(
            retried(&result),
            Err(gave_up(&RetryError::Exhausted {
                attempts: 6,
                last: AttemptError::Failed("down".to_string())
            })),
            "after max_attempts failures, retry returns Exhausted with the last error"
        );
        timeline.assert_eq(
            &[
                (0, "attempt 1"),
                (100, "attempt 2"),
                (300, "attempt 3"),
                (700, "attempt 4"),
                (1100, "attempt 5"),
                (1500, "attempt 6"),
            ],
            "backoff 100, 200, 400, then capped at 400ms (max_backoff)",
        );
        assert_eq!(
            now(),
            ms(1500),
            "no wait after the last attempt: it returns at once"
        );
    });
}

/// contract: "after the n-th failure (an error or a timeout) retry waits `policy.backoff(n)`"
/// contract: "when the next attempt would start at or after the deadline: `DeadlineExceeded` with the last failure, *immediately*"
#[test]
fn a_production_policy_retries_for_ten_minutes_on_an_exact_schedule() {
    // 1s initial backoff, capped at a minute, ten minutes in all: 543 s of retrying, checked to the
    // millisecond in a few microseconds of real time.
    Test::new().virtual_limit(secs(3600)).run(|| async {
        let timeline = Timeline::new();
        let policy = RetryPolicy {
            max_attempts: 100,
            attempt_timeout: secs(10),
            initial_backoff: secs(1),
            max_backoff: secs(60),
            deadline: secs(600),
        };
        let result = retry(&policy, scripted(&timeline, vec![])).await;
        assert_eq!(
            retried(&result),
            Err(gave_up(&RetryError::DeadlineExceeded { attempts: 15, last: AttemptError::Failed("down".to_string()) })),
            "attempt 15 starts at t=543s and fails; attempt 16 would start 60s later (t=603s), \
             after the 600s deadline: retry must give up at once with DeadlineExceeded {{ \
             attempts: 15, last: Failed(\"down\") }}, neither sleep towards the deadline nor start \
             an attempt the deadline would cut short"
        );
        let starts: Vec<u64> = [0, 1, 3, 7, 15, 31, 63, 123, 183, 243, 303, 363, 423, 483, 543].into();
        let expected: Vec<(u64, String)> =
            starts.iter().enumerate().map(|(i, s)| (s * 1000, format!("attempt {}", i + 1))).collect();
        let expected: Vec<(u64, &str)> = expected.iter().map(|(t, e)| (*t, e.as_str())).collect();
        timeline.assert_eq(&expected, "backoff 1, 2, 4, ... 32s, then capped at 60s; attempt 16 would start after the 600s deadline");
        assert_eq!(now(), secs(543), "retry gives up right after attempt 15 fails");
    });
}

/// contract: "counted from the moment the attempt failed, then starts attempt n + 1"
#[test]
fn backoff_is_measured_from_the_end_of_the_failed_attempt() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let slow_fail = (ms(50), Some(Err("slow".to_string())));
        let op = scripted(
            &timeline,
            vec![slow_fail.clone(), slow_fail, (ms(50), Some(Ok("ok")))],
        );
        assert_eq!(
            retry(&policy(), op).await,
            Ok("ok"),
            "attempts 1 and 2 fail after 50ms each and attempt 3 succeeds: retry must return \
             attempt 3's Ok"
        );
        timeline.assert_eq(
            &[(0, "attempt 1"), (150, "attempt 2"), (400, "attempt 3")],
            "each attempt takes 50ms; the wait (100ms, then 200ms) starts when it fails",
        );
    });
}

/// contract: "How long one attempt may run before it is cancelled and counted as failed"
/// contract: "each attempt may run for `attempt_timeout`"
#[test]
fn each_attempt_is_cancelled_at_its_own_timeout_and_retried() {
    testkit::run(|| async {
        let probes: Vec<Probe> = (1..=3)
            .map(|n| Probe::new(format!("attempt {n}")))
            .collect();
        let policy = RetryPolicy {
            attempt_timeout: ms(200),
            ..policy()
        };
        let p = probes.clone();
        let result = retry(&policy, move |n| {
            let probe = &p[n as usize - 1];
            probe.wrap(async move {
                if n < 3 {
                    std::future::pending::<()>().await;
                }
                sleep(ms(10)).await;
                Ok::<_, String>(n)
            })
        })
        .await;
        assert_eq!(
            result,
            Ok(3),
            "attempts 1 and 2 never answer and attempt 3 answers after 10ms: retry must cancel \
             each hung attempt at attempt_timeout (200ms), retry it, and return attempt 3's Ok(3)"
        );
        let seen: Vec<String> = probes.iter().map(Probe::describe).collect();
        assert_eq!(
            seen,
            vec![
                "attempt 1: started t=0ms, cancelled t=200ms",
                "attempt 2: started t=300ms, cancelled t=500ms",
                "attempt 3: started t=700ms, completed t=710ms",
            ],
            "a hung attempt is dropped at attempt_timeout (200ms), then retried after the backoff"
        );
    });
}

/// contract: "The operation was cancelled because it ran out of time"
/// contract: "after the n-th failure (an error or a timeout)"
#[test]
fn retry_reports_a_timed_out_last_attempt_as_timed_out() {
    testkit::run(|| async {
        let policy = RetryPolicy {
            max_attempts: 2,
            attempt_timeout: ms(200),
            ..policy()
        };
        let timeline = Timeline::new();
        let result = retry(
            &policy,
            scripted(&timeline, vec![(ms(0), None), (ms(0), None)]),
        )
        .await;
        assert_eq!(
            retried(&result),
            Err(gave_up(&RetryError::Exhausted {
                attempts: 2,
                last: AttemptError::TimedOut(TimedOut { allowed: ms(200) })
            })),
            "both attempts hang: after max_attempts (2) failures retry must return Exhausted with \
             the last one, a timeout, reported as AttemptError::TimedOut with the attempt_timeout \
             (200ms) as `allowed`"
        );
        assert_eq!(
            now(),
            ms(500),
            "returned at t={:?}, expected t=500ms: attempt 1 times out at t=200ms, attempt 2 \
             starts after the 100ms backoff (t=300ms) and times out at t=500ms, and there is no \
             wait after the last attempt",
            now()
        );
    });
}

/// contract: "or the next attempt could not have started before it"
/// contract: "when the next attempt would start at or after the deadline: `DeadlineExceeded` with the last failure, *immediately*"
#[test]
fn retry_gives_up_as_soon_as_the_next_attempt_could_not_start_before_the_deadline() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let policy = RetryPolicy {
            deadline: secs(2),
            ..policy()
        };
        let result = retry(&policy, scripted(&timeline, vec![])).await;
        assert_eq!(
            retried(&result),
            Err(gave_up(&RetryError::DeadlineExceeded {
                attempts: 7,
                last: AttemptError::Failed("down".to_string())
            })),
            "attempt 7 starts at t=1900ms and fails; attempt 8 would start at t=2300ms, after the \
             2s deadline: retry must give up with DeadlineExceeded, 7 attempts, and attempt 7's \
             failure (Failed(\"down\"), not a timeout) as `last`"
        );
        assert_eq!(
            timeline.instants_of("attempt 7"),
            vec![ms(1900)],
            "attempt 7 starts at t=1900ms (backoff capped at 400ms)"
        );
        assert_eq!(
            now(),
            ms(1900),
            "attempt 8 would start at t=2300ms, after the 2s deadline: retry must give up at \
             t=1900ms, right after attempt 7 failed, instead of sleeping towards the deadline"
        );
    });
}

/// contract: "The whole operation, waits included, ends by this long after the call"
/// contract: "but never past the overall deadline (`deadline` after the call): it is cancelled (dropped) when its time is up"
/// contract: "it cut an attempt short (`last` is then `TimedOut` with the time that attempt was given)"
/// contract: "when the deadline cuts an attempt short (it had less than `attempt_timeout` left, and its time ran out): `DeadlineExceeded`, at the deadline"
#[test]
fn the_deadline_cuts_a_running_attempt_short() {
    testkit::run(|| async {
        let probes: Vec<Probe> = (1..=2)
            .map(|n| Probe::new(format!("attempt {n}")))
            .collect();
        let policy = RetryPolicy {
            attempt_timeout: ms(800),
            deadline: secs(1),
            ..policy()
        };
        let p = probes.clone();
        let result = retry(&policy, move |n| {
            p[n as usize - 1].wrap(std::future::pending::<Result<(), String>>())
        })
        .await;
        assert_eq!(
            now(),
            secs(1),
            "retry must return at the deadline (t=1000ms), not at 900+800ms"
        );
        assert_eq!(
            retried(&result),
            Err(gave_up(&RetryError::DeadlineExceeded {
                attempts: 2,
                last: AttemptError::TimedOut(TimedOut { allowed: ms(100) })
            })),
            "attempt 2 starts at t=900ms with only 100ms left before the deadline: the deadline \
             cuts it short at t=1000ms, so retry gives up with DeadlineExceeded, and `last` is a \
             TimedOut with the 100ms that attempt was given (not attempt_timeout's 800ms)"
        );
        assert_eq!(
            probes[1].cancelled_at(),
            Some(ms(1000)),
            "attempt 2 must be dropped at the overall deadline (t=1000ms), not run on to its own \
             800ms timeout ({})",
            probes[1].describe()
        );
    });
}

/// contract: "The most attempts to make (at least one is always made)"
#[test]
fn retry_always_makes_at_least_one_attempt() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let policy = RetryPolicy {
            max_attempts: 0,
            ..policy()
        };
        let result = retry(
            &policy,
            scripted(&timeline, vec![(ms(5), Some(Ok("once")))]),
        )
        .await;
        assert_eq!(
            result,
            Ok("once"),
            "max_attempts is 0, but at least one attempt is always made: retry must return that \
             attempt's Ok(\"once\")"
        );
        assert_eq!(
            timeline.len(),
            1,
            "retry made {} attempt(s), expected exactly 1: at least one attempt is always made \
             (even with max_attempts 0), and none after a success",
            timeline.len()
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 3. first_ok
// ---------------------------------------------------------------------------------------------

type Racer = std::pin::Pin<Box<dyn Future<Output = Result<&'static str, String>>>>;

fn racer(probe: &Probe, delay: u64, result: Result<&'static str, &str>) -> Racer {
    let result = result.map_err(str::to_owned);
    Box::pin(probe.wrap(after(ms(delay), result)))
}

/// contract: "Runs all `futures` concurrently and returns the first `Ok`"
/// contract: "The first `Ok` is returned the instant it arrives, and every other future has been dropped (cancelled) by then"
/// contract: "an earlier `Err` does not end the race"
#[test]
fn first_ok_returns_the_first_success_and_drops_the_losers_at_that_instant() {
    testkit::run(|| async {
        let probes: Vec<Probe> = ["slow", "fast", "failing"].map(Probe::new).into();
        let racers = vec![
            racer(&probes[0], 500, Ok("slow")),
            racer(&probes[1], 200, Ok("fast")),
            racer(&probes[2], 100, Err("boom")),
        ];
        let result = first_ok(racers).await;
        let why = if now() < ms(200) {
            "first_ok returned before any success: an earlier error does not end the race"
        } else {
            "first_ok must return when the first success arrives (t=200ms), not wait for the others"
        };
        assert_eq!(now(), ms(200), "returned at t={:?}: {why}", now());
        assert_eq!(
            result,
            Ok("fast"),
            "racer \"failing\" fails at t=100ms, \"fast\" succeeds at t=200ms, \"slow\" at t=500ms: \
             the first Ok wins, and an earlier error does not end the race"
        );
        assert_eq!(
            probes[0].cancelled_at(),
            Some(ms(200)),
            "the losing future must be dropped when the winner answers ({})",
            probes[0].describe()
        );
    });
}

/// contract: "Every future starts at once (they run concurrently, not one after another)"
#[test]
fn first_ok_runs_the_futures_concurrently() {
    testkit::run(|| async {
        let probes: Vec<Probe> = (0..5).map(|i| Probe::new(format!("racer {i}"))).collect();
        let racers: Vec<Racer> = probes.iter().map(|p| racer(p, 300, Err("no"))).collect();
        let _ = first_ok(racers).await;
        let starts: Vec<_> = probes.iter().map(Probe::started_at).collect();
        assert_eq!(
            starts,
            vec![Some(ms(0)); 5],
            "every future must start at once, not one after another"
        );
        assert_eq!(
            now(),
            ms(300),
            "five 300ms futures raced together take 300ms"
        );
    });
}

/// contract: "If all fail, returns every error, **in the order the futures were given** (not the order in which they failed), when the last one fails"
#[test]
fn first_ok_returns_every_error_in_input_order_when_all_fail() {
    testkit::run(|| async {
        let probes: Vec<Probe> = (0..3).map(|i| Probe::new(format!("racer {i}"))).collect();
        let racers = vec![
            racer(&probes[0], 300, Err("first")),
            racer(&probes[1], 100, Err("second")),
            racer(&probes[2], 200, Err("third")),
        ];
        let result = first_ok(racers).await;
        assert_eq!(
            result,
            Err(vec![
                "first".to_string(),
                "second".to_string(),
                "third".to_string()
            ]),
            "errors come back in the order the futures were given, not the order they failed"
        );
        assert_eq!(
            now(),
            ms(300),
            "all-failed is known when the last one fails"
        );
    });
}

/// contract: "An empty input gives `Err(vec![])`"
#[test]
fn first_ok_of_nothing_is_an_empty_list_of_errors() {
    testkit::run(|| async {
        let result = first_ok(Vec::<Racer>::new()).await;
        assert_eq!(
            result,
            Err(vec![]),
            "first_ok of no futures must return Err(vec![]) at once: there is no error to report \
             and nothing to wait for"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 4. hedged
// ---------------------------------------------------------------------------------------------

/// A hedged request whose primary answers after `primary` ms with `p` and whose backup answers
/// after `backup` ms with `b`.
fn hedge_requests(
    timeline: &Timeline,
    probes: &[Probe; 2],
    (primary, p): (u64, Result<&'static str, &'static str>),
    (backup, b): (u64, Result<&'static str, &'static str>),
) -> impl FnMut(Attempt) -> Racer {
    let timeline = timeline.clone();
    let probes = probes.clone();
    move |attempt| {
        timeline.record(format!("{attempt:?} sent"));
        match attempt {
            Attempt::Primary => racer(&probes[0], primary, p),
            Attempt::Backup => racer(&probes[1], backup, b),
        }
    }
}

/// `hedged` after `hedge_after` ms with the two requests of [`hedge_requests`]: its result, the
/// timeline of what was sent when, and the two requests' probes.
async fn hedge(
    hedge_after: u64,
    primary: (u64, Result<&'static str, &'static str>),
    backup: (u64, Result<&'static str, &'static str>),
) -> (Result<&'static str, String>, Timeline, [Probe; 2]) {
    let timeline = Timeline::new();
    let probes = [Probe::new("primary"), Probe::new("backup")];
    let requests = hedge_requests(&timeline, &probes, primary, backup);
    (hedged(ms(hedge_after), requests).await, timeline, probes)
}

/// contract: "The first request, sent at once"
/// contract: "The second request, sent only if the primary is slow or fails fast"
/// contract: "Primary succeeds before `hedge_after`"
#[test]
fn hedged_sends_no_backup_when_the_primary_answers_in_time() {
    testkit::run(|| async {
        let (result, timeline, _) = hedge(100, (80, Ok("primary")), (10, Ok("backup"))).await;
        assert_eq!(
            result,
            Ok("primary"),
            "the primary answers at t=80ms, before the 100ms hedge delay: hedged must return its \
             answer, and never send the backup"
        );
        assert_eq!(
            now(),
            ms(80),
            "returned at t={:?}, expected t=80ms: hedged must return the moment the primary \
             answers, without waiting out the hedge delay",
            now()
        );
        timeline.assert_eq(
            &[(0, "Primary sent")],
            "the primary answered before the 100ms hedge delay",
        );
    });
}

/// contract: "if it has not answered after `hedge_after`, also sends `request(Backup)`, and returns the first success"
/// contract: "The first `Ok` of the two wins and the other is dropped at that instant"
#[test]
fn hedged_sends_a_backup_after_the_delay_and_the_backup_can_win() {
    testkit::run(|| async {
        let (result, timeline, probes) = hedge(100, (500, Ok("primary")), (50, Ok("backup"))).await;
        assert_eq!(
            result,
            Ok("backup"),
            "the primary takes 500ms and the backup, sent at t=100ms, answers 50ms later: hedged \
             must return the first Ok of the two, the backup's"
        );
        assert_eq!(
            now(),
            ms(150),
            "the backup was sent at t=100ms and took 50ms"
        );
        timeline.assert_eq(
            &[(0, "Primary sent"), (100, "Backup sent")],
            "hedge after 100ms",
        );
        assert_eq!(
            probes[0].describe(),
            "primary: started t=0ms, cancelled t=150ms",
            "the slow primary must be cancelled when the backup wins"
        );
    });
}

/// contract: "Primary still running at `hedge_after`: send the backup and keep the primary running (do not restart it)"
/// contract: "The first `Ok` of the two wins and the other is dropped at that instant"
#[test]
fn hedged_keeps_the_primary_running_and_it_can_still_win() {
    testkit::run(|| async {
        let (result, _, probes) = hedge(100, (130, Ok("primary")), (100, Ok("backup"))).await;
        assert_eq!(
            result,
            Ok("primary"),
            "the primary must not be dropped or restarted when the backup is sent"
        );
        assert_eq!(
            now(),
            ms(130),
            "returned at t={:?}, expected t=130ms: the primary, still running when the backup was \
             sent at t=100ms, answers at t=130ms, and hedged must return that instant",
            now()
        );
        assert_eq!(
            probes[1].describe(),
            "backup: started t=100ms, cancelled t=130ms",
            "the backup must be sent exactly at the hedge delay (t=100ms), and dropped the \
             instant the primary wins (t=130ms)"
        );
    });
}

/// contract: "Primary fails before `hedge_after`: send the backup at once and return its result"
#[test]
fn hedged_sends_the_backup_at_once_when_the_primary_fails_fast() {
    testkit::run(|| async {
        let (result, timeline, _) = hedge(100, (30, Err("refused")), (40, Ok("backup"))).await;
        assert_eq!(
            result,
            Ok("backup"),
            "the primary fails at t=30ms, before the hedge delay: hedged must send the backup at \
             once and return its result, not the primary's error"
        );
        timeline.assert_eq(
            &[(0, "Primary sent"), (30, "Backup sent")],
            "a primary that fails before the hedge delay is replaced at once",
        );
        assert_eq!(
            now(),
            ms(70),
            "returned at t={:?}, expected t=70ms: the backup, sent when the primary failed \
             (t=30ms), answers 40ms later, and hedged must return that instant",
            now()
        );
    });
}

/// contract: "If one fails, wait for the other: its result is the answer"
#[test]
fn hedged_waits_for_the_other_request_when_one_fails_after_hedging() {
    testkit::run(|| async {
        let (result, _, _) = hedge(100, (300, Ok("primary")), (20, Err("refused"))).await;
        assert_eq!(
            result,
            Ok("primary"),
            "a failed backup is not the answer while the primary may still succeed"
        );
        assert_eq!(
            now(),
            ms(300),
            "returned at t={:?}, expected t=300ms: after the backup failed (t=120ms), hedged must \
             wait for the primary and return the moment it answers",
            now()
        );
    });
}

/// contract: "If both fail, return the error of the one that failed last"
#[test]
fn hedged_returns_the_last_error_when_both_fail() {
    testkit::run(|| async {
        let (result, _, _) = hedge(
            100,
            (300, Err("primary failed")),
            (50, Err("backup failed")),
        )
        .await;
        assert_eq!(
            result,
            Err("primary failed".to_string()),
            "both fail — the backup at t=150ms, the primary at t=300ms: hedged must wait for both \
             and return the error of the one that failed last (the primary's)"
        );
        assert_eq!(
            now(),
            ms(300),
            "returned at t={:?}, expected t=300ms: when both fail, hedged returns the moment the \
             last one fails",
            now()
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 5. run_worker
// ---------------------------------------------------------------------------------------------

fn job(id: u64) -> Job {
    Job {
        id,
        payload: format!("job {id}"),
    }
}

/// A handler whose job `id` takes `durations(id)`; it records start and end on the timeline and
/// wraps each run in a probe, so the test can see which job was cancelled when.
#[derive(Clone)]
struct Handler {
    timeline: Timeline,
    probes: Arc<Mutex<Vec<(u64, Probe)>>>,
    durations: fn(u64) -> Duration,
}

impl Handler {
    fn new(durations: fn(u64) -> Duration) -> Self {
        Self {
            timeline: Timeline::new(),
            probes: Arc::default(),
            durations,
        }
    }

    fn run(
        &self,
    ) -> impl FnMut(Job) -> testkit::Probed<std::pin::Pin<Box<dyn Future<Output = ()>>>> {
        let this = self.clone();
        move |job: Job| {
            let probe = Probe::new(format!("job {}", job.id));
            this.probes.lock().unwrap().push((job.id, probe.clone()));
            let (timeline, took) = (this.timeline.clone(), (this.durations)(job.id));
            timeline.record(format!("start {}", job.id));
            probe.wrap(Box::pin(async move {
                sleep(took).await;
                timeline.record(format!("done {}", job.id));
            }))
        }
    }

    /// How many times each job id was handed to the handler.
    fn handled(&self) -> Vec<u64> {
        self.probes
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| *id)
            .collect()
    }

    fn probe(&self, id: u64) -> Probe {
        let probes = self.probes.lock().unwrap();
        probes
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, p)| p.clone())
            .expect("job was never handled")
    }
}

/// Checks the worker's books: every job sent was reported exactly once or is still in the channel,
/// and none was handled twice.
fn assert_nothing_lost(
    sent: &[u64],
    report: &WorkerReport,
    rx: &mut mpsc::Receiver<Job>,
    handled: &[u64],
) {
    let mut left_in_channel = vec![];
    while let Ok(job) = rx.try_recv() {
        left_in_channel.push(job.id);
    }
    let mut accounted: Vec<u64> = report
        .completed
        .iter()
        .chain(&report.timed_out)
        .copied()
        .collect();
    accounted.extend(report.interrupted);
    accounted.extend(&left_in_channel);
    accounted.sort();
    let mut expected = sent.to_vec();
    expected.sort();
    for id in sent {
        assert!(
            accounted.contains(id),
            "job {id} vanished: it was taken from the channel but is not reported as completed, \
             timed out or interrupted, and it is no longer in the channel. A job taken inside a \
             select! branch that lost the race is dropped with that branch.\nreport: {report:?}\n\
             still in the channel: {left_in_channel:?}"
        );
    }
    assert_eq!(
        accounted, expected,
        "every job must be accounted for exactly once\nreport: {report:?}"
    );
    let mut once = handled.to_vec();
    once.dedup();
    assert_eq!(handled, once, "a job was handed to the handler twice");
}

/// contract: "Takes jobs from `jobs` one at a time and runs `handler` on each"
/// contract: "Jobs are taken in channel order, one at a time; each starts as soon as the previous one is done"
/// contract: "Jobs whose handler finished, in the order they were taken"
/// contract: "Returns when every sender is gone and the channel is empty"
#[test]
fn worker_handles_jobs_in_order_one_at_a_time_until_the_channel_closes() {
    testkit::run(|| async {
        let (tx, mut rx) = mpsc::channel(8);
        for id in 1..=3 {
            tx.send(job(id)).await.unwrap();
        }
        drop(tx);
        let handler = Handler::new(|id| ms(10 * id));
        let report = run_worker(&mut rx, CancellationToken::new(), secs(1), handler.run()).await;
        assert_eq!(
            parts(&report),
            parts(&WorkerReport {
                completed: vec![1, 2, 3],
                ..Default::default()
            }),
            "three jobs, each well within the 1s limit, then the channel closes: all three must \
             be reported as completed, in the order they were taken, none timed out or \
             interrupted"
        );
        handler.timeline.assert_eq(
            &[
                (0, "start 1"),
                (10, "done 1"),
                (10, "start 2"),
                (30, "done 2"),
                (30, "start 3"),
                (60, "done 3"),
            ],
            "jobs run one after another, each as soon as the previous one is done",
        );
        assert_eq!(
            now(),
            ms(60),
            "the worker returns once the channel is closed and empty"
        );
    });
}

/// contract: "(or as soon as it arrives, if the worker was idle)"
/// contract: "Returns when every sender is gone and the channel is empty"
#[test]
fn worker_waits_for_jobs_that_arrive_later() {
    testkit::run(|| async {
        let (tx, mut rx) = mpsc::channel(8);
        let producer = testkit::spawn(async move {
            for id in 1..=2 {
                sleep(ms(100)).await;
                tx.send(job(id)).await.unwrap();
            }
        });
        let handler = Handler::new(|_| ms(5));
        let report = run_worker(&mut rx, CancellationToken::new(), secs(1), handler.run()).await;
        producer.await.unwrap();
        assert_eq!(
            report.completed,
            vec![1, 2],
            "jobs sent at t=100ms and t=200ms must both be completed: an idle worker waits for \
             jobs until every sender is gone and the channel is empty (an empty channel is not a \
             closed one)"
        );
        handler.timeline.assert_eq(
            &[
                (100, "start 1"),
                (105, "done 1"),
                (200, "start 2"),
                (205, "done 2"),
            ],
            "an idle worker picks up each job the instant it arrives",
        );
    });
}

/// contract: "A handler that runs longer than `job_limit` is dropped at exactly that instant; its id goes to `timed_out`, and the worker moves on"
/// contract: "Jobs whose handler ran out of time and was cancelled"
#[test]
fn a_job_over_its_time_limit_is_cancelled_and_reported_as_timed_out() {
    testkit::run(|| async {
        let (tx, mut rx) = mpsc::channel(8);
        for id in 1..=3 {
            tx.send(job(id)).await.unwrap();
        }
        drop(tx);
        let handler = Handler::new(|id| if id == 2 { secs(60) } else { ms(20) });
        let report = run_worker(&mut rx, CancellationToken::new(), ms(100), handler.run()).await;
        assert_eq!(
            parts(&report),
            parts(&WorkerReport {
                completed: vec![1, 3],
                timed_out: vec![2],
                interrupted: None
            }),
            "job 2 runs for 60s under a 100ms limit: it must be cancelled and reported in \
             `timed_out`, and the worker must go on to complete job 3 (jobs 1 and 3 take 20ms \
             each)"
        );
        assert_eq!(
            handler.probe(2).describe(),
            "job 2: started t=20ms, cancelled t=120ms",
            "job 2 must be dropped when its 100ms limit passes"
        );
        assert_eq!(
            now(),
            ms(140),
            "job 3 starts right after job 2 is cancelled"
        );
    });
}

/// contract: "When `shutdown` is cancelled the worker returns **at once**: if it was idle, with nothing more"
#[test]
fn shutdown_while_idle_returns_at_once() {
    testkit::run(|| async {
        let (tx, mut rx) = mpsc::channel::<Job>(8);
        let token = CancellationToken::new();
        let canceller = token.clone();
        testkit::spawn(async move {
            sleep(ms(250)).await;
            canceller.cancel();
        });
        let handler = Handler::new(|_| ms(5));
        let report = run_worker(&mut rx, token, secs(1), handler.run()).await;
        assert_eq!(
            parts(&report),
            (vec![], vec![], None),
            "no job ever arrived before shutdown: the worker was idle, so its report must be \
             empty"
        );
        assert_eq!(
            now(),
            ms(250),
            "an idle worker must stop the instant shutdown is requested"
        );
        drop(tx);
    });
}

/// contract: "if a handler was running, that handler is dropped and its id reported as `interrupted`"
/// contract: "The job whose handler was running when shutdown was requested, if any"
/// contract: "Jobs not taken stay in the channel"
#[test]
fn shutdown_interrupts_the_running_job_at_once_and_reports_it() {
    testkit::run(|| async {
        let (tx, mut rx) = mpsc::channel(8);
        for id in 1..=4 {
            tx.send(job(id)).await.unwrap();
        }
        let token = CancellationToken::new();
        let canceller = token.clone();
        testkit::spawn(async move {
            sleep(ms(150)).await;
            canceller.cancel();
        });
        let handler = Handler::new(|_| ms(100));
        let report = run_worker(&mut rx, token, secs(1), handler.run()).await;
        assert_eq!(
            now(),
            ms(150),
            "shutdown at t=150ms must stop the worker at once, not after job 2 finishes at t=200ms"
        );
        assert_eq!(
            parts(&report),
            parts(&WorkerReport {
                completed: vec![1],
                timed_out: vec![],
                interrupted: Some(2)
            }),
            "job 2 was running at t=150ms: it must be reported as interrupted"
        );
        assert_eq!(
            handler.probe(2).cancelled_at(),
            Some(ms(150)),
            "job 2's handler must be dropped the instant shutdown is requested (t=150ms), not \
             left to finish or run on in the background ({})",
            handler.probe(2).describe()
        );
        assert_nothing_lost(&[1, 2, 3, 4], &report, &mut rx, &handler.handled());
    });
}

/// contract: "A worker whose token is already cancelled takes no further job, even when one is ready"
/// contract: "Jobs not taken stay in the channel"
#[test]
fn a_worker_told_to_stop_takes_no_further_job_even_when_one_is_ready() {
    // Many rounds: a select! without a fixed order picks a ready branch at random.
    testkit::run(|| async {
        for round in 0..32 {
            let (tx, mut rx) = mpsc::channel(8);
            tx.send(job(1)).await.unwrap();
            let token = CancellationToken::new();
            token.cancel();
            let handler = Handler::new(|_| ms(10));
            let report = run_worker(&mut rx, token, secs(1), handler.run()).await;
            assert_eq!(
                (parts(&report), handler.handled()),
                ((vec![], vec![], None), vec![]),
                "round {round}: shutdown was already requested, so job 1 must stay in the channel \
                 (check the token first: `biased;` in select!)"
            );
            assert_eq!(
                rx.try_recv().map(|j| j.id),
                Ok(1),
                "round {round}: job 1 must still be in the channel: a worker whose token is \
                 already cancelled takes no job, and a job taken and then dropped is lost"
            );
        }
    });
}

/// contract: "every job taken from the channel is reported exactly once (completed, timed out or interrupted)"
/// contract: "What a worker did with every job it took from the channel"
#[test]
fn no_job_is_lost_or_handled_twice_whenever_shutdown_comes() {
    // Shutdown lands at every kind of moment: while idle, mid-job, at a job boundary, while a
    // job is timing out. The books must balance every time.
    testkit::run(|| async {
        for stop_at in (0..=400).step_by(7) {
            let start = now();
            let (tx, mut rx) = mpsc::channel(4);
            let token = CancellationToken::new();
            let sent = Arc::new(Mutex::new(vec![]));
            let producer = {
                let sent = sent.clone();
                testkit::spawn(async move {
                    for id in 1..=12u64 {
                        sleep(ms(id * 13 % 29)).await;
                        if tx.send(job(id)).await.is_err() {
                            break;
                        }
                        sent.lock().unwrap().push(id);
                    }
                })
            };
            let canceller = token.clone();
            let stopper = testkit::spawn(async move {
                sleep(ms(stop_at)).await;
                canceller.cancel();
            });
            let handler = Handler::new(|id| ms(id * 17 % 45));
            let report = run_worker(&mut rx, token, ms(40), handler.run()).await;
            assert!(
                now() - start <= ms(stop_at),
                "the worker ran past shutdown at {stop_at}ms into the round"
            );
            stopper.await.unwrap();
            producer.abort();
            let _ = producer.await;
            let sent = sent.lock().unwrap().clone();
            assert_nothing_lost(&sent, &report, &mut rx, &handler.handled());
            let mut taken: Vec<u64> = report
                .completed
                .iter()
                .chain(&report.timed_out)
                .copied()
                .chain(report.interrupted)
                .collect();
            taken.sort();
            assert_eq!(
                taken,
                (1..=taken.len() as u64).collect::<Vec<_>>(),
                "jobs are taken in order"
            );
        }
    });
}

/// contract: "If the worker's own future is dropped while it waits for a job, no job is lost either"
#[test]
fn dropping_the_worker_while_it_waits_loses_no_job() {
    testkit::run(|| async {
        let (tx, mut rx) = mpsc::channel(8);
        let handler = Handler::new(|_| ms(5));
        let stopped = with_timeout(
            ms(50),
            run_worker(&mut rx, CancellationToken::new(), secs(1), handler.run()),
        )
        .await;
        assert!(
            stopped.is_err(),
            "the worker should still be waiting for a job at t=50ms"
        );
        tx.send(job(9)).await.unwrap();
        assert_eq!(
            rx.try_recv().map(|j| j.id),
            Ok(9),
            "the channel must be intact after the worker is dropped"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 6. Supervisor::shutdown
// ---------------------------------------------------------------------------------------------

/// A worker that notices the token and then takes `cleanup` to finish.
fn polite(
    timeline: &Timeline,
    name: &'static str,
    cleanup: Duration,
) -> impl FnOnce(CancellationToken) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    let timeline = timeline.clone();
    move |token| {
        Box::pin(async move {
            token.cancelled().await;
            timeline.record(format!("{name} saw shutdown"));
            sleep(cleanup).await;
            timeline.record(format!("{name} done"));
        })
    }
}

/// A worker that ignores the token.
fn stubborn(
    probe: &Probe,
) -> impl FnOnce(CancellationToken) -> testkit::Probed<tokio::time::Sleep> {
    let probe = probe.clone();
    move |_token| probe.wrap(sleep(secs(3600)))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// contract: "Owns a group of named worker tasks and shuts them down together"
/// contract: "Cancels the token, waits until every worker has ended or `grace` has passed"
/// contract: "Who ended how, each list sorted by name"
/// contract: "The token is cancelled the instant `shutdown` is called"
/// contract: "Returns as soon as the last worker ends, without waiting out the grace period"
/// contract: "Workers that returned on their own (before or during the shutdown)"
#[test]
fn shutdown_signals_every_worker_and_returns_when_the_last_one_finishes() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let mut supervisor = Supervisor::new();
        supervisor.spawn("c", polite(&timeline, "c", ms(30)));
        supervisor.spawn("a", polite(&timeline, "a", ms(10)));
        supervisor.spawn("b", polite(&timeline, "b", ms(20)));
        sleep(ms(100)).await;
        let report = supervisor.shutdown(secs(5)).await;
        assert_eq!(
            names_of(&report),
            names_of(&ShutdownReport {
                finished: names(&["a", "b", "c"]),
                ..Default::default()
            }),
            "all three workers finish their cleanup well within the 5s grace: each must be \
             reported in `finished`, the list sorted by name (not in spawn order)"
        );
        assert_eq!(
            now(),
            ms(130),
            "shutdown must return as soon as every worker has finished (t=130ms), not wait out the 5s grace"
        );
        let seen = timeline
            .entries()
            .into_iter()
            .filter(|(_, e)| e.ends_with("saw shutdown"))
            .count();
        assert_eq!(seen, 3, "every worker must see the shutdown signal");
        assert_eq!(
            timeline.instants_of("a saw shutdown"),
            vec![ms(100)],
            "the signal goes out at once"
        );
    });
}

/// contract: "Workers still running when the grace period ended, and aborted"
/// contract: "No worker task may be alive when this returns"
#[test]
fn a_worker_that_ignores_shutdown_is_aborted_when_the_grace_period_ends() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let probe = Probe::new("stubborn");
        let mut supervisor = Supervisor::new();
        supervisor.spawn("polite", polite(&timeline, "polite", ms(50)));
        supervisor.spawn("stubborn", stubborn(&probe));
        sleep(ms(10)).await;
        let report = supervisor.shutdown(ms(200)).await;
        assert_eq!(
            names_of(&report),
            names_of(&ShutdownReport {
                finished: names(&["polite"]),
                aborted: names(&["stubborn"]),
                panicked: vec![]
            }),
            "the polite worker ends 50ms after the signal and the stubborn one ignores it: when \
             the 200ms grace ends, stubborn must be aborted and reported in `aborted`, polite in \
             `finished`"
        );
        assert_eq!(
            now(),
            ms(210),
            "the grace period (200ms) ends at t=210ms: abort then, and return"
        );
        assert_eq!(
            probe.cancelled_at(),
            Some(ms(210)),
            "the stubborn worker must be gone when shutdown returns"
        );
    });
}

/// contract: "`grace` is one period for the whole group, not one per worker: at `grace` after the call, every worker still running is aborted"
#[test]
fn the_grace_period_is_shared_by_all_workers_not_given_to_each() {
    testkit::run(|| async {
        let probes: Vec<Probe> = (0..3)
            .map(|i| Probe::new(format!("stubborn {i}")))
            .collect();
        let mut supervisor = Supervisor::new();
        for (i, probe) in probes.iter().enumerate() {
            supervisor.spawn(format!("s{i}"), stubborn(probe));
        }
        let report = supervisor.shutdown(ms(300)).await;
        assert_eq!(
            report.aborted,
            names(&["s0", "s1", "s2"]),
            "three workers that ignore the token must all be aborted when the grace period ends \
             and reported in `aborted`, sorted by name"
        );
        assert_eq!(
            now(),
            ms(300),
            "three stubborn workers must all be aborted when the one 300ms grace period ends, \
             not after 300ms each"
        );
    });
}

/// contract: "Workers that panicked"
/// contract: "Workers that returned on their own (before or during the shutdown)"
/// contract: "Spawns `worker(token)` as a task named `name`"
#[test]
fn workers_that_ended_before_shutdown_count_as_finished_and_panics_are_reported() {
    testkit::run(|| async {
        let mut supervisor = Supervisor::new();
        supervisor.spawn("quick", |_token| async { sleep(ms(5)).await });
        supervisor.spawn("crashes", |_token| async {
            sleep(ms(5)).await;
            panic!("worker crashed");
        });
        sleep(ms(100)).await;
        let report = supervisor.shutdown(secs(1)).await;
        assert_eq!(
            names_of(&report),
            names_of(&ShutdownReport {
                finished: names(&["quick"]),
                aborted: vec![],
                panicked: names(&["crashes"])
            }),
            "a worker that returned before shutdown counts as finished, and a worker that \
             panicked must be reported in `panicked`, not as finished or aborted"
        );
        assert_eq!(
            now(),
            ms(100),
            "returned at t={:?}, expected t=100ms: both workers had ended before shutdown was \
             called, so it must return at once, not wait out the 1s grace",
            now()
        );
    });
}

/// contract: "An empty supervisor"
#[test]
fn shutdown_with_no_workers_returns_at_once() {
    Test::new().run(|| async {
        let report = Supervisor::new().shutdown(secs(10)).await;
        assert_eq!(
            names_of(&report),
            (vec![], vec![], vec![]),
            "a supervisor with no workers has nobody to report: the report must be empty"
        );
        assert_eq!(
            now(),
            ms(0),
            "returned at t={:?}, expected t=0ms: with no worker to wait for, shutdown must return \
             at once, not wait out the 10s grace",
            now()
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 7. Boundaries, ties, repeats and a caller that gives up: what the docs decide
// ---------------------------------------------------------------------------------------------

/// contract: "An operation that completes at the very instant the limit is reached is in time: `Ok`"
/// contract: "So is one that is ready at once under a zero limit"
#[test]
fn with_timeout_counts_an_operation_done_exactly_at_the_limit_as_in_time() {
    testkit::run(|| async {
        let result = with_timeout(ms(200), after(ms(200), "just in time")).await;
        assert_eq!(
            timed(&result),
            Ok("just in time"),
            "an operation done at t=200ms under a 200ms limit: an operation that completes at the \
             very instant the limit is reached is in time (check the operation before the clock)"
        );
        let ready = with_timeout(Duration::ZERO, async { 5 }).await;
        assert_eq!(
            timed(&ready),
            Ok(5),
            "an operation ready at once under a zero limit is in time: with_timeout must return \
             Ok(5) (check the operation before the clock, at the very instant of the limit)"
        );
        returned_at(ms(200), "with_timeout");
    });
}

/// contract: "An attempt whose own `attempt_timeout` ends exactly at the deadline was not cut short: it timed out"
#[test]
fn a_last_attempt_whose_timeout_ends_at_the_deadline_is_exhausted_not_cut_short() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        // Attempt 1 fails at once, attempt 2 starts at t=100ms and hangs: its own 200ms timeout
        // ends at t=300ms, exactly the deadline.
        let policy = RetryPolicy {
            max_attempts: 2,
            attempt_timeout: ms(200),
            deadline: ms(300),
            ..policy()
        };
        let result = retry(
            &policy,
            scripted(
                &timeline,
                vec![(ms(0), Some(Err("down".into()))), (ms(0), None)],
            ),
        )
        .await;
        assert_eq!(
            retried(&result),
            Err("Exhausted { attempts: 2, last: TimedOut(200ms allowed) }".to_string()),
            "the last attempt (2 of 2) started at t=100ms with 200ms to run, and its own timeout \
             ended exactly at the 300ms deadline: it was not cut short by the deadline, it timed \
             out on its own, so retry gives up with Exhausted (cut short means it had less than \
             attempt_timeout left)"
        );
        returned_at(ms(300), "retry");
    });
}

/// contract: "with `max_attempts` 0 the one attempt made is the last, so `attempts` is 1"
/// contract: "The most attempts to make (at least one is always made)"
#[test]
fn max_attempts_zero_makes_one_attempt_and_says_so() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let policy = RetryPolicy {
            max_attempts: 0,
            ..policy()
        };
        let result = retry(&policy, scripted(&timeline, vec![])).await;
        assert_eq!(
            retried(&result),
            Err("Exhausted { attempts: 1, last: Failed(\"down\") }".to_string()),
            "max_attempts 0 still makes one attempt, and that attempt is the last: when it fails, \
             retry must return Exhausted {{ attempts: 1, .. }} — the attempts made, not \
             max_attempts"
        );
        assert_eq!(
            timeline.len(),
            1,
            "retry made {} attempts with max_attempts 0, expected exactly 1",
            timeline.len()
        );
    });
}

/// contract: "if they fail at the same instant, the backup's error"
#[test]
fn hedged_returns_the_backup_error_when_both_fail_at_the_same_instant() {
    testkit::run(|| async {
        let (result, _, _) = hedge(
            100,
            (150, Err("primary failed")),
            (50, Err("backup failed")),
        )
        .await;
        assert_eq!(
            result,
            Err("backup failed".to_string()),
            "the primary (sent at t=0) and the backup (sent at t=100ms) both fail at t=150ms: \
             when both fail at the same instant, hedged must return the backup's error"
        );
        returned_at(ms(150), "hedged");
    });
}

/// contract: "A handler that finishes at the very instant `job_limit` is reached has finished in time: `completed`"
#[test]
fn a_handler_done_exactly_at_its_limit_is_completed() {
    testkit::run(|| async {
        let (tx, mut rx) = mpsc::channel(8);
        for id in 1..=2 {
            tx.send(job(id)).await.unwrap();
        }
        drop(tx);
        let handler = Handler::new(|id| if id == 1 { ms(100) } else { ms(150) });
        let report = run_worker(&mut rx, CancellationToken::new(), ms(100), handler.run()).await;
        assert_eq!(
            parts(&report),
            (vec![1], vec![2], None),
            "job 1 takes exactly the 100ms job_limit and job 2 takes 150ms: a handler that \
             finishes at the very instant job_limit is reached has finished in time (completed); \
             job 2 is timed out"
        );
        assert_eq!(
            now(),
            ms(200),
            "the worker returned at t={:?}, expected t=200ms",
            now()
        );
    });
}

/// contract: "Ids need not be unique: a job is reported once per time it was taken, repeats included"
/// contract: "Jobs whose handler ran out of time and was cancelled, in the order they were taken"
#[test]
fn a_job_id_taken_twice_is_reported_twice_in_the_order_taken() {
    testkit::run(|| async {
        // Once with every handler in time, once with every handler over the 100ms limit.
        let in_time: fn(u64) -> Duration = |_| ms(10);
        let too_long: fn(u64) -> Duration = |_| secs(60);
        let runs = [
            (in_time, (vec![3, 1, 3], vec![]), "completed"),
            (too_long, (vec![], vec![3, 1, 3]), "timed out"),
        ];
        for (took, (completed, timed_out), how) in runs {
            let (tx, mut rx) = mpsc::channel(8);
            for id in [3, 1, 3] {
                tx.send(job(id)).await.unwrap();
            }
            drop(tx);
            let handler = Handler::new(took);
            let report =
                run_worker(&mut rx, CancellationToken::new(), ms(100), handler.run()).await;
            assert_eq!(
                parts(&report),
                (completed, timed_out, None),
                "jobs with ids 3, 1, 3 are all {how}: ids need not be unique, and a job is \
                 reported once per time it was taken, in the order taken (no set, no sorting)"
            );
        }
    });
}

/// contract: "A handler that finishes at the very instant shutdown is requested may be reported either way"
#[test]
fn shutdown_at_the_instant_a_handler_finishes_reports_each_job_once_either_way() {
    // Rounds: which of two tasks woken at one instant runs first is the runtime's choice.
    testkit::run(|| async {
        for round in 0..8 {
            let start = now();
            let (tx, mut rx) = mpsc::channel(8);
            for id in 1..=3 {
                tx.send(job(id)).await.unwrap();
            }
            let token = CancellationToken::new();
            let canceller = token.clone();
            let stopper = testkit::spawn(async move {
                sleep(ms(100)).await;
                canceller.cancel();
            });
            let handler = Handler::new(|_| ms(100));
            let report = run_worker(&mut rx, token, secs(1), handler.run()).await;
            stopper.await.unwrap();
            assert_eq!(
                now() - start,
                ms(100),
                "round {round}: shutdown requested at t=100ms: the worker must return at once"
            );
            let (completed, timed_out, interrupted) = parts(&report);
            assert!(
                timed_out.is_empty()
                    && matches!(
                        (completed.as_slice(), interrupted),
                        ([], Some(1)) | ([1], Some(2)) | ([1], None)
                    ),
                "round {round}: job 1's handler finishes at t=100ms, the very instant shutdown is \
                 requested: job 1 may be reported as completed or as interrupted, but once, and \
                 no later job may be completed\nreport: {report:?}"
            );
            assert_nothing_lost(&[1, 2, 3], &report, &mut rx, &handler.handled());
        }
    });
}

/// contract: "Names need not be unique: two workers spawned under one name are two entries"
#[test]
fn two_workers_with_one_name_are_two_entries_of_the_report() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let mut supervisor = Supervisor::new();
        supervisor.spawn("twin", polite(&timeline, "twin 1", ms(10)));
        supervisor.spawn("twin", polite(&timeline, "twin 2", ms(20)));
        supervisor.spawn("alone", polite(&timeline, "alone", ms(5)));
        let report = supervisor.shutdown(secs(1)).await;
        assert_eq!(
            names_of(&report),
            (names(&["alone", "twin", "twin"]), vec![], vec![]),
            "two workers spawned under the name \"twin\" are two entries of `finished`: names need \
             not be unique (keep a name per task, not a task per name)"
        );
        returned_at(ms(20), "shutdown");
    });
}

/// contract: "If this future is dropped before it completes (a caller's timeout, say), every worker still running is aborted at that instant"
#[test]
fn a_shutdown_dropped_by_its_caller_aborts_every_worker_at_once() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let probe = Probe::new("stubborn");
        let mut supervisor = Supervisor::new();
        supervisor.spawn("slow", polite(&timeline, "slow", secs(5)));
        supervisor.spawn("stubborn", stubborn(&probe));
        let gave_up = with_timeout(ms(300), supervisor.shutdown(secs(10))).await;
        assert!(
            gave_up.is_err(),
            "the caller gives up on a shutdown with a 10s grace after 300ms"
        );
        sleep(secs(10)).await;
        assert_eq!(
            probe.cancelled_at(),
            Some(ms(300)),
            "the caller dropped shutdown's future at t=300ms: every worker still running must be \
             aborted at that instant — no worker outlives its supervisor ({}; dropping a \
             JoinHandle only detaches its task: abort it, or keep the tasks in a JoinSet)",
            probe.describe()
        );
        assert_eq!(
            timeline.instants_of("slow done"),
            vec![],
            "the worker \"slow\" (5s of cleanup) finished its cleanup after its supervisor's \
             shutdown was dropped at t=300ms: no worker outlives its supervisor — abort every \
             worker still running when shutdown's future is dropped"
        );
    });
}

/// contract: "unless `fut` is ready at once: an operation done by the deadline, or at it, is in time and returns `Ok`"
#[test]
fn with_deadline_returns_an_operation_done_by_the_deadline_even_one_already_past() {
    testkit::run(|| async {
        let passed = Instant::now();
        sleep(ms(10)).await;
        let ready = with_deadline(passed, async { 5 }).await;
        assert_eq!(
            timed(&ready),
            Ok(5),
            "the deadline passed 10ms before the call, but the operation is ready at once: an \
             operation done by the deadline is in time, so with_deadline must return Ok(5) (poll \
             the operation before deciding that no time is left)"
        );
        let on_time = with_deadline(Instant::now() + ms(50), after(ms(50), 7)).await;
        assert_eq!(
            timed(&on_time),
            Ok(7),
            "an operation done exactly at its deadline (50ms after the call) is in time: \
             with_deadline must return Ok(7), not TimedOut (check the operation before the clock)"
        );
        returned_at(ms(60), "with_deadline");
    });
}

/// contract: "an attempt that answers at the very instant its time is up has answered in time"
#[test]
fn retry_counts_an_attempt_answering_exactly_when_its_time_is_up_as_in_time() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let policy = RetryPolicy {
            attempt_timeout: ms(200),
            ..policy()
        };
        let result = retry(
            &policy,
            scripted(&timeline, vec![(ms(200), Some(Ok("just in time")))]),
        )
        .await;
        assert_eq!(
            retried(&result),
            Ok("just in time"),
            "attempt 1 answers Ok exactly at its 200ms attempt_timeout: an attempt that answers \
             at the very instant its time is up has answered in time (check the attempt before \
             its timer)"
        );
        returned_at(ms(200), "retry");

        let start = now();
        let timeline = Timeline::new();
        let cut = RetryPolicy {
            deadline: ms(250),
            ..policy
        };
        let result = retry(
            &cut,
            scripted(
                &timeline,
                vec![
                    (ms(0), Some(Err("down".into()))),
                    (ms(150), Some(Ok("at the deadline"))),
                ],
            ),
        )
        .await;
        assert_eq!(
            retried(&result),
            Ok("at the deadline"),
            "attempt 2 starts at t=100ms with 150ms left before the 250ms deadline and answers \
             Ok exactly at the deadline: an attempt that answers at the very instant its time is \
             up has answered in time, the deadline's cut included"
        );
        assert_eq!(
            now() - start,
            ms(250),
            "retry returned {:?} after the call, expected 250ms",
            now() - start
        );
    });
}

/// contract: "when the next attempt would start at or after the deadline"
#[test]
fn retry_gives_up_at_once_when_the_next_attempt_would_start_exactly_at_the_deadline() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        // Attempt 1 at t=0, attempt 2 at t=100ms; attempt 3 is due 200ms later: at t=300ms, the
        // deadline itself.
        let policy = RetryPolicy {
            deadline: ms(300),
            ..policy()
        };
        let result = retry(&policy, scripted(&timeline, vec![])).await;
        assert_eq!(
            retried(&result),
            Err("DeadlineExceeded { attempts: 2, last: Failed(\"down\") }".to_string()),
            "attempt 3 would start at t=300ms, exactly the deadline: the next attempt would start \
             at or after the deadline, so retry gives up with DeadlineExceeded after 2 attempts \
             (`>=`, not `>`: an attempt starting at the deadline has no time at all)"
        );
        assert_eq!(
            now(),
            ms(100),
            "retry returned at t={:?}, expected t=100ms: it gives up right after attempt 2 fails, \
             without sleeping towards the deadline",
            now()
        );
        assert_eq!(
            timeline.len(),
            2,
            "retry made {} attempts, expected 2",
            timeline.len()
        );
    });
}

/// contract: "`DeadlineExceeded`, at the deadline, even if it was the last attempt"
#[test]
fn retry_gives_up_with_deadline_exceeded_when_the_deadline_cuts_the_last_attempt_short() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        // Attempt 1 times out on its own at t=800ms; attempt 2 (of 2) starts at t=900ms with only
        // 100ms left, and hangs.
        let policy = RetryPolicy {
            max_attempts: 2,
            attempt_timeout: ms(800),
            deadline: secs(1),
            ..policy()
        };
        let result = retry(
            &policy,
            scripted(&timeline, vec![(ms(0), None), (ms(0), None)]),
        )
        .await;
        assert_eq!(
            retried(&result),
            Err("DeadlineExceeded { attempts: 2, last: TimedOut(100ms allowed) }".to_string()),
            "the last attempt (2 of 2) had only 100ms left before the 1s deadline and its time \
             ran out: the deadline cut it short, so retry gives up with DeadlineExceeded even \
             though it was the last attempt (look at the deadline's cut before counting attempts)"
        );
        assert_eq!(
            now(),
            secs(1),
            "retry returned at t={:?}, expected t=1000ms",
            now()
        );
    });
}

/// contract: "also when the last attempt failed at or near the deadline, as long as the deadline did not cut it short"
#[test]
fn retry_reports_a_last_attempt_failing_exactly_at_the_deadline_as_exhausted() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        // Attempt 2 (of 2) starts at t=100ms with 200ms left and fails exactly at the 300ms
        // deadline: it answered in time, so the deadline did not cut it short.
        let policy = RetryPolicy {
            max_attempts: 2,
            deadline: ms(300),
            ..policy()
        };
        let result = retry(
            &policy,
            scripted(
                &timeline,
                vec![
                    (ms(0), Some(Err("down".into()))),
                    (ms(200), Some(Err("late".into()))),
                ],
            ),
        )
        .await;
        assert_eq!(
            retried(&result),
            Err("Exhausted { attempts: 2, last: Failed(\"late\") }".to_string()),
            "the last attempt (2 of 2) failed with an error exactly at the deadline: that is \
             Exhausted with its failure, at once — also when the last attempt failed at or near \
             the deadline, as long as the deadline did not cut it short (count the attempts \
             before looking at the clock)"
        );
        returned_at(ms(300), "retry");
    });
}

/// contract: "nor does an `Err` at the same instant"
#[test]
fn first_ok_takes_an_ok_that_arrives_with_an_err_at_the_same_instant() {
    testkit::run(|| async {
        let probes: Vec<Probe> = ["fails", "succeeds", "slow"].map(Probe::new).into();
        let racers = vec![
            racer(&probes[0], 100, Err("boom")),
            racer(&probes[1], 100, Ok("tied")),
            racer(&probes[2], 300, Ok("slow")),
        ];
        let result = first_ok(racers).await;
        assert_eq!(
            result,
            Ok("tied"),
            "one racer fails and another succeeds, both at t=100ms: an Err at the same instant \
             does not end the race, the Ok wins"
        );
        assert_eq!(
            (now(), probes[2].cancelled_at()),
            (ms(100), Some(ms(100))),
            "first_ok must return at t=100ms, when the Ok arrived, and drop the slow racer then \
             ({})",
            probes[2].describe()
        );
    });
}

/// contract: "or at that very instant: return it; the backup is never sent"
#[test]
fn hedged_takes_a_primary_answering_exactly_at_the_hedge_delay_and_sends_no_backup() {
    testkit::run(|| async {
        let (result, timeline, _) = hedge(100, (100, Ok("primary")), (10, Ok("backup"))).await;
        assert_eq!(
            result,
            Ok("primary"),
            "the primary answers at t=100ms, the very instant of the 100ms hedge delay: hedged \
             must return its answer"
        );
        timeline.assert_eq(
            &[(0, "Primary sent")],
            "a primary that succeeds at the very instant of the hedge delay is in time: the \
             backup is never sent (check the primary before the hedge timer)",
        );
        returned_at(ms(100), "hedged");
    });
}

/// contract: "send the backup at once and return its result"
#[test]
fn hedged_returns_the_backups_error_when_the_primary_failed_fast_and_the_backup_fails_too() {
    testkit::run(|| async {
        let (result, _, _) =
            hedge(100, (30, Err("primary failed")), (40, Err("backup failed"))).await;
        assert_eq!(
            result,
            Err("backup failed".to_string()),
            "the primary fails at t=30ms, before the hedge delay, and the backup sent then fails \
             at t=70ms: hedged returns the backup's result, its error here (not the primary's)"
        );
        returned_at(ms(70), "hedged");
    });
}

/// contract: "A worker that ends at the very instant the grace period ends may be reported either way"
#[test]
fn a_worker_ending_exactly_when_the_grace_period_ends_is_reported_once_either_way() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let probe = Probe::new("stubborn");
        let mut supervisor = Supervisor::new();
        supervisor.spawn("on the dot", polite(&timeline, "on the dot", ms(100)));
        supervisor.spawn("stubborn", stubborn(&probe));
        let report = supervisor.shutdown(ms(100)).await;
        let (finished, aborted, panicked) = names_of(&report);
        let on_the_dot = finished
            .iter()
            .chain(&aborted)
            .filter(|n| *n == "on the dot")
            .count();
        assert_eq!(
            (on_the_dot, panicked),
            (1, vec![]),
            "the worker \"on the dot\" ends at t=100ms, the very instant the 100ms grace period \
             ends: it may be reported as finished or as aborted, but exactly once\n\
             report: {report:?}"
        );
        assert!(
            aborted.contains(&"stubborn".to_string()),
            "the stubborn worker ignores the token: it must be aborted when the grace period ends\n\
             report: {report:?}"
        );
        assert_eq!(
            now(),
            ms(100),
            "shutdown returned at t={:?}, expected t=100ms, when the grace period ended",
            now()
        );
    });
}

/// contract: "No worker task may be alive when this returns (an aborted task is gone only once it has been joined)"
/// contract: "aborts the rest, and returns once no worker task is left alive"
#[test]
fn shutdown_on_a_multi_thread_runtime_leaves_no_worker_running() {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Busy workers that ignore the token are mid-poll on another thread when they are aborted: an
    // abort only asks, and a worker is gone once it has been joined. Real clock, real threads.
    testkit::threads::on_threads(4, secs(30), || async {
        for round in 0..6 {
            let ticks = Arc::new(AtomicU64::new(0));
            let mut supervisor = Supervisor::new();
            for name in ["busy 1", "busy 2", "busy 3"] {
                let ticks = ticks.clone();
                supervisor.spawn(name, move |_token| async move {
                    loop {
                        let started = std::time::Instant::now();
                        while started.elapsed() < Duration::from_micros(50) {
                            std::hint::spin_loop();
                        }
                        ticks.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                    }
                });
            }
            supervisor.spawn("polite", |token| async move { token.cancelled().await });
            sleep(ms(5)).await;
            let report = supervisor.shutdown(ms(250)).await;
            let at_return = ticks.load(Ordering::SeqCst);
            sleep(ms(20)).await;
            let later = ticks.load(Ordering::SeqCst);
            assert_eq!(
                later,
                at_return,
                "round {round}: a worker kept running after shutdown returned ({} more ticks in \
                 the next 20ms): no worker task may be alive when shutdown returns — an aborted \
                 task is gone only once it has been joined (await its JoinHandle, or join_next \
                 on a JoinSet, after aborting)",
                later - at_return
            );
            assert_eq!(
                names_of(&report),
                (
                    names(&["polite"]),
                    names(&["busy 1", "busy 2", "busy 3"]),
                    vec![]
                ),
                "round {round}: three busy workers ignore the token and one returns when it is \
                 cancelled: the three are aborted when the 250ms grace ends, the polite one \
                 finished"
            );
        }
    });
}

// ---- instructor only: tests against the reference
//
// Differential tests: scenarios generated from a fixed seed, each replayed on the reference and on
// the learner's crate, and compared event by event — when each operation was started, when it
// answered or was dropped, what the call returned and when. Every scenario's instants are
// multiples of 50 ms, so boundaries come up all the time: an attempt that answers exactly at its
// timeout or at the deadline, a next attempt due exactly at the deadline, a primary answering
// exactly at the hedge delay, two racers or two requests at the same instant, a handler finishing
// exactly at its limit, repeated job ids and worker names, zero counts and limits. Where the docs
// leave a tie open (several successes at one instant), the judge accepts every answer they allow.
// A caller that gives up (drops the call) does so at an odd instant (50k + 25 ms), as does a
// worker's shutdown, so that no scheduling order between two tasks decides the outcome — the docs
// fix what is lost and what keeps running, never which of two tasks is polled first. After the
// call returns or is dropped the replay waits on, so that anything left running shows up.

use ex06_timeouts_reference as reference;
use std::pin::Pin;
use testkit::differential::proptest::prelude::*;
use testkit::differential::{Check, same_events};

type Events = Timeline;
type Observed = Vec<(u64, String)>;
type Replayed = Pin<Box<dyn Future<Output = Observed>>>;
type Answer = Pin<Box<dyn Future<Output = Result<String, String>>>>;

/// The events so far, sorted within each instant: the order of two things that happen at the same
/// virtual instant (two tasks woken together) is not part of any contract.
fn sorted(events: &Events) -> Observed {
    let mut events = events.millis();
    events.sort();
    events
}

/// Logs `<label> dropped` when dropped before `done` was set: an operation cancelled midway.
struct DropLog {
    events: Events,
    label: String,
    done: bool,
}

impl Drop for DropLog {
    fn drop(&mut self) {
        if !self.done {
            self.events.record(format!("{} dropped", self.label));
        }
    }
}

/// How a scripted operation answers.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Ok,
    Err,
    Never,
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![Just(Reply::Ok), Just(Reply::Err), Just(Reply::Never)]
}

/// A multiple of 50 ms from 0 to `50 * most`: boundaries coincide often.
fn step(most: u64) -> impl Strategy<Value = u64> {
    (0..=most).prop_map(|k| 50 * k)
}

/// An instant between two steps (50k + 25 ms): a caller's give-up or a shutdown never ties with
/// a scripted event.
fn between(most: u64) -> impl Strategy<Value = Option<u64>> {
    prop::option::of((0..=most).prop_map(|k| 50 * k + 25))
}

/// An operation that answers `reply` after `delay` ms (or never), logging when it answers and
/// when it is dropped unfinished. The log guard lives in the future from the start, so an
/// operation dropped before it was ever polled is seen too.
fn scripted_op(events: &Events, label: String, delay: u64, reply: Reply) -> Answer {
    let mut guard = DropLog {
        events: events.clone(),
        label,
        done: false,
    };
    Box::pin(async move {
        sleep(ms(delay)).await;
        let answer = match reply {
            Reply::Ok => Ok(format!("{} ok", guard.label)),
            Reply::Err => Err(format!("{} failed", guard.label)),
            Reply::Never => std::future::pending().await,
        };
        guard.done = true;
        guard
            .events
            .record(format!("{} answers {answer:?}", guard.label));
        answer
    })
}

/// Awaits `fut`, or drops it at `cut` ms after `start` (the caller gives up). Without a cut the
/// caller still gives up at t=10.025s: a race of operations that never answer waits forever, by
/// contract, and the replay must end.
async fn unless_cut<F: Future>(
    events: &Events,
    start: Instant,
    cut: Option<u64>,
    fut: F,
) -> Option<F::Output> {
    let cut = cut.unwrap_or(10_025);
    match tokio::time::timeout_at(start + ms(cut), fut).await {
        Ok(output) => Some(output),
        Err(_) => {
            events.record("the caller gives up (drops the call)");
            None
        }
    }
}

fn differs(what: &str, reference: &Observed, yours: &Observed) -> Result<(), String> {
    same_events(what, reference, yours)
}

// ----- with_timeout / with_deadline

#[derive(Clone, Debug)]
struct TimeoutCase {
    /// `with_deadline` (called at t=100ms) instead of `with_timeout` (called at t=0).
    deadline: bool,
    /// The limit, or the deadline's instant.
    limit: u64,
    delay: u64,
    reply: Reply,
}

fn timeout_cases() -> impl Strategy<Value = TimeoutCase> {
    (any::<bool>(), step(5), step(5), reply()).prop_map(|(deadline, limit, delay, reply)| {
        TimeoutCase {
            deadline,
            limit,
            delay,
            reply,
        }
    })
}

macro_rules! replay_timeout {
    ($krate:ident) => {
        |case: TimeoutCase| -> Replayed {
            Box::pin(async move {
                let events = Events::default();
                let start = Instant::now();
                let op = scripted_op(&events, "operation".into(), case.delay, case.reply);
                let result = if case.deadline {
                    sleep(ms(100)).await;
                    $krate::with_deadline(start + ms(case.limit), op).await
                } else {
                    $krate::with_timeout(ms(case.limit), op).await
                };
                let said = match result {
                    Ok(answer) => format!("Ok({answer:?})"),
                    Err($krate::TimedOut { allowed }) => format!("TimedOut(allowed {allowed:?})"),
                };
                events.record(format!("returns {said}"));
                sorted(&events)
            })
        }
    };
}

/// contract: "Otherwise returns `Err(TimedOut { allowed: limit })` at exactly `limit` after the call"
/// contract: "An operation that completes at the very instant the limit is reached is in time: `Ok`"
/// contract: "unless `fut` is ready at once: an operation done by the deadline, or at it, is in time and returns `Ok`"
#[test]
fn timeouts_match_the_reference_at_and_around_the_limit() {
    Check::new("timeouts_match_the_reference_at_and_around_the_limit")
        .cases(96)
        .run(
            timeout_cases(),
            replay_timeout!(ex06_timeouts),
            replay_timeout!(reference),
            |_, reference, yours| {
                differs(
                    "when the operation answered or was dropped, and what with_timeout / \
                     with_deadline returned when (an operation done at the very instant of the \
                     limit is in time)",
                    reference,
                    yours,
                )
            },
        );
}

// ----- retry

#[derive(Clone, Debug)]
struct RetryCase {
    max_attempts: u32,
    attempt_timeout: u64,
    initial_backoff: u64,
    max_backoff: u64,
    deadline: u64,
    /// Attempt n answers `script[n-1]`; attempts past the script fail at once.
    script: Vec<(u64, Reply)>,
    cut: Option<u64>,
}

fn retry_cases() -> impl Strategy<Value = RetryCase> {
    (
        (
            0u32..=4,
            step(4),
            step(2),
            (1u64..=4).prop_map(|k| 50 * k),
            step(16),
        ),
        prop::collection::vec((step(4), reply()), 0..=5),
        between(16),
    )
        .prop_map(
            |(
                (max_attempts, attempt_timeout, initial_backoff, max_backoff, deadline),
                script,
                cut,
            )| {
                RetryCase {
                    max_attempts,
                    attempt_timeout,
                    initial_backoff,
                    max_backoff,
                    deadline,
                    script,
                    cut,
                }
            },
        )
}

macro_rules! attempt_error {
    ($krate:ident, $last:expr) => {
        match $last {
            $krate::AttemptError::Failed(e) => format!("Failed({e:?})"),
            $krate::AttemptError::TimedOut($krate::TimedOut { allowed }) => {
                format!("TimedOut(allowed {allowed:?})")
            }
        }
    };
}

macro_rules! replay_retry {
    ($krate:ident) => {
        |case: RetryCase| -> Replayed {
            Box::pin(async move {
                let events = Events::default();
                let start = Instant::now();
                let policy = $krate::RetryPolicy {
                    max_attempts: case.max_attempts,
                    attempt_timeout: ms(case.attempt_timeout),
                    initial_backoff: ms(case.initial_backoff),
                    max_backoff: ms(case.max_backoff),
                    deadline: ms(case.deadline),
                };
                let (ev, script) = (events.clone(), case.script.clone());
                let call = $krate::retry(&policy, move |n| {
                    ev.record(format!("attempt {n} starts"));
                    let (delay, reply) = script
                        .get(n as usize - 1)
                        .copied()
                        .unwrap_or((0, Reply::Err));
                    scripted_op(&ev, format!("attempt {n}"), delay, reply)
                });
                if let Some(result) = unless_cut(&events, start, case.cut, call).await {
                    let said = match result {
                        Ok(answer) => format!("Ok({answer:?})"),
                        Err($krate::RetryError::Exhausted { attempts, last }) => format!(
                            "Exhausted {{ attempts: {attempts}, last: {} }}",
                            attempt_error!($krate, last)
                        ),
                        Err($krate::RetryError::DeadlineExceeded { attempts, last }) => format!(
                            "DeadlineExceeded {{ attempts: {attempts}, last: {} }}",
                            attempt_error!($krate, last)
                        ),
                    };
                    events.record(format!("retry returns {said}"));
                }
                sleep(secs(2)).await;
                sorted(&events)
            })
        }
    };
}

/// contract: "after the n-th failure (an error or a timeout) retry waits `policy.backoff(n)`"
/// contract: "an attempt that answers at the very instant its time is up has answered in time"
/// contract: "also when the last attempt failed at or near the deadline, as long as the deadline did not cut it short"
/// contract: "An attempt whose own `attempt_timeout` ends exactly at the deadline was not cut short: it timed out"
/// contract: "when the next attempt would start at or after the deadline"
#[test]
fn retry_matches_the_reference_on_generated_policies_and_failures() {
    Check::new("retry_matches_the_reference_on_generated_policies_and_failures")
        .cases(160)
        .run(
            retry_cases(),
            replay_retry!(ex06_timeouts),
            replay_retry!(reference),
            |_, reference, yours| {
                differs(
                    "when each attempt started, answered or was dropped, and what retry returned \
                     when (an attempt answering at the very instant its time is up is in time; \
                     Exhausted after the last attempt unless the deadline cut it short; give up \
                     at once when the next attempt could not start before the deadline)",
                    reference,
                    yours,
                )
            },
        );
}

// ----- first_ok

#[derive(Clone, Debug)]
struct RaceCase {
    racers: Vec<(u64, Reply)>,
    cut: Option<u64>,
}

fn race_cases() -> impl Strategy<Value = RaceCase> {
    (prop::collection::vec((step(4), reply()), 0..=5), between(5))
        .prop_map(|(racers, cut)| RaceCase { racers, cut })
}

macro_rules! replay_race {
    ($krate:ident) => {
        |case: RaceCase| -> Replayed {
            Box::pin(async move {
                let events = Events::default();
                let start = Instant::now();
                let racers: Vec<Answer> = case
                    .racers
                    .iter()
                    .enumerate()
                    .map(|(i, &(delay, reply))| {
                        scripted_op(&events, format!("racer {i}"), delay, reply)
                    })
                    .collect();
                let call = $krate::first_ok(racers);
                if let Some(result) = unless_cut(&events, start, case.cut, call).await {
                    events.record(format!("first_ok returns {result:?}"));
                }
                sleep(secs(2)).await;
                sorted(&events)
            })
        }
    };
}

/// One party of a race judged by [`open_ties`]: its label, the instant it is due to answer
/// (`None`: never), and whether it answers `Ok`.
struct Party {
    label: String,
    due: Option<u64>,
    ok: bool,
}

/// What the docs leave open when `call` succeeds at `t`: which of the parties that succeed at `t`
/// wins, and whether the others due at `t` answered or were dropped. Both are replaced by one
/// wording, once the winner is known to be one the docs allow.
fn open_ties(observed: &Observed, call: &str, parties: &[Party]) -> Observed {
    let Some(&(t, ref returned)) = observed
        .iter()
        .find(|(_, e)| e.starts_with(&format!("{call} returns Ok(")))
    else {
        return observed.clone();
    };
    let allowed = parties.iter().any(|p| {
        p.ok && p.due == Some(t) && *returned == format!("{call} returns Ok(\"{} ok\")", p.label)
    });
    let mut out: Observed = observed
        .iter()
        .map(|(at, e)| {
            let party = parties.iter().find(|p| {
                e.starts_with(&format!("{} answers", p.label))
                    || *e == format!("{} dropped", p.label)
            });
            match party {
                Some(p) if *at == t && allowed && p.due == Some(t) => (
                    *at,
                    format!("{} answers or is dropped at the winning instant", p.label),
                ),
                _ if *at == t && e == returned && allowed => (
                    *at,
                    format!("{call} returns Ok(one of those that succeed at this instant)"),
                ),
                _ => (*at, e.clone()),
            }
        })
        .collect();
    out.sort();
    out
}

fn open_ties_of_the_race(case: &RaceCase, observed: &Observed) -> Observed {
    let parties: Vec<Party> = case
        .racers
        .iter()
        .enumerate()
        .map(|(i, &(delay, reply))| Party {
            label: format!("racer {i}"),
            due: (!matches!(reply, Reply::Never)).then_some(delay),
            ok: matches!(reply, Reply::Ok),
        })
        .collect();
    open_ties(observed, "first_ok", &parties)
}

/// contract: "The first `Ok` is returned the instant it arrives, and every other future has been dropped (cancelled) by then"
/// contract: "If several succeed at the same instant, any one of them is a right answer"
/// contract: "in the order the futures were given"
#[test]
fn first_ok_matches_the_reference_on_generated_races_with_ties() {
    Check::new("first_ok_matches_the_reference_on_generated_races_with_ties")
        .cases(128)
        .run(
            race_cases(),
            replay_race!(ex06_timeouts),
            replay_race!(reference),
            |case, reference, yours| {
                differs(
                    "when each racer answered or was dropped, and what first_ok returned when \
                     (the first Ok wins the instant it arrives, an Err at the same instant does \
                     not; errors in input order once all have failed)",
                    &open_ties_of_the_race(case, reference),
                    &open_ties_of_the_race(case, yours),
                )
            },
        );
}

// ----- hedged

#[derive(Clone, Debug)]
struct HedgeCase {
    hedge_after: u64,
    primary: (u64, Reply),
    backup: (u64, Reply),
    cut: Option<u64>,
}

fn hedge_cases() -> impl Strategy<Value = HedgeCase> {
    // A third of the scenarios have the backup answer at the very instant the primary does (when
    // that instant comes after the hedge delay): the ties the docs decide.
    (
        step(3),
        (step(4), reply()),
        (step(4), reply()),
        prop::bool::weighted(0.33),
        between(8),
    )
        .prop_map(|(hedge_after, primary, mut backup, tie, cut)| {
            if tie && primary.0 > hedge_after {
                backup.0 = primary.0 - hedge_after;
            }
            HedgeCase {
                hedge_after,
                primary,
                backup,
                cut,
            }
        })
}

macro_rules! replay_hedge {
    ($krate:ident) => {
        |case: HedgeCase| -> Replayed {
            Box::pin(async move {
                let events = Events::default();
                let start = Instant::now();
                let ev = events.clone();
                let request = move |attempt: $krate::Attempt| {
                    let (label, (delay, reply)) = match attempt {
                        $krate::Attempt::Primary => ("primary", case.primary),
                        $krate::Attempt::Backup => ("backup", case.backup),
                    };
                    ev.record(format!("{label} sent"));
                    scripted_op(&ev, label.into(), delay, reply)
                };
                let call = $krate::hedged(ms(case.hedge_after), request);
                if let Some(result) = unless_cut(&events, start, case.cut, call).await {
                    events.record(format!("hedged returns {result:?}"));
                }
                sleep(secs(2)).await;
                sorted(&events)
            })
        }
    };
}

/// The parties of a hedge are due when they were sent plus their delay.
fn open_ties_of_the_hedge(case: &HedgeCase, observed: &Observed) -> Observed {
    let sent = |label: &str| {
        observed
            .iter()
            .find(|(_, e)| *e == format!("{label} sent"))
            .map(|(at, _)| *at)
    };
    let parties: Vec<Party> = [("primary", case.primary), ("backup", case.backup)]
        .into_iter()
        .map(|(label, (delay, reply))| Party {
            label: label.into(),
            due: sent(label)
                .filter(|_| !matches!(reply, Reply::Never))
                .map(|at| at + delay),
            ok: matches!(reply, Reply::Ok),
        })
        .collect();
    open_ties(observed, "hedged", &parties)
}

/// contract: "or at that very instant: return it; the backup is never sent"
/// contract: "if they fail at the same instant, the backup's error"
/// contract: "If both succeed at the same instant, either answer is right"
#[test]
fn hedged_matches_the_reference_on_generated_timings_with_ties() {
    Check::new("hedged_matches_the_reference_on_generated_timings_with_ties")
        .cases(128)
        .run(
            hedge_cases(),
            replay_hedge!(ex06_timeouts),
            replay_hedge!(reference),
            |case, reference, yours| {
                differs(
                    "when each request was sent, answered or was dropped, and what hedged \
                     returned when (a primary answering exactly at the hedge delay is in time; \
                     two failures at one instant: the backup's error)",
                    &open_ties_of_the_hedge(case, reference),
                    &open_ties_of_the_hedge(case, yours),
                )
            },
        );
}

// ----- run_worker

#[derive(Clone, Debug)]
struct WorkerCase {
    /// Jobs already in the channel when the worker starts.
    ready: usize,
    /// Each job: the gap after the previous one (ms), its id (repeats allowed) and how long its
    /// handler takes (ms; 1000 is "far too long").
    jobs: Vec<(u64, u64, u64)>,
    job_limit: u64,
    /// The producer closes the channel this long after its last job.
    close_after: u64,
    /// The token is cancelled before the worker starts.
    stopped_before: bool,
    stop_at: Option<u64>,
    cut: Option<u64>,
}

fn worker_cases() -> impl Strategy<Value = WorkerCase> {
    let job = (step(3), 1u64..=3, prop_oneof![step(4), Just(1000)]);
    (
        0usize..=2,
        prop::collection::vec(job, 0..=6),
        step(3),
        step(4),
        prop::bool::weighted(0.1),
        between(12),
        between(12),
    )
        .prop_map(
            |(ready, jobs, job_limit, close_after, stopped_before, stop_at, cut)| WorkerCase {
                ready: ready.min(jobs.len()),
                jobs,
                job_limit,
                close_after,
                stopped_before,
                stop_at,
                cut,
            },
        )
}

macro_rules! replay_worker {
    ($krate:ident) => {
        |case: WorkerCase| -> Replayed {
            Box::pin(async move {
                let events = Events::default();
                let start = Instant::now();
                let job = |k: usize| $krate::Job {
                    id: case.jobs[k].1,
                    payload: format!("#{k}"),
                };
                let (tx, mut rx) = mpsc::channel(4);
                for k in 0..case.ready {
                    tx.try_send(job(k))
                        .expect("the channel has room for the ready jobs");
                }
                let producer = {
                    let (ev, jobs, close_after) =
                        (events.clone(), case.jobs.clone(), case.close_after);
                    testkit::spawn(async move {
                        for k in case.ready..jobs.len() {
                            sleep(ms(jobs[k].0)).await;
                            let sent = $krate::Job {
                                id: jobs[k].1,
                                payload: format!("#{k}"),
                            };
                            if tx.send(sent).await.is_err() {
                                return;
                            }
                            ev.record(format!("#{k} is in the channel"));
                        }
                        sleep(ms(close_after)).await;
                        ev.record("the producer closes the channel");
                    })
                };
                let token = CancellationToken::new();
                if case.stopped_before {
                    token.cancel();
                }
                let stopper = case.stop_at.map(|at| {
                    let (ev, token) = (events.clone(), token.clone());
                    testkit::spawn(async move {
                        sleep_until_ms(start, at).await;
                        ev.record("shutdown requested");
                        token.cancel();
                    })
                });
                let (ev, jobs) = (events.clone(), case.jobs.clone());
                let handler = move |job: $krate::Job| {
                    let k: usize = job.payload[1..].parse().expect("a payload of the suite");
                    ev.record(format!("handler starts #{k} (id {})", job.id));
                    let mut guard = DropLog {
                        events: ev.clone(),
                        label: format!("handler of #{k}"),
                        done: false,
                    };
                    let took = jobs[k].2;
                    async move {
                        sleep(ms(took)).await;
                        guard.done = true;
                        guard.events.record(format!("handler of #{k} done"));
                    }
                };
                let call = $krate::run_worker(&mut rx, token, ms(case.job_limit), handler);
                if let Some(report) = unless_cut(&events, start, case.cut, call).await {
                    events.record(format!(
                        "worker returns: completed {:?}, timed out {:?}, interrupted {:?}",
                        report.completed, report.timed_out, report.interrupted
                    ));
                }
                producer.abort();
                let _ = producer.await;
                if let Some(stopper) = stopper {
                    stopper.abort();
                    let _ = stopper.await;
                }
                let mut left = vec![];
                while let Ok(job) = rx.try_recv() {
                    left.push(job.payload);
                }
                events.record(format!("left in the channel: {left:?}"));
                sorted(&events)
            })
        }
    };
}

async fn sleep_until_ms(start: Instant, at: u64) {
    tokio::time::sleep_until(start + ms(at)).await;
}

/// contract: "every job taken from the channel is reported exactly once (completed, timed out or interrupted)"
/// contract: "A handler that finishes at the very instant `job_limit` is reached has finished in time: `completed`"
/// contract: "If the worker's own future is dropped while it waits for a job, no job is lost either"
#[test]
fn run_worker_matches_the_reference_on_generated_jobs_shutdowns_and_drops() {
    Check::new("run_worker_matches_the_reference_on_generated_jobs_shutdowns_and_drops")
        .cases(128)
        .run(
            worker_cases(),
            replay_worker!(ex06_timeouts),
            replay_worker!(reference),
            |_, reference, yours| {
                differs(
                    "when each handler started, finished or was dropped, what the worker reported \
                     when, and which jobs were left in the channel (a handler done at the very \
                     instant of job_limit is completed; ids may repeat; nothing taken is lost)",
                    reference,
                    yours,
                )
            },
        );
}

// ----- Supervisor

/// What a generated worker does (instants in ms after it was spawned at t=0).
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    ReturnsAt(u64),
    PanicsAt(u64),
    Polite { cleanup: u64 },
    PanicsOnShutdown { after: u64 },
    Stubborn,
}

#[derive(Clone, Debug)]
struct SupervisorCase {
    /// Each worker's name (from a few, so that names repeat) and behaviour.
    workers: Vec<(&'static str, Behaviour)>,
    shutdown_at: u64,
    grace: u64,
    /// The caller drops the shutdown this long after calling it.
    cut_after: Option<u64>,
}

fn supervisor_cases() -> impl Strategy<Value = SupervisorCase> {
    // Workers end at 50k + 10 ms: never at the instant of the shutdown, of the end of the grace
    // period (both multiples of 50 ms) or of the caller's give-up (50k + 25 ms), where the order
    // in which the runtime polls two tasks would decide.
    let at = (0u64..=8).prop_map(|k| 50 * k + 10);
    let behaviour = prop_oneof![
        at.clone().prop_map(Behaviour::ReturnsAt),
        at.clone().prop_map(Behaviour::PanicsAt),
        at.clone().prop_map(|cleanup| Behaviour::Polite { cleanup }),
        at.prop_map(|after| Behaviour::PanicsOnShutdown { after }),
        Just(Behaviour::Stubborn),
    ];
    let name = prop_oneof![Just("a"), Just("b"), Just("c")];
    (
        prop::collection::vec((name, behaviour), 0..=5),
        step(4),
        // Never 0: with no grace at all, whether a polite worker sees the token before it is
        // aborted depends on which task the runtime polls first.
        (1u64..=6).prop_map(|k| 50 * k),
        between(6),
    )
        .prop_map(|(workers, shutdown_at, grace, cut_after)| SupervisorCase {
            workers,
            shutdown_at,
            grace,
            cut_after,
        })
}

fn behave(
    events: Events,
    label: String,
    behaviour: Behaviour,
    token: CancellationToken,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    let mut guard = DropLog {
        events,
        label,
        done: false,
    };
    Box::pin(async move {
        let saw = |guard: &DropLog| {
            guard
                .events
                .record(format!("{} sees the token", guard.label))
        };
        let panics = match behaviour {
            Behaviour::ReturnsAt(t) => {
                sleep(ms(t)).await;
                false
            }
            Behaviour::PanicsAt(t) => {
                sleep(ms(t)).await;
                true
            }
            Behaviour::Polite { cleanup } => {
                token.cancelled().await;
                saw(&guard);
                sleep(ms(cleanup)).await;
                false
            }
            Behaviour::PanicsOnShutdown { after } => {
                token.cancelled().await;
                saw(&guard);
                sleep(ms(after)).await;
                true
            }
            Behaviour::Stubborn => std::future::pending().await,
        };
        guard.done = true;
        if panics {
            guard.events.record(format!("{} panics", guard.label));
            panic!(
                "{} panics (deliberately, in a differential test)",
                guard.label
            );
        }
        guard.events.record(format!("{} returns", guard.label));
    })
}

macro_rules! replay_supervisor {
    ($krate:ident) => {
        |case: SupervisorCase| -> Replayed {
            Box::pin(async move {
                let events = Events::default();
                let mut supervisor = $krate::Supervisor::new();
                for (i, &(name, behaviour)) in case.workers.iter().enumerate() {
                    let (ev, label) = (events.clone(), format!("worker {i} ({name})"));
                    supervisor.spawn(name, move |token| behave(ev, label, behaviour, token));
                }
                sleep(ms(case.shutdown_at)).await;
                let call = supervisor.shutdown(ms(case.grace));
                let cut = case.cut_after.map(|after| case.shutdown_at + after);
                if let Some(report) =
                    unless_cut(&events, Instant::now() - ms(case.shutdown_at), cut, call).await
                {
                    events.record(format!(
                        "shutdown returns: finished {:?}, aborted {:?}, panicked {:?}",
                        report.finished, report.aborted, report.panicked
                    ));
                }
                sleep(secs(5)).await;
                sorted(&events)
            })
        }
    };
}

/// contract: "Names need not be unique"
/// contract: "Workers that panicked"
/// contract: "If this future is dropped before it completes (a caller's timeout, say), every worker still running is aborted at that instant"
#[test]
fn shutdown_matches_the_reference_on_generated_workers_and_give_ups() {
    Check::new("shutdown_matches_the_reference_on_generated_workers_and_give_ups")
        .cases(128)
        .run(
            supervisor_cases(),
            replay_supervisor!(ex06_timeouts),
            replay_supervisor!(reference),
            |_, reference, yours| {
                differs(
                    "when each worker saw the token, returned, panicked or was dropped, and what \
                     shutdown reported when (names may repeat; a shutdown dropped by its caller \
                     aborts every worker still running)",
                    reference,
                    yours,
                )
            },
        );
}
