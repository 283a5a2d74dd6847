//! Hidden tests for exercise 00 — the warm-up: `.await`, `join!`, `spawn`, futures by hand.
//!
//! Every test runs on tokio's paused clock (`testkit::run`): instants are virtual and exact, so
//! "three 1 s fetches take 1 s with join!" is checked to the millisecond in microseconds of real
//! time. The hand-written futures are also polled one step at a time with
//! `tokio_test::task::spawn`, which shows what a single `poll` returns and whether the future
//! woke its task. Test names are the specification; each assertion message says what was expected
//! and the likely cause when it is not.
//!
//! Traceability (checked by the dev check): each test cites the sentences of the stub's docs it
//! checks (`/// contract: "…"`); the sentences below state no rule a test could observe.
//!
//! not a rule: "A future that returns `Pending` without arranging a wake-up is never polled again" — why the rule before it matters, said of any future (a Countdown that breaks it fails the tests of that rule)
//! not a rule: "(Polling the inner `Sleep` registers the waker" — how to meet the rule before it, not a behaviour
//! not a rule: "`std::time::Instant` and `std::thread::sleep` know nothing about that clock" — why the rule before it matters (the kit reports a blocked executor)
//! not a rule: "`tokio::spawn` needs a `Send + 'static` future" — why the signature has those bounds, which the compiler checks
//! not a rule: "The point is to write it without `join!` or `select!`" — how to write it: a `join!` behaves the same, so no test can tell
//! not a rule: "`every` must be more than zero." — a precondition on the caller; what a zero does is left open

use ex00_warmup::*;
use pretty_assertions::assert_eq;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use testkit::{Timeline, fmt_duration, ms, now, secs};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_test::task::spawn;

/// A future that completes with `value` after `after` of virtual time.
async fn after<T>(after: Duration, value: T) -> T {
    sleep(after).await;
    value
}

// ---------------------------------------------------------------------------------------------
// 1. Sequential awaits, join!, spawn, join_all
// ---------------------------------------------------------------------------------------------

type FetchFuture = Pin<Box<dyn Future<Output = String> + Send>>;

/// A mock server: `fetch(id)` records "fetch <id> started" when it is first polled, waits
/// `delay(id)`, records "fetch <id> done" and returns "data <id>".
fn server(timeline: &Timeline, delay: fn(u32) -> Duration) -> impl Fn(u32) -> FetchFuture {
    let timeline = timeline.clone();
    move |id| {
        let timeline = timeline.clone();
        Box::pin(async move {
            timeline.record(format!("fetch {id} started"));
            sleep(delay(id)).await;
            timeline.record(format!("fetch {id} done"));
            format!("data {id}")
        })
    }
}

fn one_second(_id: u32) -> Duration {
    secs(1)
}

/// Fetch 1 takes 100ms, fetch 2 takes 200ms, fetch 3 takes 300ms…
fn id_times_100ms(id: u32) -> Duration {
    ms(100 * u64::from(id))
}

/// Compares the timeline with `expected`, ignoring the order of events at the same instant
/// (tasks started together may run in any order).
#[track_caller]
fn assert_schedule(timeline: &Timeline, expected: &[(u64, &str)], what: &str) {
    let mut observed = timeline.entries();
    observed.sort();
    let observed: Vec<String> = observed
        .iter()
        .map(|(t, event)| testkit::at(t.as_millis() as u64, event))
        .collect();
    let mut expected = expected.to_vec();
    expected.sort();
    let expected: Vec<String> = expected
        .iter()
        .map(|(t, event)| testkit::at(*t, event))
        .collect();
    assert_eq!(observed, expected, "{what}");
}

/// contract: "Runs `fetch(id)` for each id **one after another**"
/// contract: "each fetch starts only when the previous one has finished, so the total time is the *sum* of the fetches' times"
/// contract: "Returns the results in the order of `ids`."
/// contract: "An empty `ids` gives an empty `Vec` at once."
#[test]
fn fetch_sequentially_runs_the_fetches_one_after_another() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let results = fetch_sequentially(&[3, 1, 2], server(&timeline, id_times_100ms)).await;
        timeline.assert_eq(
            &[
                (0, "fetch 3 started"),
                (300, "fetch 3 done"),
                (300, "fetch 1 started"),
                (400, "fetch 1 done"),
                (400, "fetch 2 started"),
                (600, "fetch 2 done"),
            ],
            "fetch_sequentially starts each fetch when the previous one has finished",
        );
        assert_eq!(
            results,
            ["data 3", "data 1", "data 2"],
            "results come in the order of `ids`"
        );
        assert_eq!(
            now(),
            ms(600),
            "one after another, the fetches take 300 + 100 + 200 = 600ms"
        );
        let none = fetch_sequentially(&[], server(&timeline, one_second)).await;
        assert!(
            none.is_empty(),
            "fetch_sequentially of no ids returned {none:?}: no ids, no results"
        );
        assert_eq!(
            now(),
            ms(600),
            "fetch_sequentially of no ids must be done at once (it took {})",
            fmt_duration(now() - ms(600))
        );
    });
}

/// contract: "Runs three fetches **at the same time** with `tokio::join!` and returns their results in the order of `ids`."
/// contract: "All three start at once, so the total time is that of the *slowest*"
#[test]
fn fetch_with_join_runs_three_one_second_fetches_in_one_second() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let results = fetch_with_join([7, 8, 9], server(&timeline, one_second)).await;
        let took = now();
        assert!(
            took < secs(3),
            "three 1s fetches took {}: the fetches ran one after another; join! runs them \
             together, so they should take 1000ms",
            fmt_duration(took)
        );
        assert_eq!(
            took,
            secs(1),
            "three 1s fetches with join! must take exactly 1s: all three start at once"
        );
        assert_eq!(
            results,
            ["data 7", "data 8", "data 9"],
            "results come in the order of `ids`"
        );
        assert_schedule(
            &timeline,
            &[
                (0, "fetch 7 started"),
                (0, "fetch 8 started"),
                (0, "fetch 9 started"),
                (1000, "fetch 7 done"),
                (1000, "fetch 8 done"),
                (1000, "fetch 9 done"),
            ],
            "every fetch starts at t=0 and is done at t=1000ms",
        );
    });
}

/// contract: "Every fetch is spawned before any is awaited, so all of them start at once and the total time is that of the slowest."
#[test]
fn fetch_with_spawn_starts_every_fetch_at_once() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let _ = fetch_with_spawn(&[3, 1, 2], server(&timeline, id_times_100ms)).await;
        assert_schedule(
            &timeline,
            &[
                (0, "fetch 1 started"),
                (0, "fetch 2 started"),
                (0, "fetch 3 started"),
                (100, "fetch 1 done"),
                (200, "fetch 2 done"),
                (300, "fetch 3 done"),
            ],
            "every fetch must start at t=0: spawn all of them first, then await the handles \
             (awaiting each JoinHandle right after spawning it runs the fetches one after another)",
        );
        assert_eq!(
            now(),
            ms(300),
            "fetch_with_spawn must return when the slowest fetch (300ms) is done"
        );
    });
}

/// contract: "returns the results in the order of `ids` — not the order in which they finished"
#[test]
fn fetch_with_spawn_returns_results_in_input_order_not_completion_order() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let results = fetch_with_spawn(&[3, 1, 2], server(&timeline, id_times_100ms)).await;
        assert_eq!(
            results,
            ["data 3", "data 1", "data 2"],
            "results must come in the order of `ids` ([3, 1, 2]), not the order the fetches \
             finished in (1, 2, 3): await the JoinHandles in the order you spawned them"
        );
    });
}

/// contract: "Runs every fetch as **a task of its own** (`tokio::spawn`)"
/// contract: "Spawned tasks are run by the runtime, not by the caller: once spawned, the fetches make progress even while nobody is polling `fetch_with_spawn`'s future."
#[test]
fn spawned_fetches_make_progress_while_nobody_awaits_them() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let mut call = spawn(fetch_with_spawn(&[1, 2, 3], server(&timeline, one_second)));
        assert!(
            call.poll().is_pending(),
            "fetch_with_spawn cannot be done before its 1s fetches are"
        );
        // For five seconds nobody polls `call`: only the runtime can run the fetches now.
        sleep(secs(5)).await;
        let results = match call.poll() {
            Poll::Ready(results) => results,
            Poll::Pending => panic!(
                "fetch_with_spawn was polled once at t=0, then again at t=5000ms, and it was still \
                 not done, although three 1s fetches spawned at t=0 finish at t=1000ms: spawn \
                 every fetch before awaiting any JoinHandle\n{}",
                timeline.lines().join("\n")
            ),
        };
        assert_schedule(
            &timeline,
            &[
                (0, "fetch 1 started"),
                (0, "fetch 2 started"),
                (0, "fetch 3 started"),
                (1000, "fetch 1 done"),
                (1000, "fetch 2 done"),
                (1000, "fetch 3 done"),
            ],
            "fetch_with_spawn was polled once at t=0 and not again until t=5000ms. Spawned fetches \
             run as tasks of their own and are done at t=1000ms; fetches that finish only when \
             the caller polls again were not spawned (join!/join_all run futures only while \
             their caller is polled)",
        );
        assert_eq!(
            results,
            ["data 1", "data 2", "data 3"],
            "fetch_with_spawn must return one result per id, in the order of `ids` ([1, 2, 3]): \
             await the JoinHandles in the order the fetches were spawned"
        );
    });
}

/// contract: "Like [`fetch_with_join`] for any number of ids: runs all the fetches at once in the current task and returns their results in the order of `ids`."
/// contract: "An empty `ids` gives an empty `Vec` at once."
#[test]
fn fetch_all_runs_any_number_of_fetches_at_once() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let results = fetch_all(&[5, 4, 3, 2, 1], server(&timeline, id_times_100ms)).await;
        let took = now();
        assert_eq!(
            took,
            ms(500),
            "fetch_all took {}: all five fetches must run at once, so it takes as long as the \
             slowest (500ms), not the sum (1500ms)",
            fmt_duration(took)
        );
        assert_eq!(
            results,
            ["data 5", "data 4", "data 3", "data 2", "data 1"],
            "results come in the order of `ids`, not the order the fetches finished in"
        );
        let none = fetch_all(&[], server(&timeline, one_second)).await;
        assert!(none.is_empty(), "no ids, no results");
        assert_eq!(now(), ms(500), "fetch_all of no ids is done at once");
    });
}

/// contract: "Nothing is spawned: `join!` polls the three futures in the current task."
#[test]
fn fetch_with_join_runs_the_fetches_only_while_its_caller_polls() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let mut call = spawn(fetch_with_join([1, 2, 3], server(&timeline, one_second)));
        assert!(
            call.poll().is_pending(),
            "fetch_with_join cannot be done before its 1s fetches are"
        );
        // For five seconds nobody polls `call`: fetches that run in the caller's task stand still.
        sleep(secs(5)).await;
        assert_schedule(
            &timeline,
            &[
                (0, "fetch 1 started"),
                (0, "fetch 2 started"),
                (0, "fetch 3 started"),
            ],
            "fetch_with_join was polled once at t=0 and not again until t=5000ms: all three \
             fetches start at that first poll, and none may finish before the caller polls again \
             (join! polls them in the caller's task; nothing is spawned)",
        );
        let results = match call.poll() {
            Poll::Ready(results) => results,
            Poll::Pending => panic!(
                "fetch_with_join, polled again at t=5000ms, was still not done although its three \
                 1s fetches were due at t=1000ms: poll all three in every poll of the caller\n{}",
                timeline.lines().join("\n")
            ),
        };
        assert_eq!(
            results,
            ["data 1", "data 2", "data 3"],
            "results come in the order of `ids`"
        );
    });
}

/// contract: "runs all the fetches at once in the current task"
/// contract: "Nothing is spawned, so the futures need not be `Send` or `'static`."
#[test]
fn fetch_all_runs_futures_that_are_neither_send_nor_static_in_the_callers_task() {
    testkit::run(|| async {
        // The fetches borrow `log` (not 'static) and hold an `Rc` across their wait (not Send):
        // only code that polls them in the caller's task can take them.
        let log: RefCell<Vec<String>> = RefCell::new(Vec::new());
        let fetch = |id: u32| {
            let log = &log;
            let shared = Rc::new(id);
            async move {
                log.borrow_mut()
                    .push(format!("fetch {id} started at {}", fmt_duration(now())));
                sleep(ms(100 * u64::from(*shared))).await;
                log.borrow_mut()
                    .push(format!("fetch {id} done at {}", fmt_duration(now())));
                format!("data {shared}")
            }
        };
        let mut call = spawn(fetch_all(&[2, 1], fetch));
        assert!(
            call.poll().is_pending(),
            "fetch_all cannot be done before its 100ms and 200ms fetches are"
        );
        sleep(secs(1)).await;
        assert_eq!(
            log.borrow().clone(),
            ["fetch 2 started at 0ms", "fetch 1 started at 0ms"],
            "fetch_all was polled once at t=0 and not again until t=1000ms: both fetches start \
             at that first poll, and neither may finish before the caller polls again (they run \
             in the caller's task; nothing is spawned)"
        );
        let results = match call.poll() {
            Poll::Ready(results) => results,
            Poll::Pending => panic!(
                "fetch_all, polled again at t=1000ms, was still not done although its fetches \
                 were due at t=100ms and t=200ms: poll every fetch in every poll of the caller"
            ),
        };
        assert_eq!(
            results,
            ["data 2", "data 1"],
            "results come in the order of `ids`"
        );
    });
}

/// contract: "A fetch that panics makes `fetch_with_spawn` panic."
#[test]
fn fetch_with_spawn_panics_when_a_fetch_panics() {
    testkit::run(|| async {
        let fetch = |id: u32| -> FetchFuture {
            Box::pin(async move {
                // The failing fetch is the slowest, so no other fetch is left running after it.
                sleep(ms(100 * u64::from(id))).await;
                assert!(
                    id != 3,
                    "fetch 3 failed (on purpose: the test's fetch panics)"
                );
                format!("data {id}")
            })
        };
        let call = testkit::spawn(async move { fetch_with_spawn(&[1, 3, 2], fetch).await });
        let outcome = call.await;
        match outcome {
            Ok(results) => panic!(
                "fetch_with_spawn returned {results:?} although fetch 3 panicked: a JoinHandle \
                 that resolves to Err(JoinError) means the task panicked — re-raise it (e.g. \
                 std::panic::resume_unwind(err.into_panic())) instead of skipping the result"
            ),
            Err(err) if err.is_cancelled() => {
                panic!("the task running fetch_with_spawn was cancelled, not panicked: {err}")
            }
            Err(err) => {
                // Any panic will do, unless it is the untouched stub's `todo!()`: raise that one
                // again, so it is reported as "not implemented yet".
                let payload = err.into_panic();
                let stub = payload
                    .downcast_ref::<String>()
                    .is_some_and(|m| m.contains("not yet implemented"))
                    || payload
                        .downcast_ref::<&str>()
                        .is_some_and(|m| m.contains("not yet implemented"));
                if stub {
                    std::panic::resume_unwind(payload);
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 2. Countdown: a future written by hand
// ---------------------------------------------------------------------------------------------

/// Wraps a future and counts how many times it was polled; its output is that count.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: u32,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls += 1;
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(self.polls),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// contract: "A future that is not ready the first `n` times it is polled, and completes the time after."
/// contract: "`Countdown::new(n)` returns `Poll::Pending` on its first `n` polls and `Poll::Ready(())` on poll `n + 1`; `Countdown::new(0)` is ready at its first poll."
/// contract: "A countdown that returns `Pending` `n` times before it is ready."
/// contract: "Counts down by one on each poll"
#[test]
fn countdown_is_pending_n_times_then_ready() {
    testkit::run(|| async {
        let mut countdown = spawn(Countdown::new(3));
        for poll in 1..=3 {
            assert!(
                countdown.poll().is_pending(),
                "poll {poll} of Countdown::new(3) must return Pending (it is ready only on poll 4)"
            );
        }
        assert!(
            countdown.poll().is_ready(),
            "poll 4 of Countdown::new(3) must return Ready"
        );
        let mut zero = spawn(Countdown::new(0));
        assert!(
            zero.poll().is_ready(),
            "Countdown::new(0) must be ready at its first poll"
        );
    });
}

/// contract: "Every time it returns `Pending` it first wakes its task (`cx.waker().wake_by_ref()`), so the executor polls it again soon."
#[test]
fn countdown_wakes_its_task_every_time_it_returns_pending() {
    testkit::run(|| async {
        let mut countdown = spawn(Countdown::new(2));
        for poll in 1..=2 {
            assert!(
                countdown.poll().is_pending(),
                "poll {poll} of Countdown::new(2) must return Pending"
            );
            assert!(
                countdown.is_woken(),
                "Countdown returned Pending on poll {poll} without waking its task: no executor \
                 will ever poll it again. Call cx.waker().wake_by_ref() before returning Pending"
            );
        }
        assert!(
            countdown.poll().is_ready(),
            "poll 3 of Countdown::new(2) must return Ready"
        );
    });
}

/// contract: "It waits for nothing else: awaited on a runtime it completes after `n` trips through the scheduler, without any time passing."
#[test]
fn awaiting_a_countdown_on_the_runtime_takes_no_time() {
    testkit::run(|| async {
        let polls = CountPolls {
            inner: Box::pin(Countdown::new(5)),
            polls: 0,
        }
        .await;
        assert_eq!(
            polls, 6,
            "awaited on the runtime, Countdown::new(5) is polled 6 times: Pending 5 times, then Ready"
        );
        assert_eq!(
            now(),
            Duration::ZERO,
            "a Countdown waits for nothing: no time may pass while it counts down"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 3. Delay: a timer future built on tokio's Sleep
// ---------------------------------------------------------------------------------------------

/// contract: "A future that completes at an instant of tokio's clock"
/// contract: "`Delay::until(deadline)` completes at exactly `deadline`"
/// contract: "It runs on tokio's clock (`tokio::time::Instant`), so it works on the paused clock of the tests."
/// contract: "A delay that completes at `deadline`."
#[test]
fn delay_completes_at_exactly_its_deadline() {
    testkit::run(|| async {
        let start = Instant::now();
        Delay::until(start + ms(1500)).await;
        assert_eq!(
            now(),
            ms(1500),
            "Delay::until(t=1500ms) must complete at exactly t=1500ms (on tokio's clock)"
        );
        Delay::after(ms(250)).await;
        assert_eq!(
            now(),
            ms(1750),
            "Delay::after(250ms), created at t=1500ms, must complete at t=1750ms"
        );
    });
}

/// contract: "Before the deadline `poll` returns `Pending`, and the task is woken once, at the deadline — not earlier, and not over and over in a busy loop."
/// contract: "`Pending` until the deadline, then `Ready(())`"
#[test]
fn delay_is_pending_until_its_deadline_and_wakes_its_task_then() {
    testkit::run(|| async {
        let start = Instant::now();
        let mut delay = spawn(Delay::until(start + ms(1500)));
        assert!(
            delay.poll().is_pending(),
            "a Delay due at t=1500ms must be Pending at t=0"
        );
        assert!(
            !delay.is_woken(),
            "the Delay woke its task at t=0, long before its deadline: a Delay that wakes itself \
             to check the time again keeps the executor busy in a loop. Let the inner \
             tokio::time::Sleep wake the task when the time has come"
        );
        sleep_until(start + ms(1499)).await;
        assert!(
            !delay.is_woken(),
            "the Delay woke its task at t=1499ms, before its deadline (t=1500ms)"
        );
        assert!(
            delay.poll().is_pending(),
            "a Delay due at t=1500ms must still be Pending at t=1499ms"
        );
        sleep_until(start + ms(1500)).await;
        assert!(
            delay.is_woken(),
            "the Delay did not wake its task at its deadline (t=1500ms): after it returns Pending, \
             nobody polls it again unless its waker is woken. Poll the inner tokio::time::Sleep \
             with the same Context: it registers the waker with tokio's timer"
        );
        assert!(
            delay.poll().is_ready(),
            "at its deadline (t=1500ms) the Delay must be Ready"
        );
    });
}

/// contract: "`Delay::after(duration)` completes `duration` after it was **created** (not after its first poll)."
/// contract: "A delay that completes `duration` after now (the moment `after` is called)."
/// contract: "The instant at which this delay completes."
#[test]
fn delay_after_counts_from_its_creation_not_from_its_first_poll() {
    testkit::run(|| async {
        let start = Instant::now();
        let delay = Delay::after(ms(250));
        assert_eq!(
            delay.deadline() - start,
            ms(250),
            "Delay::after(250ms) created at t=0 is due at t=250ms: the deadline is fixed when \
             the Delay is created"
        );
        sleep(ms(100)).await;
        delay.await;
        assert_eq!(
            now(),
            ms(250),
            "Delay::after(250ms) created at t=0 and first awaited at t=100ms must complete at \
             t=250ms: the deadline is fixed when the Delay is created, not at its first poll"
        );
    });
}

/// contract: "A deadline that has already passed makes it ready at its first poll."
/// contract: "For a deadline that had already passed, it is still that deadline"
#[test]
fn delay_with_a_deadline_in_the_past_is_ready_at_its_first_poll() {
    testkit::run(|| async {
        let start = Instant::now();
        sleep(ms(10)).await;
        let late = Delay::until(start);
        assert_eq!(
            late.deadline().saturating_duration_since(start),
            Duration::ZERO,
            "Delay::until(t=0), made at t=10ms: deadline() must still be t=0, the deadline it was \
             given, not the moment of the call (keep the deadline: tokio::time::sleep_until(deadline), \
             not sleep(deadline - now))"
        );
        let mut late = spawn(late);
        assert!(
            late.poll().is_ready(),
            "a Delay whose deadline (t=0) passed before its first poll (t=10ms) must be ready at once"
        );
        let mut zero = spawn(Delay::after(Duration::ZERO));
        assert!(
            zero.poll().is_ready(),
            "Delay::after(0) must be ready at its first poll"
        );
        assert_eq!(
            now(),
            ms(10),
            "the clock read t={}, expected t=10ms: checking two Delays that are already due must \
             take no time",
            fmt_duration(now())
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 4. Pinning: join_both and with_progress
// ---------------------------------------------------------------------------------------------

/// Wraps a future and panics, with a message for the learner, if it is polled after it returned
/// `Ready` (as an `async` block would, less politely).
struct PanicsIfPolledWhenDone<F> {
    name: &'static str,
    inner: Pin<Box<F>>,
    done: bool,
}

fn strict<F: Future>(name: &'static str, fut: F) -> PanicsIfPolledWhenDone<F> {
    PanicsIfPolledWhenDone {
        name,
        inner: Box::pin(fut),
        done: false,
    }
}

impl<F: Future> Future for PanicsIfPolledWhenDone<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        assert!(
            !self.done,
            "join_both polled future `{}` again after it returned Ready: keep its output and stop \
             polling it (polling a finished async block panics)",
            self.name
        );
        let out = self.inner.as_mut().poll(cx);
        self.done = out.is_ready();
        out
    }
}

/// contract: "Runs `a` and `b` at the same time in the current task and returns both outputs, `(a, b)`, once both have finished"
/// contract: "Both start at once, and the call returns when the slower one finishes."
#[test]
fn join_both_runs_the_two_futures_at_once_and_returns_both_outputs() {
    testkit::run(|| async {
        let (a, b) = join_both(after(ms(300), "slow"), after(ms(100), 42)).await;
        let took = now();
        assert_eq!(
            took,
            ms(300),
            "join_both took {}: both futures must run at once, so it takes as long as the slower \
             one (300ms), not the sum (400ms)",
            fmt_duration(took)
        );
        assert_eq!(
            (a, b),
            ("slow", 42),
            "join_both returns (a's output, b's output)"
        );

        let (a, b) = join_both(after(ms(100), 'a'), after(ms(200), 'b')).await;
        assert_eq!(
            (a, b),
            ('a', 'b'),
            "join_both returns (a's output, b's output) in that order, also when `a` finishes first"
        );
        assert_eq!(
            now(),
            ms(500),
            "join_both(100ms, 200ms) started at t=300ms must be done at t=500ms"
        );
    });
}

/// contract: "A future that has finished is never polled again (polling a finished future may panic): keep its output until the other one is done."
#[test]
fn join_both_never_polls_a_finished_future_again() {
    testkit::run(|| async {
        let out = join_both(
            strict("a", after(ms(100), 1)),
            strict("b", after(ms(300), 2)),
        )
        .await;
        assert_eq!(
            out,
            (1, 2),
            "join_both(a: 1 after 100ms, b: 2 after 300ms) must return (1, 2): keep the output of \
             the future that finished first until the other one is done"
        );
        let out = join_both(
            strict("a", after(ms(300), 3)),
            strict("b", after(ms(100), 4)),
        )
        .await;
        assert_eq!(
            out,
            (3, 4),
            "join_both(a: 3 after 300ms, b: 4 after 100ms) must return (3, 4): keep the output of \
             the future that finished first until the other one is done"
        );
        assert_eq!(
            now(),
            ms(600),
            "the two join_both calls were done at t={}, expected t=600ms: each runs its two \
             futures (100ms and 300ms) at once and returns when the slower one finishes, 300ms per \
             call",
            fmt_duration(now())
        );
    });
}

/// contract: "calls `report(elapsed)` every `every`: at `every`, `2 × every`, … after the call, with the time since the call, for as long as the work is not done."
/// contract: "The work is started once and polled until it is done: it is never restarted, and never dropped before it finishes."
#[test]
fn with_progress_reports_at_every_interval_until_the_work_is_done() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let work = {
            let timeline = timeline.clone();
            async move {
                timeline.record("work started");
                sleep(ms(350)).await;
                "result"
            }
        };
        let reports = timeline.clone();
        let output = with_progress(work, ms(100), move |elapsed| {
            reports.record(format!("still working after {}", fmt_duration(elapsed)));
        })
        .await;
        timeline.record("with_progress returned");
        assert_eq!(output, "result", "with_progress returns the work's output");
        timeline.assert_eq(
            &[
                (0, "work started"),
                (100, "still working after 100ms"),
                (200, "still working after 200ms"),
                (300, "still working after 300ms"),
                (350, "with_progress returned"),
            ],
            "350ms of work reported every 100ms: at 100, 200 and 300ms, each with the time since \
             the call; the first report is due at 100ms, not at once (tokio::time::interval's \
             first tick completes immediately); the work starts once",
        );
    });
}

/// contract: "Returns the work's output the moment it finishes, not at the next report."
/// contract: "Work that finishes before `every` gets no report at all."
#[test]
fn with_progress_returns_the_moment_the_work_finishes() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let reports = timeline.clone();
        let output = with_progress(after(ms(250), 1), ms(100), move |elapsed| {
            reports.record(format!("report {}", fmt_duration(elapsed)));
        })
        .await;
        timeline.record(format!("returned {output}"));

        let reports = timeline.clone();
        let output = with_progress(after(ms(50), 2), ms(100), move |elapsed| {
            reports.record(format!("report {}", fmt_duration(elapsed)));
        })
        .await;
        timeline.record(format!("returned {output}"));

        timeline.assert_eq(
            &[
                (100, "report 100ms"),
                (200, "report 200ms"),
                (250, "returned 1"),
                (300, "returned 2"),
            ],
            "with_progress must return the instant the work finishes (t=250ms), not at the next \
             report; work shorter than `every` (the second call, 50ms) gets no report at all",
        );
    });
}

/// contract: "A report due at the very instant the work finishes may be made or skipped."
#[test]
fn with_progress_may_make_or_skip_a_report_due_as_the_work_finishes() {
    testkit::run(|| async {
        let timeline = Timeline::new();
        let reports = timeline.clone();
        let output = with_progress(after(ms(300), "done"), ms(100), move |elapsed| {
            reports.record(format!("report {}", fmt_duration(elapsed)));
        })
        .await;
        timeline.record(format!("returned {output}"));
        let mut observed = timeline.lines();
        // The one case the contract leaves open: the report due at t=300ms, with the work.
        observed.retain(|line| line != &testkit::at(300, "report 300ms"));
        assert_eq!(
            observed,
            [
                testkit::at(100, "report 100ms"),
                testkit::at(200, "report 200ms"),
                testkit::at(300, "returned done"),
            ],
            "300ms of work reported every 100ms: reports at 100 and 200ms, then the work's output \
             at t=300ms (a report at t=300ms, as the work finishes, may be made or skipped, once \
             and before returning); nothing may be late or repeated",
        );
    });
}

// ---- instructor only: tests against the reference
//
// Differential tests: scenarios generated from a fixed seed, each replayed on the reference and on
// the learner's crate, and compared event by event — when each fetch or piece of work started,
// finished or was dropped, what each hand-polled future answered and whether it had woken its
// task, what each call returned and when. Instants are multiples of 50 ms (the work of
// with_progress: of 25 ms), so boundaries come up all the time: two fetches due together, a
// deadline at the very instant of a poll or in the past, a report due as the work finishes,
// repeated ids, empty inputs, countdowns of 0 and 1. A caller that gives up (drops the call) or
// comes back late (polls the call once, then not again for a while) does so at 50k + 10 ms, so
// that no order between two tasks woken together decides the outcome. Events of one instant are
// compared sorted: the contract orders nothing within an instant.

use ex00_warmup_reference as reference;
use testkit::differential::proptest::prelude::*;
use testkit::differential::{Check, same_events};

type Observed = Vec<(u64, String)>;
type Replayed = Pin<Box<dyn Future<Output = Observed>>>;

/// The events so far, sorted within each instant.
fn sorted(events: &Timeline) -> Observed {
    let mut events = events.millis();
    events.sort();
    events
}

/// Logs `<label> dropped` when dropped before `done` was set: work cancelled midway. Created at a
/// future's first poll, so a future created and never started logs nothing.
struct DropLog {
    events: Timeline,
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

/// Work that logs when it starts (its first poll), when it finishes after `delay` ms, and when it
/// is dropped midway; `Send + 'static`, so that it can be spawned too.
fn work<T: Send + 'static>(
    events: &Timeline,
    label: String,
    delay: u64,
    output: T,
) -> Pin<Box<dyn Future<Output = T> + Send>> {
    let events = events.clone();
    Box::pin(async move {
        let mut guard = DropLog {
            events,
            label,
            done: false,
        };
        guard.events.record(format!("{} starts", guard.label));
        sleep(ms(delay)).await;
        guard.done = true;
        guard.events.record(format!("{} done", guard.label));
        output
    })
}

/// A multiple of 50 ms from 0 to `50 * most`.
fn step(most: u64) -> impl Strategy<Value = u64> {
    (0..=most).prop_map(|k| 50 * k)
}

/// An instant between two steps (50k + 10 ms), or none.
fn between(most: u64) -> impl Strategy<Value = Option<u64>> {
    prop::option::of((0..=most).prop_map(|k| 50 * k + 10))
}

/// Polls `call` once, then leaves it alone until `late` ms after `start` (a caller busy
/// elsewhere), then awaits it — unless the caller gives up at `cut` ms after `start` and drops it.
async fn drive<F: Future>(
    events: &Timeline,
    start: Instant,
    late: Option<u64>,
    cut: Option<u64>,
    call: F,
) -> Option<F::Output> {
    let mut call = std::pin::pin!(call);
    let cut = start + ms(cut.unwrap_or(60_010));
    let returned = std::future::poll_fn(|cx| match call.as_mut().poll(cx) {
        std::task::Poll::Ready(output) => std::task::Poll::Ready(Some(output)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await;
    if let Some(output) = returned {
        return Some(output);
    }
    if let Some(late) = late {
        let back = (start + ms(late)).min(cut);
        sleep_until(back).await;
        events.record("the caller polls the call again");
    }
    match tokio::time::timeout_at(cut, call).await {
        Ok(output) => Some(output),
        Err(_) => {
            events.record("the caller gives up (drops the call)");
            None
        }
    }
}

// ----- the four ways to fetch

#[derive(Clone, Copy, Debug)]
enum Way {
    Sequentially,
    WithJoin,
    WithSpawn,
    All,
}

#[derive(Clone, Debug)]
struct FetchCase {
    way: Way,
    /// From a few ids, so that ids repeat; fetch_with_join takes the first three (padded).
    ids: Vec<u32>,
    /// How long fetching id `i` takes (ms).
    took: [u64; 4],
    late: Option<u64>,
    /// Never for fetch_with_spawn: whether a dropped call's tasks keep running is not fixed by
    /// its docs (detached handles or a JoinSet that aborts are both right).
    cut: Option<u64>,
}

fn fetch_cases() -> impl Strategy<Value = FetchCase> {
    let way = prop_oneof![
        Just(Way::Sequentially),
        Just(Way::WithJoin),
        Just(Way::WithSpawn),
        Just(Way::All),
    ];
    (
        way,
        prop::collection::vec(0u32..4, 0..=5),
        [step(4), step(4), step(4), step(4)],
        between(8),
        between(12),
    )
        .prop_map(|(way, ids, took, late, cut)| FetchCase {
            way,
            ids,
            took,
            late,
            cut: if matches!(way, Way::WithSpawn) {
                None
            } else {
                cut
            },
        })
}

macro_rules! replay_fetches {
    ($krate:ident) => {
        |case: FetchCase| -> Replayed {
            Box::pin(async move {
                let events = Timeline::new();
                let start = Instant::now();
                let (ev, took) = (events.clone(), case.took);
                let fetch = move |id: u32| {
                    work(
                        &ev,
                        format!("fetch {id}"),
                        took[id as usize],
                        format!("data {id}"),
                    )
                };
                let ids = case.ids.clone();
                let returned = match case.way {
                    Way::Sequentially => {
                        let call = $krate::fetch_sequentially(&ids, fetch);
                        drive(&events, start, case.late, case.cut, call).await
                    }
                    Way::WithJoin => {
                        let three = [0, 1, 2].map(|i| ids.get(i).copied().unwrap_or(i as u32));
                        let call = $krate::fetch_with_join(three, fetch);
                        let joined = drive(&events, start, case.late, case.cut, call).await;
                        joined.map(Vec::from)
                    }
                    Way::WithSpawn => {
                        let call = $krate::fetch_with_spawn(&ids, fetch);
                        drive(&events, start, case.late, case.cut, call).await
                    }
                    Way::All => {
                        let call = $krate::fetch_all(&ids, fetch);
                        drive(&events, start, case.late, case.cut, call).await
                    }
                };
                if let Some(results) = returned {
                    events.record(format!("returns {results:?}"));
                }
                sleep(secs(2)).await;
                sorted(&events)
            })
        }
    };
}

/// contract: "each fetch starts only when the previous one has finished"
/// contract: "Returns the results in the order of `ids`."
/// contract: "All three start at once, so the total time is that of the *slowest*"
/// contract: "Nothing is spawned: `join!` polls the three futures in the current task."
/// contract: "Every fetch is spawned before any is awaited, so all of them start at once"
/// contract: "once spawned, the fetches make progress even while nobody is polling `fetch_with_spawn`'s future"
/// contract: "runs all the fetches at once in the current task and returns their results in the order of `ids`"
#[test]
fn fetches_match_the_reference_on_generated_ids_delays_and_callers() {
    Check::new("fetches_match_the_reference_on_generated_ids_delays_and_callers")
        .cases(160)
        .run(
            fetch_cases(),
            replay_fetches!(ex00_warmup),
            replay_fetches!(reference),
            |_, reference, yours| {
                same_events(
                    "when each fetch started, finished or was dropped, and what the call returned \
                     when (one after another: each starts when the previous one finished; join!, \
                     spawn and fetch_all: all start at once; results in the order of `ids`; \
                     fetches in the caller's task run only while it polls, spawned ones on their \
                     own)",
                    reference,
                    yours,
                )
            },
        );
}

// ----- Countdown and Delay, polled by hand

#[derive(Clone, Debug)]
enum Hand {
    Countdown(u32),
    /// Created at `created` ms; due at `deadline` ms (`Delay::until`) or `after` ms after its
    /// creation (`Delay::after`); polled at each of `polls` ms (repeats: polled twice at once).
    Delay {
        created: u64,
        until: Option<u64>,
        after: u64,
        polls: Vec<u64>,
    },
}

fn hand_cases() -> impl Strategy<Value = Hand> {
    let countdown = prop_oneof![0u32..=3, 4u32..=40].prop_map(Hand::Countdown);
    let delay = (
        step(4),
        prop::option::of(step(8)),
        step(6),
        prop::collection::vec(step(10), 1..=5),
    )
        .prop_map(|(created, until, after, mut polls)| {
            polls.iter_mut().for_each(|p| *p += created);
            polls.sort();
            Hand::Delay {
                created,
                until,
                after,
                polls,
            }
        });
    prop_oneof![countdown, delay]
}

/// What one hand poll shows: whether the task was woken since the last poll, and the answer.
fn hand_poll<F: Future>(future: &mut tokio_test::task::Spawn<F>) -> (String, bool) {
    let woken = if future.is_woken() {
        "woken"
    } else {
        "not woken"
    };
    let ready = future.poll().is_ready();
    let answer = if ready { "Ready" } else { "Pending" };
    (format!("{woken} before the poll; poll: {answer}"), ready)
}

macro_rules! replay_hand {
    ($krate:ident) => {
        |case: Hand| -> Replayed {
            Box::pin(async move {
                let events = Timeline::new();
                let start = Instant::now();
                match case {
                    Hand::Countdown(n) => {
                        let mut countdown = spawn($krate::Countdown::new(n));
                        for poll in 1..=n + 1 {
                            let (seen, ready) = hand_poll(&mut countdown);
                            let woke = countdown.is_woken();
                            events.record(format!("poll {poll}: {seen}; woken after: {woke}"));
                            if ready {
                                break;
                            }
                        }
                        $krate::Countdown::new(n).await;
                        events.record(format!("Countdown::new({n}) awaited"));
                    }
                    Hand::Delay {
                        created,
                        until,
                        after,
                        polls,
                    } => {
                        sleep_until(start + ms(created)).await;
                        let delay = match until {
                            Some(at) => $krate::Delay::until(start + ms(at)),
                            None => $krate::Delay::after(ms(after)),
                        };
                        let due = delay.deadline().saturating_duration_since(start);
                        events.record(format!("created, deadline() at t={}ms", due.as_millis()));
                        let mut delay = spawn(delay);
                        for at in polls {
                            sleep_until(start + ms(at)).await;
                            let (seen, ready) = hand_poll(&mut delay);
                            events.record(seen);
                            if ready {
                                break;
                            }
                        }
                    }
                }
                sorted(&events)
            })
        }
    };
}

/// contract: "`Countdown::new(n)` returns `Poll::Pending` on its first `n` polls and `Poll::Ready(())` on poll `n + 1`"
/// contract: "Every time it returns `Pending` it first wakes its task"
/// contract: "awaited on a runtime it completes after `n` trips through the scheduler, without any time passing"
/// contract: "`Delay::after(duration)` completes `duration` after it was **created** (not after its first poll)"
/// contract: "A deadline that has already passed makes it ready at its first poll."
/// contract: "the task is woken once, at the deadline"
/// contract: "The instant at which this delay completes."
#[test]
fn hand_written_futures_match_the_reference_poll_by_poll() {
    Check::new("hand_written_futures_match_the_reference_poll_by_poll")
        .cases(128)
        .run(
            hand_cases(),
            replay_hand!(ex00_warmup),
            replay_hand!(reference),
            |_, reference, yours| {
                same_events(
                    "what each poll answered and whether the future had woken its task (a \
                     Countdown wakes itself before each Pending and is ready at poll n + 1; a \
                     Delay is due `after` its creation or at `until`, is ready at its first poll \
                     when that has passed, and wakes its task once, at the deadline)",
                    reference,
                    yours,
                )
            },
        );
}

// ----- join_both and with_progress

#[derive(Clone, Debug)]
enum Pinned {
    /// Two pieces of work of `a` and `b` ms.
    JoinBoth { a: u64, b: u64, cut: Option<u64> },
    /// Work of `work` ms (a multiple of 25), reported every `every` ms.
    WithProgress {
        work: u64,
        every: u64,
        cut: Option<u64>,
    },
}

fn pinned_cases() -> impl Strategy<Value = Pinned> {
    let join =
        (step(6), step(6), between(6)).prop_map(|(a, b, cut)| Pinned::JoinBoth { a, b, cut });
    let progress = (
        (0u64..=24).prop_map(|k| 25 * k),
        (1u64..=4).prop_map(|k| 50 * k),
        between(12),
    )
        .prop_map(|(work, every, cut)| Pinned::WithProgress { work, every, cut });
    prop_oneof![join, progress]
}

/// A future that logs every poll it gets after it has finished (the contract: never).
struct NoPollAfterDone<F> {
    inner: Pin<Box<F>>,
    events: Timeline,
    label: &'static str,
    done: bool,
}

impl<F: Future> Future for NoPollAfterDone<F> {
    type Output = F::Output;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        if self.done {
            self.events
                .record(format!("{} polled again after it finished", self.label));
            return std::task::Poll::Pending;
        }
        let answer = self.inner.as_mut().poll(cx);
        self.done = answer.is_ready();
        answer
    }
}

fn watched<T: Send + 'static>(
    events: &Timeline,
    label: &'static str,
    delay: u64,
    output: T,
) -> NoPollAfterDone<impl Future<Output = T>> {
    NoPollAfterDone {
        inner: Box::pin(work(events, label.to_owned(), delay, output)),
        events: events.clone(),
        label,
        done: false,
    }
}

macro_rules! replay_pinned {
    ($krate:ident) => {
        |case: Pinned| -> Replayed {
            Box::pin(async move {
                let events = Timeline::new();
                let start = Instant::now();
                match case {
                    Pinned::JoinBoth { a, b, cut } => {
                        let call = $krate::join_both(
                            watched(&events, "a", a, 'a'),
                            watched(&events, "b", b, 2),
                        );
                        if let Some(both) = drive(&events, start, None, cut, call).await {
                            events.record(format!("join_both returns {both:?}"));
                        }
                    }
                    Pinned::WithProgress {
                        work: took,
                        every,
                        cut,
                    } => {
                        let reports = events.clone();
                        let call = $krate::with_progress(
                            watched(&events, "work", took, "output"),
                            ms(every),
                            move |elapsed| reports.record(format!("report {elapsed:?}")),
                        );
                        if let Some(output) = drive(&events, start, None, cut, call).await {
                            events.record(format!("with_progress returns {output:?}"));
                        }
                    }
                }
                sleep(secs(2)).await;
                sorted(&events)
            })
        }
    };
}

/// A report due at the very instant the work finishes may be made or skipped: left out of both.
fn open_tie(observed: &Observed) -> Observed {
    let done = observed
        .iter()
        .find(|(_, e)| e == "work done")
        .map(|(t, _)| *t);
    observed
        .iter()
        .filter(|(t, e)| !(Some(*t) == done && e.starts_with("report ")))
        .cloned()
        .collect()
}

/// contract: "Both start at once, and the call returns when the slower one finishes."
/// contract: "A future that has finished is never polled again"
/// contract: "calls `report(elapsed)` every `every`"
/// contract: "Returns the work's output the moment it finishes, not at the next report."
/// contract: "it is never restarted, and never dropped before it finishes"
/// contract: "A report due at the very instant the work finishes may be made or skipped."
#[test]
fn join_both_and_with_progress_match_the_reference_on_generated_work() {
    Check::new("join_both_and_with_progress_match_the_reference_on_generated_work")
        .cases(128)
        .run(
            pinned_cases(),
            replay_pinned!(ex00_warmup),
            replay_pinned!(reference),
            |_, reference, yours| {
                same_events(
                    "when each piece of work started, finished or was dropped, what was reported \
                     when, and what the call returned when (both pieces start at once; a finished \
                     future is never polled again; a report every `every` while the work runs, \
                     the output the moment it is done; the work never restarted or dropped early)",
                    &open_tie(reference),
                    &open_tie(yours),
                )
            },
        );
}
