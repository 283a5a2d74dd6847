//! The `pipeline` load of `bench`: ex04's reference pipeline beside the same stages on unbounded
//! channels (the wrong design), each with a fast sink and with a stalled one. Every run is one
//! `ex04-pipeline` child process (`src/pipeline_load.rs`), which prints its results — its own
//! peak resident set included — as one JSON line and exits.
//!
//! * **fast sink**: `records` records through the pipeline; throughput = records / wall time.
//! * **stalled sink**: the sink never completes and the source never ends; after `stall_secs`
//!   the run counts the records read and held (read, neither delivered nor dead-lettered). The
//!   reference must hold at most `Config::max_held`; the baseline holds whatever it has read.

use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// The child's name, next to `bench`.
const CHILD: &str = "ex04-pipeline";

/// A fast run that has not finished by then is cancelled and reported as incomplete, so that a
/// slow machine cannot make the benchmark run on for minutes.
const FAST_LIMIT_SECS: f64 = 20.0;

/// What the `pipeline` load is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// fast sink: records through the pipeline.
    pub records: u64,
    /// stalled sink: how long it stalls before the records held are counted.
    pub stall_secs: f64,
}

/// The two designs, as the table names them, with the child's `--design` value.
const BASELINE: (&str, &str) = ("baseline-unbounded", "unbounded");
const REFERENCE: (&str, &str) = ("ex04-reference", "reference");

/// What one run of `ex04-pipeline` reported.
#[derive(Debug, Clone)]
pub struct Run {
    design: &'static str,
    sink: &'static str,
    /// The source ran dry and everything was through (fast), rather than cut off at the time
    /// limit; always false for a stalled sink.
    complete: bool,
    read: u64,
    delivered: u64,
    held: u64,
    max_held: u64,
    secs: f64,
    peak_kib: Option<u64>,
    /// `(seconds since the start, records held, resident set in KiB)`, every 0.5 s.
    samples: Vec<(f64, u64, Option<u64>)>,
    /// The child's line as it was, for the JSON file.
    raw: Value,
}

impl Run {
    /// Records read per second: the throughput with a fast sink; with a stalled one, how fast
    /// the source was read on average although nothing was delivered.
    fn per_sec(&self) -> f64 {
        self.read as f64 / self.secs.max(1e-9)
    }
}

/// One round: the four runs, baseline and reference alternating, so that a slow spell of the
/// machine hits both.
pub async fn round(bin_dir: &Path, settings: Settings) -> Result<Vec<Run>, String> {
    let mut runs = Vec::with_capacity(4);
    for sink in ["fast", "stalled"] {
        for design in [BASELINE, REFERENCE] {
            runs.push(run_child(bin_dir, design, sink, settings).await?);
        }
    }
    Ok(runs)
}

/// Runs `ex04-pipeline` once and reads its JSON line.
async fn run_child(
    bin_dir: &Path,
    (design, design_arg): (&'static str, &str),
    sink: &'static str,
    settings: Settings,
) -> Result<Run, String> {
    let path = bin_dir.join(CHILD);
    if !path.is_file() {
        return Err(format!(
            "{} not found: build first with\n  cargo build --release -p bench\n(or pass --bin-dir)",
            path.display()
        ));
    }
    let secs = if sink == "fast" {
        eprintln!(
            "bench: pipeline {design}, fast sink: {} records",
            settings.records
        );
        FAST_LIMIT_SECS
    } else {
        eprintln!(
            "bench: pipeline {design}, stalled sink: {} s",
            settings.stall_secs
        );
        settings.stall_secs
    };
    let child = tokio::process::Command::new(&path)
        .args(["--design", design_arg, "--sink", sink])
        .args(["--records", &settings.records.to_string()])
        .args(["--secs", &secs.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // If we give up on it (the timeout below), dropping it kills it: never leave one behind.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
    // The child stops itself after `secs`; the margin covers its start and its clean-up.
    let output = tokio::time::timeout(
        Duration::from_secs_f64(secs + 30.0),
        child.wait_with_output(),
    )
    .await
    .map_err(|_| format!("{CHILD} ({design}, {sink}) did not finish: killed"))?
    .map_err(|e| format!("{CHILD} ({design}, {sink}): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{CHILD} ({design}, {sink}) failed: {}",
            output.status
        ));
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let raw: Value = serde_json::from_str(line.trim())
        .map_err(|e| format!("{CHILD} ({design}, {sink}) printed {line:?}: {e}"))?;
    let run = parse_run(design, sink, raw)?;
    warn_if_wrong(&run);
    Ok(run)
}

fn parse_run(design: &'static str, sink: &'static str, raw: Value) -> Result<Run, String> {
    let number = |key: &str| {
        raw[key]
            .as_u64()
            .ok_or_else(|| format!("{CHILD} printed no {key:?}: {raw}"))
    };
    let samples = raw["samples"]
        .as_array()
        .map(|samples| {
            samples
                .iter()
                .filter_map(|s| {
                    Some((s["t"].as_f64()?, s["held"].as_u64()?, s["rss_kib"].as_u64()))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Run {
        design,
        sink,
        complete: raw["complete"].as_bool().unwrap_or(false),
        read: number("read")?,
        delivered: number("delivered")?,
        held: number("held")?,
        max_held: number("max_held")?,
        secs: raw["secs"].as_f64().unwrap_or(f64::NAN),
        peak_kib: raw["peak_rss_kib"].as_u64(),
        samples,
        raw,
    })
}

/// Not assertions — a benchmark asserts nothing — but say it loudly if a run is not what it
/// should be, since its numbers would then mean something else.
fn warn_if_wrong(run: &Run) {
    if run.raw["books_agree"] == json!(false) {
        eprintln!(
            "bench: !! {}: the reference's Stats disagree with the harness's counts",
            run.design
        );
    }
    if run.design == REFERENCE.0 && run.held > run.max_held {
        eprintln!(
            "bench: !! {}: held {} records, more than max_held {}",
            run.design, run.held, run.max_held
        );
    }
    if run.sink == "fast" && !run.complete {
        eprintln!(
            "bench: !! {}: fast sink cut off at {FAST_LIMIT_SECS} s after {} records",
            run.design, run.read
        );
    }
}

// ---- medians and ratios -------------------------------------------------------------------------

/// The median of each column over the runs of one design and sink (the upper of the middle two).
struct Median {
    design: &'static str,
    sink: &'static str,
    read: f64,
    held: f64,
    max_held: u64,
    per_sec: f64,
    peak_kib: Option<f64>,
}

fn mid(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn median(runs: &[Run], design: &'static str, sink: &'static str) -> Option<Median> {
    let runs: Vec<&Run> = runs
        .iter()
        .filter(|r| r.design == design && r.sink == sink)
        .collect();
    let first = runs.first()?;
    let col = |f: fn(&Run) -> f64| mid(runs.iter().map(|r| f(r)).collect());
    let peaks: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.peak_kib)
        .map(|k| k as f64)
        .collect();
    Some(Median {
        design,
        sink,
        read: col(|r| r.read as f64),
        held: col(|r| r.held as f64),
        max_held: first.max_held,
        per_sec: col(Run::per_sec),
        peak_kib: (!peaks.is_empty()).then(|| mid(peaks)),
    })
}

/// `(baseline, reference)` medians for each sink that ran.
fn pairs(runs: &[Run]) -> Vec<(Median, Median)> {
    ["fast", "stalled"]
        .into_iter()
        .filter_map(|sink| {
            Some((
                median(runs, BASELINE.0, sink)?,
                median(runs, REFERENCE.0, sink)?,
            ))
        })
        .collect()
}

/// `a / b`, printed with enough digits to be read when it is tiny (0.0001).
fn ratio(a: f64, b: f64) -> String {
    let r = a / b;
    if r.is_finite() && r < 0.01 {
        format!("×{r:.6}")
    } else {
        format!("×{r:.2}")
    }
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

// ---- report ---------------------------------------------------------------------------------------

pub fn print_table(runs: &[Run]) {
    if runs.is_empty() {
        return;
    }
    println!();
    println!(
        "{:<8} {:<19} {:>9} {:>10} {:>10} {:>8} {:>6} {:>11} {:>10}",
        "sink", "design", "read", "delivered", "held", "max held", "secs", "records/s", "peak RSS"
    );
    for r in runs {
        println!(
            "{:<8} {:<19} {:>9} {:>10} {:>10} {:>8} {:>6.2} {:>11.0} {:>10}",
            r.sink,
            r.design,
            r.read,
            r.delivered,
            r.held,
            r.max_held,
            r.secs,
            r.per_sec(),
            r.peak_kib.map_or("?".to_owned(), |k| mib(k as f64)),
        );
    }
    let pairs = pairs(runs);
    for m in pairs.iter().flat_map(|(b, r)| [b, r]) {
        println!(
            "{:<8} {:<19} {:>9.0} {:>10} {:>10.0} {:>8} {:>6} {:>11.0} {:>10}",
            m.sink,
            m.design,
            m.read,
            "median",
            m.held,
            m.max_held,
            "",
            m.per_sec,
            m.peak_kib.map_or("?".to_owned(), mib),
        );
    }
    println!();
    println!(
        "ratios, {} / {}, medians over the runs:",
        REFERENCE.0, BASELINE.0
    );
    for (base, reference) in &pairs {
        let memory = match (reference.peak_kib, base.peak_kib) {
            (Some(r), Some(b)) => ratio(r, b),
            _ => "?".to_owned(),
        };
        if base.sink == "fast" {
            println!(
                "  fast sink     throughput (records/s) {}   peak RSS {memory}",
                ratio(reference.per_sec, base.per_sec)
            );
        } else {
            println!(
                "  stalled sink  records held {} ({:.0} vs {:.0})   records read {}   peak RSS {memory}",
                ratio(reference.held, base.held),
                reference.held,
                base.held,
                ratio(reference.read, base.read),
            );
        }
    }
    print_growth(runs);
}

/// The last round's stalled runs, sample by sample: what each design holds as the stall goes on.
fn print_growth(runs: &[Run]) {
    let stalled: Vec<&Run> = runs
        .iter()
        .rev()
        .filter(|r| r.sink == "stalled")
        .take(2)
        .collect();
    let Some(longest) = stalled.iter().map(|r| r.samples.len()).max() else {
        return;
    };
    if longest == 0 {
        return;
    }
    println!();
    println!("stalled sink, last round: records held / resident set, as the stall goes on");
    print!("  {:<19}", "");
    let times = stalled
        .iter()
        .find(|r| r.samples.len() == longest)
        .map(|r| &r.samples);
    for (t, _, _) in times.into_iter().flatten() {
        print!(" {:>22}", format!("{t:.1} s"));
    }
    println!();
    for r in stalled.iter().rev() {
        print!("  {:<19}", r.design);
        for (_, held, rss) in &r.samples {
            let rss = rss.map_or("?".to_owned(), |k| mib(k as f64));
            print!(" {:>22}", format!("{held} / {rss}"));
        }
        println!();
    }
}

/// The `pipeline` part of the JSON file: settings, every run as the child printed it, the
/// medians and the ratios.
pub fn json(runs: &[Run], settings: Settings) -> Value {
    let median_json = |m: &Median| {
        json!({
            "design": m.design,
            "sink": m.sink,
            "read": m.read,
            "held": m.held,
            "max_held": m.max_held,
            "records_per_sec": m.per_sec,
            "peak_rss_kib": m.peak_kib,
        })
    };
    let medians: Vec<Value> = pairs(runs)
        .iter()
        .map(|(base, reference)| {
            let peak = match (reference.peak_kib, base.peak_kib) {
                (Some(r), Some(b)) if b > 0.0 => Some(r / b),
                _ => None,
            };
            json!({
                "sink": base.sink,
                "baseline": median_json(base),
                "reference": median_json(reference),
                // Throughput is what a fast sink measures; what is held, what a stalled one does.
                "ratios": if base.sink == "fast" {
                    json!({ "records_per_sec": reference.per_sec / base.per_sec, "peak_rss": peak })
                } else {
                    json!({
                        "held": reference.held / base.held,
                        "read": reference.read / base.read,
                        "peak_rss": peak,
                    })
                },
            })
        })
        .collect();
    json!({
        "settings": {
            "records": settings.records,
            "stall_secs": settings.stall_secs,
            "fast_limit_secs": FAST_LIMIT_SECS,
        },
        "runs": runs.iter().map(|r| json!({"design": r.design, "result": r.raw})).collect::<Vec<_>>(),
        "medians": medians,
    })
}
