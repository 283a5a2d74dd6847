//! Hidden tests for exercise 07: a stream library of time-aware combinators.
//!
//! Every test runs on tokio's paused clock and checks *when* each item comes out, to the
//! millisecond: a source emits items at fixed virtual instants (`at`), and `timed` records the
//! instant each output item appeared. Written once, compiled against the stub and the reference.
//!
//! Traceability (checked by the dev check): each test cites the sentences of the stub's docs it
//! checks (`/// contract: "…"`); the sentences below state no rule a test could observe.
//!
//! not a rule: "The stream returned by" — names the operator's type; its other sentences are the rules
//! not a rule: "Time-aware operators for every [`Stream`]" — how to bring the operators into scope
//! not a rule: "They need a tokio runtime with a timer" — a requirement on the caller, not a behaviour

use ex07_stream_library::*;
use futures::{Stream, StreamExt, stream};
use pretty_assertions::assert_eq;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use testkit::{Probe, ms, now};
use tokio::time::{Instant, sleep, sleep_until};

// The learner's `==` is trusted only where it is derived (testkit::derived_eq!).
testkit::derived_eq! { TimedOut = TimedOut { limit: Duration::ZERO } }

/// A source that yields each item at its virtual instant (milliseconds after the call), then
/// ends right after the last one.
fn at<T: 'static>(events: Vec<(u64, T)>) -> impl Stream<Item = T> {
    let start = Instant::now();
    stream::iter(events).then(move |(t, item)| async move {
        sleep_until(start + ms(t)).await;
        item
    })
}

/// Every item of `s` with the virtual instant (ms) it came out, and the instant `s` ended.
async fn timed<S: Stream>(s: S) -> (Vec<(u64, S::Item)>, u64) {
    let items = s.map(|x| (now().as_millis() as u64, x)).collect().await;
    (items, now().as_millis() as u64)
}

// ---- throttle ------------------------------------------------------------------------------

/// contract: "the first as soon as it is ready"
/// contract: "each later one no earlier than `period` after the previous one was yielded"
#[test]
fn throttle_spaces_a_ready_burst_one_period_apart() {
    testkit::run(|| async {
        let (items, _) = timed(stream::iter(1..=4).throttle(ms(100))).await;
        assert_eq!(
            items,
            vec![(0, 1), (100, 2), (200, 3), (300, 4)],
            "a burst of 4 ready items, throttled to one per 100ms, must come out at 0, 100, 200 \
             and 300ms: the first at once, each next one a full period after the previous"
        );
    });
}

/// contract: "a source that is slower than that is not slowed down further"
#[test]
fn throttle_adds_no_delay_when_items_are_already_further_apart() {
    testkit::run(|| async {
        let source = at(vec![(0, 'a'), (250, 'b'), (600, 'c')]);
        let (items, _) = timed(source.throttle(ms(100))).await;
        assert_eq!(
            items,
            vec![(0, 'a'), (250, 'b'), (600, 'c')],
            "items already more than a period apart must pass at the instant they arrive: \
             throttling only ever delays an item that comes too soon"
        );
    });
}

/// contract: "each later one no earlier than `period` after the previous one was yielded"
#[test]
fn throttle_counts_the_period_from_the_previous_item_yielded() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (50, 2), (90, 3), (400, 4)]);
        let (items, _) = timed(source.throttle(ms(100))).await;
        assert_eq!(
            items,
            vec![(0, 1), (100, 2), (200, 3), (400, 4)],
            "items arriving at 0, 50, 90 and 400ms must come out at 0, 100, 200 and 400ms: the \
             period counts from the previous item *yielded*, nothing is dropped, and a late item \
             is not delayed further"
        );
    });
}

/// contract: "no earlier than `period` after the previous one was yielded"
#[test]
fn throttle_holds_an_item_that_follows_a_late_one_closely() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (250, 2), (260, 3)]);
        let (items, _) = timed(source.throttle(ms(100))).await;
        assert_eq!(
            items,
            vec![(0, 1), (250, 2), (350, 3)],
            "item 2 came late (250ms) and went out at once; item 3 came 10ms later and must wait \
             until 350ms: the period counts from the previous item yielded, not from a fixed \
             schedule of slots (0, 100, 200, …) that a late item lets pile up"
        );
    });
}

/// contract: "While it waits out the period, the source is *not* polled"
/// contract: "So the end of the source is noticed only when the wait in progress is over."
#[test]
fn throttle_pulls_from_its_source_no_faster_than_it_yields() {
    testkit::run(|| async {
        let pulls = Rc::new(RefCell::new(Vec::new()));
        let seen = pulls.clone();
        let source =
            stream::iter(1..=3).inspect(move |_| seen.borrow_mut().push(now().as_millis() as u64));
        let (items, ended) = timed(source.throttle(ms(100))).await;
        assert_eq!(
            items,
            vec![(0, 1), (100, 2), (200, 3)],
            "3 ready items throttled to one per 100ms must come out at 0, 100 and 200ms (as (ms, \
             item)): the first at once, each next one a full period after the previous"
        );
        assert_eq!(
            *pulls.borrow(),
            vec![0, 100, 200],
            "the source was asked for its items at these instants (ms): while it waits out the \
             period, a throttle must not poll its source — it pulls no faster than it yields \
             (backpressure) and never holds an item"
        );
        assert_eq!(
            ended, 300,
            "the source ended right after its third item, but the throttle may only ask it again \
             when the period after the third item has passed (300ms)"
        );
    });
}

/// contract: "at most one per `period`"
#[test]
fn throttle_with_a_zero_period_passes_items_straight_through() {
    testkit::run(|| async {
        let (items, ended) = timed(stream::iter(1..=3).throttle(Duration::ZERO)).await;
        assert_eq!(
            items,
            vec![(0, 1), (0, 2), (0, 3)],
            "with a zero period the throttle must never wait: all three items pass at 0ms, in \
             order"
        );
        assert_eq!(ended, 0, "a zero period must never wait");
    });
}

/// contract: "Nothing is dropped."
/// contract: "Yields every item of the source, in order"
/// contract: "Yields every item of `self`, in order"
#[test]
fn throttle_drops_nothing_and_keeps_the_order() {
    testkit::run(|| async {
        let (items, _) = timed(stream::iter(0..50u64).throttle(ms(10))).await;
        let expected: Vec<(u64, u64)> = (0..50).map(|i| (i * 10, i)).collect();
        assert_eq!(
            items, expected,
            "50 ready items throttled to one per 10ms: every one of them, in order, 10ms apart"
        );
    });
}

// ---- debounce ------------------------------------------------------------------------------

/// contract: "so a burst comes out as its last item, `quiet` after the burst ended"
/// contract: "Yields an item once `quiet` has passed without a newer one."
#[test]
fn debounce_yields_only_the_last_item_of_a_burst_once_the_source_is_quiet() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (10, 2), (20, 3), (500, 4)]);
        let (items, _) = timed(source.debounce(ms(50))).await;
        assert_eq!(
            items,
            vec![(70, 3), (500, 4)],
            "a burst at 0, 10 and 20ms must come out as its last item only, 50ms after the burst \
             ended (70ms); the item at 500ms is the last of the source and is flushed at the end"
        );
    });
}

/// contract: "A source slower than `quiet` comes through whole, each item `quiet` late."
#[test]
fn debounce_passes_each_item_of_a_slow_source_quiet_time_after_it_arrived() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (100, 2), (200, 3), (300, 4)]);
        let (items, _) = timed(source.debounce(ms(50))).await;
        assert_eq!(
            items,
            vec![(50, 1), (150, 2), (250, 3), (300, 4)],
            "items 100ms apart with a quiet time of 50ms: each comes out 50ms after it arrived \
             (the last one at once, because the source ends with it)"
        );
    });
}

/// contract: "Yields an item once `quiet` has passed since it arrived without a newer one arriving"
/// contract: "a newer item replaces the pending one and starts the wait again"
#[test]
fn debounce_restarts_the_quiet_time_at_every_newer_item() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (40, 2), (80, 3), (200, 4)]);
        let (items, _) = timed(source.debounce(ms(50))).await;
        assert_eq!(
            items,
            vec![(130, 3), (200, 4)],
            "items 40ms apart never leave 50ms of quiet: each newer item replaces the pending one \
             and starts the quiet time again, so only the third comes out, at 80 + 50 = 130ms"
        );
    });
}

/// contract: "When the source ends, the pending item (if any) is yielded at once, without waiting out the quiet time"
#[test]
fn debounce_flushes_the_pending_item_at_once_when_the_source_ends() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (10, 2)]);
        let (items, ended) = timed(source.debounce(ms(50))).await;
        assert_eq!(
            items,
            vec![(10, 2)],
            "the source ended at 10ms with item 2 pending: it must come out at once, not after \
             the quiet time, and item 1 (replaced by 2) never"
        );
        assert_eq!(ended, 10, "the debounced stream ends when its source does");
    });
}

/// contract: "and then the stream ends"
#[test]
fn debounce_of_an_empty_source_ends_at_once() {
    testkit::run(|| async {
        let (items, ended) = timed(stream::empty::<u32>().debounce(ms(50))).await;
        assert_eq!(
            items,
            vec![],
            "an empty source has nothing to debounce: the debounced stream must yield nothing"
        );
        assert_eq!(ended, 0, "nothing pending: no reason to wait");
    });
}

// ---- batch ---------------------------------------------------------------------------------

/// contract: "A batch is yielded as soon as it has `max` items"
/// contract: "Collects items into batches of at most `max`"
/// contract: "into batches of at most `max` items"
#[test]
fn batch_yields_a_batch_as_soon_as_it_is_full() {
    testkit::run(|| async {
        let (items, ended) = timed(stream::iter(1..=7).batch(3, ms(100))).await;
        assert_eq!(
            items,
            vec![(0, vec![1, 2, 3]), (0, vec![4, 5, 6]), (0, vec![7])],
            "7 ready items in batches of 3: two full batches at once, and the last partial batch \
             at once too, because the source ended"
        );
        assert_eq!(
            ended, 0,
            "the source ended at 0ms, right after its 7 ready items: the batched stream must end \
             then too, after the last partial batch, without waiting out a window"
        );
    });
}

/// contract: "or `window` after its *first* item arrived, whichever comes first"
/// contract: "each closed `window` after its first item at the latest"
#[test]
fn a_partial_batch_comes_out_one_window_after_its_first_item() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (10, 2), (500, 3)]);
        let (items, _) = timed(source.batch(10, ms(100))).await;
        assert_eq!(
            items,
            vec![(100, vec![1, 2]), (500, vec![3])],
            "items at 0 and 10ms fill no batch of 10: the batch must close 100ms after its first \
             item (100ms); item 3 is flushed when the source ends"
        );
    });
}

/// contract: "the window of the next batch starts with that batch's own first item"
#[test]
fn each_batch_window_starts_at_its_own_first_item() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (150, 2), (180, 3), (400, 4)]);
        let (items, _) = timed(source.batch(10, ms(100))).await;
        assert_eq!(
            items,
            vec![(100, vec![1]), (250, vec![2, 3]), (400, vec![4])],
            "the second batch starts with item 2 at 150ms, so it closes at 250ms — a window \
             counts from the batch's first item, not from the previous batch (not at 200ms)"
        );
    });
}

/// contract: "the window of the next batch starts with that batch's own first item"
#[test]
fn a_full_batch_starts_a_fresh_window_for_the_next() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (10, 2), (20, 3), (300, 4)]);
        let (items, _) = timed(source.batch(2, ms(100))).await;
        assert_eq!(
            items,
            vec![(10, vec![1, 2]), (120, vec![3]), (300, vec![4])],
            "[1, 2] is full at 10ms; item 3 at 20ms starts a new batch that closes at 120ms"
        );
    });
}

/// contract: "A batch is never empty: a silent source yields nothing."
#[test]
fn batch_never_yields_an_empty_batch() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (1000, 2)]);
        let (items, _) = timed(source.batch(5, ms(100))).await;
        assert_eq!(
            items,
            vec![(100, vec![1]), (1000, vec![2])],
            "between 100ms and 1000ms no item arrives, and no (empty) batch may come out"
        );
    });
}

/// contract: "When the source ends, the partial batch (if any) is yielded at once, then the stream ends."
#[test]
fn batch_flushes_the_partial_batch_when_the_source_ends() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (10, 2)]);
        let (items, ended) = timed(source.batch(5, ms(100))).await;
        assert_eq!(
            items,
            vec![(10, vec![1, 2])],
            "the source ended at 10ms: the partial batch must come out then, not at 100ms"
        );
        assert_eq!(
            ended, 10,
            "the source ended at 10ms: the batched stream must end right after flushing its \
             partial batch"
        );
    });
}

/// contract: "Panics if `max` is 0."
/// contract: "into batches of at most `max` items"
#[test]
fn batch_of_at_most_zero_items_panics_when_it_is_made_and_of_one_yields_items_alone() {
    testkit::run(|| async {
        let made = std::panic::catch_unwind(|| {
            let _ = stream::iter([1]).batch(0, ms(100));
        });
        assert!(
            made.is_err(),
            "batch(0, window) must panic at once, when it is made: a batch of at most 0 items \
             could never hold anything (the docs: \"Panics if `max` is 0\")"
        );
        let (items, _) = timed(at(vec![(0, 1), (0, 2), (30, 3)]).batch(1, ms(100))).await;
        assert_eq!(
            items,
            vec![(0, vec![1]), (0, vec![2]), (30, vec![3])],
            "with max = 1 every batch is full with its first item: each must come out alone, at \
             the instant it arrived, never waiting for the window"
        );
    });
}

/// contract: "Panics if `max` is 0."
/// contract: "into batches of at most `max` items"
#[test]
fn batch_of_at_most_usize_max_items_works_like_any_other_max() {
    testkit::run(|| async {
        for max in [usize::MAX, usize::MAX / 2] {
            let t0 = now().as_millis() as u64;
            let batched = std::panic::AssertUnwindSafe(async move {
                let source = at(vec![(0, 1_u64), (0, 2), (30, 3), (200, 4)]);
                timed(source.batch(max, ms(100))).await
            });
            let outcome = futures::FutureExt::catch_unwind(batched).await;
            let (items, ended) = match outcome {
                Ok(outcome) => outcome,
                Err(payload) => {
                    let said = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    if said.contains("not yet implemented") {
                        std::panic::resume_unwind(payload);
                    }
                    panic!(
                        "batch({max}, 100ms) panicked ({said:?}): the docs say it panics only if \
                         `max` is 0 — `max` is a bound, not a size to reserve up front \
                         (Vec::with_capacity(max) fails for a huge `max`)"
                    );
                }
            };
            assert_eq!(
                (items, ended),
                (
                    vec![(t0 + 100, vec![1, 2, 3]), (t0 + 200, vec![4])],
                    t0 + 200
                ),
                "batch({max}, 100ms): a batch that can never fill closes `window` after its \
                 first item, and the last one when the source ends"
            );
        }
    });
}

// ---- every operator ------------------------------------------------------------------------

/// contract: "All of them are lazy: nothing happens until the returned stream is polled, and they only ever poll their source from inside their own `poll_next`."
#[test]
fn every_operator_is_lazy_and_polls_its_source_only_from_its_own_poll_next() {
    testkit::run(|| async {
        let probes: Vec<Probe> = ["throttle", "debounce", "batch", "timeout_each"]
            .iter()
            .map(|name| Probe::new(format!("the source of {name}")))
            .collect();
        let source = |i: usize| stream::once(probes[i].wrap(sleep(ms(10))));
        let throttled = source(0).throttle(ms(100));
        let debounced = source(1).debounce(ms(100));
        let batched = source(2).batch(3, ms(100));
        let limited = source(3).timeout_each(ms(100));
        sleep(ms(1000)).await;
        for probe in &probes {
            assert_eq!(
                probe.started_at(),
                None,
                "{}: an operator that nobody polls must not poll its source (no task of its own, \
                 no read-ahead at construction): streams are lazy",
                probe.describe()
            );
        }
        // All four polled for the first time now, at 1000ms.
        let _ = futures::join!(
            throttled.collect::<Vec<_>>(),
            debounced.collect::<Vec<_>>(),
            batched.collect::<Vec<_>>(),
            limited.collect::<Vec<_>>(),
        );
        for probe in &probes {
            assert_eq!(
                probe.started_at(),
                Some(ms(1000)),
                "{}: polled for the first time at 1000ms, the operator must poll its source from \
                 that first poll_next",
                probe.describe()
            );
        }
    });
}

// ---- timeout_each --------------------------------------------------------------------------

/// contract: "as long as every item arrives within `limit` of the previous one"
/// contract: "Yields `Ok(item)` while items keep coming within `limit` of each other"
/// contract: "A source that ends in time ends the stream normally."
#[test]
fn timeout_each_passes_items_that_keep_within_the_limit() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (90, 2), (180, 3), (270, 4)]);
        let (items, ended) = timed(source.timeout_each(ms(100))).await;
        assert_eq!(
            items,
            vec![(0, Ok(1)), (90, Ok(2)), (180, Ok(3)), (270, Ok(4))],
            "every item came within 100ms of the previous one (the stream is 270ms long): the \
             limit counts from the previous item, not from the start"
        );
        assert_eq!(
            ended, 270,
            "the source ended in time at 270ms: the stream must end normally right then, without \
             waiting out another limit"
        );
    });
}

/// contract: "When `limit` passes without an item, it yields `Err(TimedOut { limit })` at exactly that instant"
/// contract: "then one `Err(TimedOut)` and the end"
/// contract: "The limit that passed without an item."
/// contract: "yields when no item arrived within `limit`."
#[test]
fn timeout_each_yields_one_error_at_the_exact_instant_and_ends() {
    testkit::run(|| async {
        let source = at(vec![(0, 1), (50, 2), (400, 3)]);
        let (items, ended) = timed(source.timeout_each(ms(100))).await;
        assert_eq!(
            items,
            vec![
                (0, Ok(1)),
                (50, Ok(2)),
                (150, Err(TimedOut { limit: ms(100) }))
            ],
            "no item within 100ms of the one at 50ms: one Err at exactly 150ms, then the end — \
             item 3 (at 400ms) must not come out after the error"
        );
        assert_eq!(ended, 150, "the stream ends right after its error");
    });
}

/// contract: "drops the source (cancelling whatever it was waiting on), and ends"
#[test]
fn timeout_each_drops_the_source_when_the_limit_passes() {
    testkit::run(|| async {
        let probe = Probe::new("the source's pending item");
        let source = stream::once(probe.wrap(sleep(ms(500))));
        let mut limited = Box::pin(source.timeout_each(ms(100)));
        assert_eq!(
            limited.next().await,
            Some(Err(TimedOut { limit: ms(100) })),
            "the source's item would come at 500ms: with a 100ms limit, the first next() must \
             yield Some(Err(TimedOut {{ limit: 100ms }})), the limit that passed"
        );
        assert_eq!(
            now(),
            ms(100),
            "the error came at t={:?}, expected t=100ms: exactly `limit` after the first poll",
            now()
        );
        assert_eq!(
            probe.cancelled_at(),
            Some(ms(100)),
            "{}: when the limit passes, the source must be dropped at once (cancelling what it \
             waits for), not kept until the whole stream is dropped",
            probe.describe()
        );
        assert_eq!(
            limited.next().await,
            None,
            "after the error, the stream has ended"
        );
    });
}

/// contract: "the first within `limit` of the first poll"
#[test]
fn timeout_each_times_the_first_item_from_the_first_poll() {
    testkit::run(|| async {
        let source = at(vec![(550, 1)]);
        let limited = source.timeout_each(ms(100));
        // Built at 0, first polled at 500: the first item (at 550) is within 100ms of that.
        sleep(ms(500)).await;
        let (items, _) = timed(limited).await;
        assert_eq!(
            items,
            vec![(550, Ok(1))],
            "the clock of the first item starts at the first poll (500ms), not when the stream \
             was built: streams are lazy"
        );
    });
}

// ---- together ------------------------------------------------------------------------------

/// contract: "So the end of the source is noticed only when the wait in progress is over."
#[test]
fn the_operators_compose() {
    testkit::run(|| async {
        let pipeline = stream::iter(1..=5).throttle(ms(100)).batch(2, ms(150));
        let (items, ended) = timed(pipeline).await;
        assert_eq!(
            items,
            vec![(100, vec![1, 2]), (300, vec![3, 4]), (500, vec![5])],
            "items throttled to 0, 100, 200, 300, 400ms, then batched by two: [1, 2] full at \
             100ms, [3, 4] at 300ms, and [5] when the throttled source ends (at 500ms, one period \
             after item 5)"
        );
        assert_eq!(
            ended, 500,
            "the pipeline must end when the throttled source ends: at 500ms, one period after \
             item 5 (a throttle notices the end of its source only when its wait is over), right \
             after the last batch [5]"
        );
    });
}

// ---- instructor only: tests against the reference
//
// Differential tests: scenarios generated from a fixed seed (arrival gaps around the period —
// 0, half, exactly one, one and a half, two — a source that ends late, a consumer that is slow,
// two operators chained), each replayed on the reference and on the learner's crate, and compared
// event by event: when the source gave each item, when each output came out, when the stream
// ended, and whether the source was dropped before its end. With an eager consumer every one of
// these instants is fixed by the operators' docs; a slow consumer is used with `throttle` only,
// the one operator whose docs say what backpressure does to its instants.

use ex07_stream_library_reference as reference;
use std::pin::Pin;
use testkit::Timeline;
use testkit::differential::proptest::prelude::*;
use testkit::differential::{Check, same_events};

/// One operator of a generated pipeline (durations in ms).
#[derive(Clone, Copy, Debug)]
enum Op {
    Throttle(u64),
    Debounce(u64),
    Batch(usize, u64),
    TimeoutEach(u64),
}

/// A generated scenario: the source's items arrive `gaps` ms apart (the first `gaps[0]` after the
/// start), the source ends `end_gap` ms after its last item; the consumer waits `consumer[i]` ms
/// after output `i` before it asks for the next (0 when the list runs out).
#[derive(Clone, Debug)]
struct Flow {
    ops: Vec<Op>,
    gaps: Vec<u64>,
    end_gap: u64,
    consumer: Vec<u64>,
}

type Events = Vec<(u64, String)>;
type Items = Pin<Box<dyn Stream<Item = String>>>;

/// Delays that sit on and around `period`: the boundary instants a hand-written test forgets.
fn around(period: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(period / 2),
        Just(period),
        Just(period + period / 2),
        Just(2 * period),
        0..=3 * period.max(1),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let period = prop_oneof![Just(0u64), Just(40), Just(100)];
    (period, 1usize..=3, 0u8..4).prop_map(|(p, max, kind)| match kind {
        0 => Op::Throttle(p),
        1 => Op::Debounce(p),
        2 => Op::Batch(max, p),
        _ => Op::TimeoutEach(p.max(40)),
    })
}

fn flows() -> impl Strategy<Value = Flow> {
    prop::collection::vec(op(), 1..=2).prop_flat_map(|ops| {
        let p = match ops[0] {
            Op::Throttle(p) | Op::Debounce(p) | Op::Batch(_, p) | Op::TimeoutEach(p) => p,
        };
        // Only a throttle's instants are defined for a consumer that lags behind.
        let slow_consumer = ops.iter().all(|op| matches!(op, Op::Throttle(_)));
        let consumer = if slow_consumer {
            prop::collection::vec(around(p), 0..6).boxed()
        } else {
            Just(Vec::new()).boxed()
        };
        (
            Just(ops),
            prop::collection::vec(around(p), 0..7),
            around(p),
            consumer,
        )
            .prop_map(|(ops, gaps, end_gap, consumer)| Flow {
                ops,
                gaps,
                end_gap,
                consumer,
            })
    })
}

/// Records "source dropped before its end" if dropped while the source still had more to give.
struct DropWatch {
    events: Timeline,
    ended: std::cell::Cell<bool>,
}

impl Drop for DropWatch {
    fn drop(&mut self) {
        if !self.ended.get() {
            self.events.record("source dropped before its end");
        }
    }
}

/// The scenario's source: item `i` (from 1) at its instant, then the end; it logs every item it
/// gives and whether it is dropped early.
fn source(flow: &Flow, events: Timeline) -> Items {
    let start = Instant::now();
    let mut instants = Vec::new();
    let mut t = 0;
    for gap in &flow.gaps {
        t += gap;
        instants.push(t);
    }
    let end = t + flow.end_gap;
    let watch = DropWatch {
        events,
        ended: false.into(),
    };
    Box::pin(stream::unfold(
        (0usize, instants, watch),
        move |(i, instants, watch)| async move {
            match instants.get(i) {
                Some(&t) => {
                    sleep_until(start + ms(t)).await;
                    watch.events.record(format!("source gives {}", i + 1));
                    Some(((i + 1).to_string(), (i + 1, instants, watch)))
                }
                None => {
                    sleep_until(start + ms(end)).await;
                    watch.ended.set(true);
                    None
                }
            }
        },
    ))
}

/// Replays `flow` with the crate `$krate` and returns what happened, in order.
macro_rules! replay_flow {
    ($krate:ident) => {
        |flow: Flow| -> Pin<Box<dyn std::future::Future<Output = Events>>> {
            Box::pin(async move {
                let events = Timeline::new();
                let mut s = source(&flow, events.clone());
                for op in &flow.ops {
                    s = match *op {
                        Op::Throttle(p) => Box::pin($krate::TimedStreamExt::throttle(s, ms(p))),
                        Op::Debounce(p) => Box::pin($krate::TimedStreamExt::debounce(s, ms(p))),
                        Op::Batch(max, p) => Box::pin(
                            $krate::TimedStreamExt::batch(s, max, ms(p))
                                .map(|b| format!("[{}]", b.join(" "))),
                        ),
                        Op::TimeoutEach(p) => Box::pin(
                            $krate::TimedStreamExt::timeout_each(s, ms(p)).map(|r| match r {
                                Ok(x) => x,
                                Err(e) => format!("timed out ({})", testkit::fmt_duration(e.limit)),
                            }),
                        ),
                    };
                }
                let mut i = 0;
                while let Some(out) = s.next().await {
                    events.record(format!("out {out}"));
                    sleep(ms(flow.consumer.get(i).copied().unwrap_or(0))).await;
                    i += 1;
                }
                events.record("end");
                drop(s);
                events.millis()
            })
        }
    };
}

/// contract: "Every operator asks its source first: an item (or the end) that arrives at the very instant one of its timers runs out counts as arriving before it."
/// contract: "So an item exactly `quiet` after the pending one restarts a debounce"
/// contract: "an item exactly `window` after a batch"
/// contract: "an item exactly `limit` after the previous one comes out of `timeout_each` as `Ok`, not as the error."
/// contract: "and never holds an item"
#[test]
fn every_operator_matches_the_reference_on_generated_flows() {
    Check::new("every_operator_matches_the_reference_on_generated_flows")
        .cases(160)
        .run(
            flows(),
            replay_flow!(ex07_stream_library),
            replay_flow!(reference),
            |_, reference, yours| {
                same_events(
                    "when the source gave each item, when each output came out and when the \
                     stream ended",
                    reference,
                    yours,
                )
            },
        );
}
