//! The three stages. Each is an ordinary loop that ends when its input ends; none of them knows
//! about cancellation (`run_pipeline` handles that for all of them at once), and none of them
//! has a buffer of its own beyond its stated limit: all the slack is in the bounded channels.

use crate::ledger::Ledger;
use crate::record::{Enriched, Item, Record, parse};
use futures::{Stream, StreamExt};
use std::future::Future;
use std::pin::pin;
use std::time::Duration;
use tokio::sync::mpsc;

/// The parse stage: reads `source` one record at a time, records each in the `ledger`, passes
/// every good item into `output` and dead-letters every bad record. It reads the next record only
/// once `output` has accepted the previous item. Ends when the source ends or `output` closes.
pub(crate) async fn parse_stage<S>(source: S, output: mpsc::Sender<Item>, ledger: Ledger)
where
    S: Stream<Item = Record>,
{
    let mut source = pin!(source);
    while let Some(record) = source.next().await {
        ledger.read(record.id);
        match parse(&record) {
            // `send` on a bounded channel waits while the channel is full. That wait is where
            // backpressure reaches the source: we do not read another record until the enrich
            // stage has made room.
            Ok(item) => {
                if output.send(item).await.is_err() {
                    return; // the next stage is gone: nobody will take more items
                }
            }
            // A bad record is not an error of the pipeline: it leaves with its reason, and we
            // go on with the next one.
            Err(reason) => ledger.dead_letter(record, reason),
        }
    }
    // Returning drops `output`: once the enrich stage has emptied the channel, its input ends.
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
    // `map` turns each item into a future (not started yet); `buffered(k)` runs up to k of them at
    // once and yields their results *in input order*. A result that finishes early waits for the
    // ones before it — and keeps its slot while it waits. That is what bounds this stage: it
    // never holds more than k items, however slow the first one is. (`buffer_unordered` would
    // yield results as they finish: the same concurrency, but the order is lost.)
    let mut results = pin!(input.map(enrich).buffered(concurrency));
    // While we wait in `send`, `results` is not polled, so no new item is taken from `input`:
    // a full output channel stops this stage, and the stage before it in turn.
    while let Some(enriched) = results.next().await {
        if output.send(enriched).await.is_err() {
            return;
        }
    }
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
    // `chunks_timeout` is exactly our batching rule: it yields a chunk as soon as it has
    // `batch_size` items, or when `window` has passed since the first item of the chunk was
    // taken, and the last partial chunk when the input ends. It never yields an empty chunk.
    // (It comes from tokio-stream's `StreamExt`, whose other methods clash with futures' by name,
    // hence the qualified call.)
    let mut batches = pin!(tokio_stream::StreamExt::chunks_timeout(
        input, batch_size, window
    ));
    while let Some(batch) = batches.next().await {
        // Nothing is taken from `input` while the sink writes: `batches` is not polled. So this
        // stage holds at most one batch, and a slow sink fills the channel behind it.
        let ids: Vec<u64> = batch.iter().map(|item| item.id).collect();
        sink(batch).await;
        // Delivered means the sink *finished*. Recording it in the same poll in which the sink's
        // future completed leaves no `.await` between the two, so a cancellation can never fall
        // in between and the books are always right.
        ledger.delivered(&ids);
    }
}
