//! Wrong solution: a `select!` loop over the input and a `FuturesOrdered` of calls, with no cap —
//! every item that arrives starts its call at once, so a fast input means any number of calls in
//! flight and items held.
//! replaces: stages.rs
//! expect: enrich_runs_k_calls_at_once_and_never_more — cap the calls in flight at K

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

/// The enrich stage: take items and pass results on, whichever is ready.
pub(crate) async fn enrich_stage<I, F, Fut>(
    input: I,
    output: mpsc::Sender<Enriched>,
    mut enrich: F,
    concurrency: usize,
) where
    I: Stream<Item = Item>,
    F: FnMut(Item) -> Fut,
    Fut: Future<Output = Enriched>,
{
    // The calls overlap and come out in order: FuturesOrdered. (`concurrency` is not needed:
    // the calls start as the items come.)
    let _ = concurrency;
    let mut input = pin!(input);
    let mut in_flight = futures::stream::FuturesOrdered::new();
    let mut input_done = false;
    loop {
        tokio::select! {
            next = input.next(), if !input_done => match next {
                Some(item) => in_flight.push_back(enrich(item)),
                None => input_done = true,
            },
            Some(enriched) = in_flight.next(), if !in_flight.is_empty() => {
                if output.send(enriched).await.is_err() {
                    return;
                }
            }
            else => return,
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
