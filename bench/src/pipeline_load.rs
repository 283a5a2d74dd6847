//! `ex04-pipeline --design reference|unbounded --sink fast|stalled`: ex04's pipeline on a
//! synthetic load, as a child process of `bench`. It prints one JSON line of results — including
//! its own peak resident set, `VmHWM` from `/proc/self/status`, read just before it exits — and
//! exits.
//!
//! * `--design reference`: the reference `run_pipeline` of `solutions/ex04_backpressure_pipeline`.
//! * `--design unbounded`: the same three stages wired with *unbounded* channels — the wrong
//!   design, for comparison (see [`run_unbounded`]).
//! * `--sink fast`: the source ends after `--records` records and the sink returns at once;
//!   we measure how long the pipeline takes to get them all through (at most `--secs`).
//! * `--sink stalled`: the source never ends and the sink never completes; after `--secs` of real
//!   time we count how many records the pipeline has read and is holding, then cancel it.
//!
//! The source, the enrich step and the sink are the same for both designs, so that the only
//! difference measured is the wiring.

use clap::{Parser, ValueEnum};
use ex04_backpressure_pipeline::{
    Config, DeadLetter, Enriched, Item, Record, Stats, parse, run_pipeline,
};
use futures::{Stream, StreamExt};
use serde_json::json;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_util::sync::CancellationToken;

/// The pipeline's limits in every run: `max_held` = 2 × 64 + 8 + 64 + 1 = 201 records.
const CONFIG: Config = Config {
    channel_capacity: 64,
    enrich_concurrency: 8,
    batch_size: 64,
    batch_window: Duration::from_millis(5),
};

/// The size of every record's text: a realistic line, not a toy one.
const PAYLOAD_BYTES: usize = 1024;

/// One record in this many is malformed (1 %): it becomes a dead letter.
const MALFORMED_EVERY: u64 = 100;

#[derive(Parser, Debug)]
#[command(about = "ex04's pipeline on a synthetic load; prints one JSON line (run by `bench`)")]
struct Args {
    /// Which wiring of the three stages to run.
    #[arg(long, value_enum)]
    design: Design,
    /// A sink that returns at once, or one that never completes.
    #[arg(long, value_enum)]
    sink: SinkMode,
    /// fast: how many records the source produces before it ends.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// fast: the time limit (the pipeline is cancelled if it has not finished by then);
    /// stalled: how long the sink stalls before we count and cancel.
    #[arg(long, default_value_t = 2.0)]
    secs: f64,
    /// How often to sample the records held and the resident set, in milliseconds.
    #[arg(long, default_value_t = 500)]
    sample_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Design {
    /// ex04's reference `run_pipeline`: bounded channels.
    Reference,
    /// The same stages on unbounded channels: the wrong design, for comparison.
    Unbounded,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum SinkMode {
    Fast,
    Stalled,
}

/// What the harness itself counts, the same way for both designs: the source counts what is
/// taken from it, the sink what it finished writing.
#[derive(Default)]
struct Tally {
    read: AtomicU64,
    delivered: AtomicU64,
}

impl Tally {
    /// Records read and neither delivered nor dead-lettered. The malformed records are known by
    /// construction (every `MALFORMED_EVERY`-th id), and `parse` rejects one in the same step in
    /// which it is read, so they are not held.
    fn held(&self) -> u64 {
        let read = self.read.load(Ordering::Relaxed);
        read - self.delivered.load(Ordering::Relaxed) - malformed_among(read)
    }
}

/// How many of the ids `0..read` are malformed (ids 99, 199, 299, …).
fn malformed_among(read: u64) -> u64 {
    read / MALFORMED_EVERY
}

// ---- the load: source, enrich, sink -------------------------------------------------------------

/// Record `id`: a whole number right-aligned in a 1 KiB fixed-width field, or, for one id in
/// `MALFORMED_EVERY`, a field that is blank, not a number, or negative. `parse` trims the
/// padding, so every record costs what a real 1 KiB line would: an allocation and a scan.
fn record(id: u64) -> Record {
    let text = if id % MALFORMED_EVERY == MALFORMED_EVERY - 1 {
        ["", "12x", "-7"][(id / MALFORMED_EVERY % 3) as usize].to_owned()
    } else {
        // Some number derived from the id; its value does not matter.
        (id.wrapping_mul(2_654_435_761) % 1_000_000).to_string()
    };
    // `repeat` fills the padding with a few large copies (a `{:>1024}` format would write it
    // one character at a time, and the source would be what we measured).
    let mut raw = " ".repeat(PAYLOAD_BYTES - text.len());
    raw.push_str(&text);
    Record { id, raw }
}

/// Records `0, 1, 2, …`, up to `limit` if there is one, else without end. Each is counted as read
/// when the pipeline takes it.
///
/// A real source (a socket, a file) yields to the scheduler now and then; this one would not —
/// it is always ready — and with an unbounded channel after it nothing else would make its task
/// yield. `consume_budget` makes it take part in tokio's cooperative scheduling like real I/O
/// does: after a budget of ready operations the task yields once.
fn source(limit: Option<u64>, tally: Arc<Tally>) -> impl Stream<Item = Record> + Send + 'static {
    futures::stream::unfold(0, move |id| {
        let tally = tally.clone();
        async move {
            if limit.is_some_and(|limit| id >= limit) {
                return None;
            }
            tokio::task::coop::consume_budget().await;
            tally.read.fetch_add(1, Ordering::Relaxed);
            Some((record(id), id + 1))
        }
    })
}

/// A trivial enrich step: ready at once, with a small looked-up string.
fn enrich(item: Item) -> impl Future<Output = Enriched> + Send + 'static {
    const REGIONS: [&str; 4] = ["north", "east", "south", "west"];
    async move {
        Enriched {
            id: item.id,
            value: item.value,
            info: REGIONS[(item.value % 4) as usize].to_owned(),
        }
    }
}

/// The sink: writes a batch (a fast one returns at once) and counts it as delivered when its
/// future completes, which a stalled sink's never does.
async fn write(batch: Vec<Enriched>, mode: SinkMode, tally: Arc<Tally>) {
    if mode == SinkMode::Stalled {
        std::future::pending::<()>().await;
    }
    // Look at the batch, so that the writing is not optimised away entirely.
    std::hint::black_box(&batch);
    tally
        .delivered
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
}

// ---- the wrong design, for comparison -----------------------------------------------------------

/// **The wrong design, for comparison** — the version a learner plausibly writes first: the same
/// three stages as the reference (parse; enrich with `buffered(K)`, in order; batch with
/// `chunks_timeout` and write), but joined by `mpsc::unbounded_channel`s.
///
/// An unbounded `send` never waits. So nothing tells the parse stage to stop reading when the
/// sink is slow: the records pile up in the channels, and what the pipeline holds grows with the
/// time the sink is stalled, until memory runs out. It also keeps no books (the reference's
/// ledger), so it does less work per record — a fair floor for the throughput comparison.
async fn run_unbounded<S, E, EFut, W, WFut>(
    source: S,
    enrich: E,
    mut sink: W,
    config: Config,
    token: CancellationToken,
) where
    S: Stream<Item = Record> + Send + 'static,
    E: FnMut(Item) -> EFut + Send + 'static,
    EFut: Future<Output = Enriched> + Send + 'static,
    W: FnMut(Vec<Enriched>) -> WFut + Send + 'static,
    WFut: Future<Output = ()> + Send + 'static,
{
    let (items_tx, items_rx) = mpsc::unbounded_channel::<Item>();
    let (enriched_tx, enriched_rx) = mpsc::unbounded_channel::<Enriched>();
    let mut stages = JoinSet::new();
    stages.spawn(async move {
        let mut source = pin!(source);
        // Kept, like the reference keeps them for its report, so that both hold the same.
        let mut dead_letters = Vec::new();
        while let Some(record) = source.next().await {
            match parse(&record) {
                // The mistake: this `send` never waits, whatever happens downstream.
                Ok(item) => {
                    if items_tx.send(item).is_err() {
                        return;
                    }
                }
                Err(reason) => dead_letters.push(DeadLetter { record, reason }),
            }
        }
    });
    stages.spawn(async move {
        let items = UnboundedReceiverStream::new(items_rx);
        let mut results = pin!(items.map(enrich).buffered(config.enrich_concurrency));
        while let Some(enriched) = results.next().await {
            if enriched_tx.send(enriched).is_err() {
                return;
            }
        }
    });
    stages.spawn(async move {
        let enriched = UnboundedReceiverStream::new(enriched_rx);
        let mut batches = pin!(tokio_stream::StreamExt::chunks_timeout(
            enriched,
            config.batch_size,
            config.batch_window
        ));
        while let Some(batch) = batches.next().await {
            sink(batch).await;
        }
    });
    // Stop like the reference does: at the end, or at once on cancellation.
    let cancelled = tokio::select! {
        biased;
        _ = token.cancelled() => true,
        _ = async { while stages.join_next().await.is_some() {} } => false,
    };
    if cancelled {
        stages.shutdown().await;
    }
}

// ---- one run ------------------------------------------------------------------------------------

/// Starts the chosen design on the load; returns the reference's `Stats` (the baseline has none).
fn start(
    design: Design,
    mode: SinkMode,
    records: u64,
    tally: &Arc<Tally>,
    token: CancellationToken,
) -> tokio::task::JoinHandle<Option<Stats>> {
    // A fast sink's source ends; a stalled sink's could go on for ever.
    let limit = (mode == SinkMode::Fast).then_some(records);
    let source = source(limit, tally.clone());
    let sink = {
        let tally = tally.clone();
        move |batch| write(batch, mode, tally.clone())
    };
    match design {
        Design::Reference => {
            tokio::spawn(
                async move { Some(run_pipeline(source, enrich, sink, CONFIG, token).await) },
            )
        }
        Design::Unbounded => tokio::spawn(async move {
            run_unbounded(source, enrich, sink, CONFIG, token).await;
            None
        }),
    }
}

/// A `Key:   123 kB` line of `/proc/self/status`, in KiB. `None` where there is no `/proc`.
fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    let tally = Arc::new(Tally::default());
    let token = CancellationToken::new();
    let started = Instant::now();
    let mut run = start(args.design, args.sink, args.records, &tally, token.clone());

    // Sample the records held and the resident set until the run ends (fast sink) or the time
    // is up (a stalled sink's run never ends).
    let deadline = started + Duration::from_secs_f64(args.secs);
    let every = Duration::from_millis(args.sample_ms.max(1));
    let mut samples = Vec::new();
    let mut next_sample = started + every;
    let finished = loop {
        let wake = next_sample.min(deadline);
        tokio::select! {
            ended = &mut run => break Some(ended.expect("the pipeline panicked")),
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
        if Instant::now() >= next_sample {
            samples.push(json!({
                "t": started.elapsed().as_secs_f64(),
                "held": tally.held(),
                "rss_kib": proc_status_kib("VmRSS:"),
            }));
            next_sample += every;
        }
        if Instant::now() >= deadline {
            break None;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    // Counted before cancelling: cancelling drops the source, so nothing is read after this.
    let (read, delivered, held) = (
        tally.read.load(Ordering::Relaxed),
        tally.delivered.load(Ordering::Relaxed),
        tally.held(),
    );
    let complete = finished.is_some();
    let stats = match finished {
        Some(stats) => stats,
        None => {
            token.cancel();
            run.await.expect("the pipeline panicked")
        }
    };
    // The reference's own books must agree with ours: a check that we count what it counts.
    let books_agree = stats.as_ref().map(|s| {
        s.read as u64 == read
            && s.delivered as u64 == delivered
            && s.not_delivered.len() as u64 == held
            && s.dead_letters.len() as u64 == malformed_among(read)
    });

    let result = json!({
        "design": format!("{:?}", args.design).to_lowercase(),
        "sink": format!("{:?}", args.sink).to_lowercase(),
        "complete": complete,
        "read": read,
        "delivered": delivered,
        "dead_letters": malformed_among(read),
        "held": held,
        "max_held": CONFIG.max_held(),
        "secs": secs,
        "books_agree": books_agree,
        "samples": samples,
        // Last: the peak of the whole process, including cancelling and dropping what it held.
        "peak_rss_kib": proc_status_kib("VmHWM:"),
    });
    println!("{result}");
}
