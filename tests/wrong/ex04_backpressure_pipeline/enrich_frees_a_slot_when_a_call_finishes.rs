//! Wrong solution: caps the enrich calls *running* at K, but a call that finished frees its slot
//! at once and its result waits in a reorder buffer for the slower ones before it — behind a slow
//! item, new calls keep starting and the buffer grows without bound.
//! replaces: stages.rs
//! expect: a_slow_enrich_call_holds_back_the_items_behind_it_without_starting_more_than_k — still count against K=3

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

/// The enrich stage: K calls *running* at once; finished results wait in a reorder buffer.
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
    let mut input = pin!(input);
    let mut running = futures::stream::FuturesUnordered::new();
    let mut finished: std::collections::BTreeMap<u64, Enriched> = Default::default();
    let (mut next_in, mut next_out) = (0u64, 0u64);
    let mut input_done = false;
    loop {
        // Pass on, in order, every result that is ready.
        while let Some(enriched) = finished.remove(&next_out) {
            if output.send(enriched).await.is_err() {
                return;
            }
            next_out += 1;
        }
        if input_done && running.is_empty() {
            return;
        }
        tokio::select! {
            next = input.next(), if !input_done && running.len() < concurrency => match next {
                Some(item) => {
                    let call = enrich(item);
                    let seq = next_in;
                    next_in += 1;
                    running.push(async move { (seq, call.await) });
                }
                None => input_done = true,
            },
            Some((seq, enriched)) = running.next(), if !running.is_empty() => {
                finished.insert(seq, enriched);
            }
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
