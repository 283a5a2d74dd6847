//! The three stages. Each is a plain loop that ends when its input ends; `run_pipeline` spawns
//! each as a task and joins them with bounded channels.

use crate::ledger::Ledger;
use crate::record::{Enriched, Item, Record};
use futures::Stream;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;

/// The parse stage: reads `source` one record at a time, records each in the `ledger`, passes
/// every good item into `output` and dead-letters every bad record. It reads the next record only
/// once `output` has accepted the previous item. Ends when the source ends or `output` closes.
pub(crate) async fn parse_stage<S>(source: S, output: mpsc::Sender<Item>, ledger: Ledger)
where
    S: Stream<Item = Record>,
{
    todo!("read, parse, send or dead-letter — one record at a time")
}

/// The enrich stage: calls `enrich` on the items of `input` with up to `concurrency` calls at
/// once and passes the results into `output` in input order. An item counts against
/// `concurrency` from when it is taken from `input` until `output` accepts its result. Ends when
/// `input` ends (after passing on every result) or `output` closes.
pub(crate) async fn enrich_stage<I, F, Fut>(
    input: I,
    output: mpsc::Sender<Enriched>,
    enrich: F,
    concurrency: usize,
) where
    I: Stream<Item = Item>,
    F: FnMut(Item) -> Fut,
    Fut: Future<Output = Enriched>,
{
    todo!("run up to `concurrency` enrich calls at once, passing results on in order")
}

/// The batch + sink stage: collects the items of `input` into batches of up to `batch_size`,
/// each closed when full or `window` after its first item was taken, and calls `sink` on each,
/// one at a time; while `sink` runs, nothing is taken from `input`. After `sink` returns, the
/// batch's items are recorded as delivered in the `ledger`. Ends when `input` ends, after
/// writing the last partial batch.
pub(crate) async fn sink_stage<I, F, Fut>(
    input: I,
    mut sink: F,
    batch_size: usize,
    window: Duration,
    ledger: Ledger,
) where
    I: Stream<Item = Enriched>,
    F: FnMut(Vec<Enriched>) -> Fut,
    Fut: Future<Output = ()>,
{
    todo!("batch by size or window, write each batch, record it as delivered")
}
