//! Wrong solution: a ticker (`interval(window)`) flushes whatever has come in on every tick, so a
//! batch's window is measured from the last tick, not from the batch's first item.
//! replaces: stages.rs
//! expect: a_full_batch_is_written_at_once_and_the_next_window_starts_at_its_first_item — not 100ms after the previous batch
//! expect: a_partial_batch_is_written_when_the_window_after_its_first_item_ends — t=650ms for item 4

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

/// The batch + sink stage.
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
    let mut input = pin!(input);
    let mut batch = Vec::with_capacity(batch_size);
    // Flush whatever has come in once per window.
    let mut ticker = tokio::time::interval(window);
    ticker.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            next = input.next() => match next {
                Some(item) => {
                    batch.push(item);
                    if batch.len() == batch_size {
                        write(&mut sink, &mut batch, &ledger).await;
                    }
                }
                None => {
                    if !batch.is_empty() {
                        write(&mut sink, &mut batch, &ledger).await;
                    }
                    return;
                }
            },
            _ = ticker.tick() => {
                if !batch.is_empty() {
                    write(&mut sink, &mut batch, &ledger).await;
                }
            }
        }
    }
}

async fn write<F, Fut>(sink: &mut F, batch: &mut Vec<Enriched>, ledger: &Ledger)
where
    F: FnMut(Vec<Enriched>) -> Fut,
    Fut: Future<Output = ()>,
{
    let batch = std::mem::take(batch);
    let ids: Vec<u64> = batch.iter().map(|item| item.id).collect();
    sink(batch).await;
    ledger.delivered(&ids);
}
