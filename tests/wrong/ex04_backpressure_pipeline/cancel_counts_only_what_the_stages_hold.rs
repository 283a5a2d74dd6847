//! Wrong solution: every stage watches the token itself and, when it fires, reports the item or
//! batch *in its hands* as not delivered — but the items waiting in the channels, the enrich calls
//! inside `buffered` and the half-built batch inside `chunks_timeout` are dropped with nobody
//! counting them.
//! replaces: pipeline.rs
//! expect: cancelling_stops_every_stage_at_that_instant_and_reports_what_was_not_delivered — vanished
//! expect: no_record_is_lost_whenever_the_pipeline_is_cancelled — vanished

use crate::record::{DeadLetter, Enriched, Item, Record, parse};
use futures::{Stream, StreamExt};
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

/// The pipeline's limits. Every field must be at least 1 (a zero panics).
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

type Shared = Arc<Mutex<Stats>>;

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
    if token.is_cancelled() {
        return Stats::default();
    }
    let stats: Shared = Arc::default();
    let (items_tx, items_rx) = mpsc::channel(config.channel_capacity);
    let (enriched_tx, enriched_rx) = mpsc::channel(config.channel_capacity);
    let mut stages = JoinSet::new();
    stages.spawn(parse_stage(source, items_tx, stats.clone(), token.clone()));
    stages.spawn(enrich_stage(
        items_rx,
        enriched_tx,
        enrich,
        config.enrich_concurrency,
        token.clone(),
    ));
    stages.spawn(sink_stage(enriched_rx, sink, config, stats.clone(), token));
    while let Some(ended) = stages.join_next().await {
        if let Err(error) = ended
            && error.is_panic()
        {
            std::panic::resume_unwind(error.into_panic());
        }
    }
    let mut stats = stats.lock().unwrap().clone();
    stats.not_delivered.sort();
    stats
}

async fn parse_stage<S>(
    source: S,
    output: mpsc::Sender<Item>,
    stats: Shared,
    token: CancellationToken,
) where
    S: Stream<Item = Record>,
{
    let mut source = pin!(source);
    loop {
        let record = tokio::select! {
            biased;
            _ = token.cancelled() => return,
            next = source.next() => match next {
                Some(record) => record,
                None => return,
            },
        };
        stats.lock().unwrap().read += 1;
        match parse(&record) {
            Err(reason) => stats
                .lock()
                .unwrap()
                .dead_letters
                .push(DeadLetter { record, reason }),
            Ok(item) => tokio::select! {
                biased;
                _ = token.cancelled() => {
                    // The item in our hands was not delivered.
                    stats.lock().unwrap().not_delivered.push(item.id);
                    return;
                }
                sent = output.send(item) => {
                    if sent.is_err() {
                        return;
                    }
                }
            },
        }
    }
}

async fn enrich_stage<F, Fut>(
    input: mpsc::Receiver<Item>,
    output: mpsc::Sender<Enriched>,
    enrich: F,
    concurrency: usize,
    token: CancellationToken,
) where
    F: FnMut(Item) -> Fut,
    Fut: Future<Output = Enriched>,
{
    let mut results = pin!(ReceiverStream::new(input).map(enrich).buffered(concurrency));
    loop {
        let enriched = tokio::select! {
            biased;
            _ = token.cancelled() => return,
            next = results.next() => match next {
                Some(enriched) => enriched,
                None => return,
            },
        };
        tokio::select! {
            biased;
            _ = token.cancelled() => return,
            sent = output.send(enriched) => {
                if sent.is_err() {
                    return;
                }
            }
        }
    }
}

async fn sink_stage<F, Fut>(
    input: mpsc::Receiver<Enriched>,
    mut sink: F,
    config: Config,
    stats: Shared,
    token: CancellationToken,
) where
    F: FnMut(Vec<Enriched>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut batches = pin!(tokio_stream::StreamExt::chunks_timeout(
        ReceiverStream::new(input),
        config.batch_size,
        config.batch_window
    ));
    loop {
        let batch = tokio::select! {
            biased;
            _ = token.cancelled() => return,
            next = batches.next() => match next {
                Some(batch) => batch,
                None => return,
            },
        };
        let ids: Vec<u64> = batch.iter().map(|item| item.id).collect();
        tokio::select! {
            biased;
            _ = token.cancelled() => {
                // The batch we were writing was not delivered.
                stats.lock().unwrap().not_delivered.extend(ids);
                return;
            }
            _ = sink(batch) => stats.lock().unwrap().delivered += ids.len(),
        }
    }
}
