//! The pipeline: its configuration, its report, and `run_pipeline`, which wires the stages
//! together with bounded channels and stops them all on cancellation.

use crate::ledger::Ledger;
use crate::record::{DeadLetter, Enriched, Item, Record};
use crate::stages::{enrich_stage, parse_stage, sink_stage};
use futures::Stream;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

/// The pipeline's limits. Every field must be more than zero: [`run_pipeline`] panics at the call
/// when one is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The capacity, in items, of each of the two channels (parse → enrich, enrich → sink).
    pub channel_capacity: usize,
    /// K: the most `enrich` calls running at once, and the most items the enrich stage holds.
    pub enrich_concurrency: usize,
    /// N: a batch is written as soon as it has this many items...
    pub batch_size: usize,
    /// ...or this long after its first item was taken, whichever comes first.
    pub batch_window: Duration,
}

impl Config {
    /// The most records the pipeline ever holds (read from the source, and neither delivered nor
    /// dead-lettered yet): `2 × channel_capacity + enrich_concurrency + batch_size + 1`.
    ///
    /// That is the two channels, the K items of the enrich stage, the batch being built or
    /// written, and the one item the parse stage may hold while it waits for room in the first
    /// channel. With `channel_capacity: 2, enrich_concurrency: 3, batch_size: 4` it is 12.
    pub fn max_held(&self) -> usize {
        2 * self.channel_capacity + self.enrich_concurrency + self.batch_size + 1
    }
}

/// What became of every record the pipeline read.
///
/// The books always balance: `read == delivered + dead_letters.len() + not_delivered.len()`,
/// and every id read appears exactly once among the delivered items, the dead letters and
/// `not_delivered`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Records taken from the source.
    pub read: usize,
    /// Items in batches the sink finished writing (its future completed).
    pub delivered: usize,
    /// The records [`parse`](crate::parse) rejected, in the order they were read.
    pub dead_letters: Vec<DeadLetter>,
    /// The ids, ascending, of records read but neither delivered nor dead-lettered: only a
    /// cancelled pipeline has any.
    pub not_delivered: Vec<u64>,
}

/// Runs the pipeline until the source ends and everything read is through, or until `token` is
/// cancelled, and reports what became of every record.
///
/// Three stages, each its own task, joined by two bounded channels of `channel_capacity` items:
///
/// ```text
/// source ──▶ parse ──▶ [channel] ──▶ enrich (K at once) ──▶ [channel] ──▶ batch + sink
///              └──▶ dead letters
/// ```
///
/// * **Parse** reads the source one record at a time and runs [`parse`](crate::parse) on it. A
///   bad record becomes a [`DeadLetter`] at once, and the pipeline goes on with the next record.
///   A good item goes into the first channel: the stage waits for room there, and only then reads
///   the next record. So it holds at most one item.
/// * **Enrich** calls `enrich` on the items in the order they come, with up to K
///   (`enrich_concurrency`) calls in flight at once, and passes the results on **in the same
///   order**. The stage holds at most K items: an item counts from when it is taken from the
///   first channel until the second channel accepts its result, so a result that finished early
///   still counts while it waits for a slower one before it, and no new call starts until the
///   slow one is through. With items waiting and room downstream, K calls run at once.
/// * **Batch + sink** takes items from the second channel into a batch and calls `sink(batch)`
///   as soon as the batch has N (`batch_size`) items, or `batch_window` after the first item of
///   the batch was taken, whichever comes first. An item that reaches this stage at the very
///   instant the window ends may go into that batch or the next: either is right. When the
///   source has ended and every item before has reached this stage, the last partial batch is
///   written at once. Batches are never empty and are written one at a time; while `sink` runs,
///   no item is taken, so this stage holds at most N items. A batch is *delivered* when its
///   `sink` future completes.
///
/// **Backpressure.** Nothing in the pipeline is unbounded. When the sink slows down, the
/// channels fill up and each stage waits for room, back to the source, so the records held
/// (read, and neither delivered nor dead-lettered) never exceed [`Config::max_held`]. With a
/// stalled sink the pipeline fills up and then stops reading: both channels full, the batch in
/// the sink, and the parse and enrich stages each waiting to pass an item on. That is at least
/// `2 × channel_capacity + batch_size + 2` records read and at most `max_held` — exactly
/// `max_held` when K is 1. Dead letters leave at once: they never count as held.
///
/// **End.** When the source ends, everything read is delivered or dead-lettered, and
/// `run_pipeline` returns as soon as the last `sink` call has finished.
///
/// **Cancellation.** When `token` is cancelled, `run_pipeline` returns at that same instant:
/// the source is not read again, the `enrich` and `sink` calls in progress are dropped
/// (cancelled), and no task of the pipeline is left running. Nothing is lost silently: every
/// record read is reported exactly once — delivered, dead-lettered, or in `not_delivered` —
/// wherever it was when the token fired (in a channel, in an enrich call, in a batch). A token
/// already cancelled at the call reads nothing.
pub async fn run_pipeline<S, E, EFut, W, WFut>(
    source: S,
    enrich: E,
    sink: W,
    config: Config,
    token: CancellationToken,
) -> Stats
where
    S: Stream<Item = Record> + Send + 'static,
    E: FnMut(Item) -> EFut + Send + 'static,
    EFut: Future<Output = Enriched> + Send + 'static,
    W: FnMut(Vec<Enriched>) -> WFut + Send + 'static,
    WFut: Future<Output = ()> + Send + 'static,
{
    assert!(
        config.channel_capacity > 0
            && config.enrich_concurrency > 0
            && config.batch_size > 0
            && !config.batch_window.is_zero(),
        "every field of the pipeline's Config must be more than zero, got {config:?}"
    );
    let ledger = Ledger::default();
    if token.is_cancelled() {
        // Checked before anything is spawned: on a multi-threaded runtime a spawned stage could
        // otherwise read a record before we noticed.
        return ledger.stats();
    }

    // Bounded channels are the whole point. An unbounded channel never says "wait": a fast
    // stage before a slow one would pile items into it until memory runs out. A bounded one
    // makes the sender wait when it is full — and that wait travels upstream, stage by stage,
    // until the source is simply not read.
    let (items_tx, items_rx) = mpsc::channel(config.channel_capacity);
    let (enriched_tx, enriched_rx) = mpsc::channel(config.channel_capacity);

    // One task per stage, so that the stages run at the same time (in parallel on a
    // multi-threaded runtime). A JoinSet owns its tasks: dropping it aborts them, so no stage
    // can outlive this function, even if it panics.
    let mut stages = JoinSet::new();
    stages.spawn(parse_stage(source, items_tx, ledger.clone()));
    stages.spawn(enrich_stage(
        ReceiverStream::new(items_rx),
        enriched_tx,
        enrich,
        config.enrich_concurrency,
    ));
    stages.spawn(sink_stage(
        ReceiverStream::new(enriched_rx),
        sink,
        config.batch_size,
        config.batch_window,
        ledger.clone(),
    ));

    // Either the stages finish on their own (the source ended and every channel drained,
    // closing the next one in turn), or the token fires first. `biased` makes a cancellation
    // win a tie.
    let cancelled = tokio::select! {
        biased;
        _ = token.cancelled() => true,
        _ = until_all_end(&mut stages) => false,
    };
    if cancelled {
        // Abort every stage and wait until each is really gone. Aborting drops each task's
        // future at its current `.await`: the source, the enrich calls in flight, the sink call
        // in progress, and the channels with whatever they held. Nothing needs draining: the
        // ledger already knows which records were inside.
        stages.shutdown().await;
    }
    ledger.stats()
}

// Waits for every stage to end; a stage that panicked panics here too, with its own message.
async fn until_all_end(stages: &mut JoinSet<()>) {
    while let Some(ended) = stages.join_next().await {
        if let Err(error) = ended
            && error.is_panic()
        {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}
