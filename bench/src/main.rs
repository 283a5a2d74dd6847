//! `bench`: the reference servers under load, beside minimal tokio baselines, driven by one load
//! generator in one run. Loopback only; bounded in clients, requests and time; the servers are
//! child processes that this program starts and kills. See `BENCHMARKS.md`.
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/bench-target cargo build --release -p ex05_chat_server_solution -p ex10_http_server_solution -p bench
//! /tmp/bench-target/release/bench            # --help for the knobs
//! ```
//!
//! * **kv**: `ex02-server-1k` (ex02's reference `serve`, connection limit raised) and
//!   `baseline-echo`. N clients connect, wait for each other, then each sends M request lines one
//!   after the other (`SET k<i> v<j>` / `GET k<i>`, the same bytes to the echo server), timing
//!   each round trip. Every reply is checked.
//! * **chat**: `ex05-chat` and `baseline-chat`. N clients join (nickname line first), the join
//!   notices drain, then S of them send M messages each at a fixed total rate. Each message
//!   carries its send instant; every other client records when it arrives (one process, one
//!   clock), which gives the fan-out latency and the deliveries per second.
//! * **http**: `ex10-server` (ex10's reference, from scratch) and `baseline-hyper` (a minimal
//!   hyper server). N keep-alive connections, each sending M `GET /` requests one after the other
//!   (no pipelining), timing each round trip; every response is checked (a 200, `hello\n`).
//! * **pipeline**: ex04's reference pipeline and the same stages on unbounded channels (the
//!   wrong design), each with a fast sink (throughput) and a stalled one (records held, memory);
//!   each run is an `ex04-pipeline` child process. See `pipeline_driver.rs`.
//! * **memory**: the server's `VmHWM` (peak resident set) from `/proc/<pid>/status`, read just
//!   before it is killed; `ex04-pipeline` reads its own just before it exits.

mod pipeline_driver;

use clap::Parser;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Barrier, watch};

#[derive(Parser, Debug)]
#[command(about = "Reference servers under load, beside minimal tokio baselines (loopback only)")]
struct Args {
    /// Concurrent client connections per server.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// kv, http: requests each client sends, one after the other.
    #[arg(long, default_value_t = 100)]
    requests: usize,
    /// chat: how many of the clients send messages.
    #[arg(long, default_value_t = 20)]
    senders: usize,
    /// chat: messages each sender sends.
    #[arg(long, default_value_t = 10)]
    messages: usize,
    /// chat: total messages per second offered by all senders together (each is delivered to
    /// every other client).
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Runs of each server (and of each pipeline design and sink); the ratios compare the medians
    /// over the runs.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// pipeline: records through the pipeline with a fast sink.
    #[arg(long, default_value_t = 1_000_000)]
    pipeline_records: u64,
    /// pipeline: seconds the sink stalls before the records held are counted.
    #[arg(long, default_value_t = 2.0)]
    stall_secs: f64,
    /// Which scenarios to run.
    #[arg(long, value_delimiter = ',', default_value = "kv,chat,http,pipeline")]
    only: Vec<String>,
    /// Where the server binaries are (default: next to this program).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Where to write the results as JSON (default: `<target dir>/bench/servers.json`).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What one server did under one load.
#[derive(Debug, Clone)]
struct Measure {
    server: String,
    scenario: &'static str,
    clients: usize,
    /// Requests answered (kv) or messages delivered (chat).
    ops: u64,
    /// What should have happened: requests sent, or messages × other clients.
    expected: u64,
    /// kv: wrong replies or failed connections; chat: deliveries missing at the end.
    lost: u64,
    secs: f64,
    /// Latency quantiles (p50, p99, max), in microseconds; NaN when nothing was measured.
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    peak_kib: Option<u64>,
}

impl Measure {
    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.secs.max(1e-9)
    }
}

/// p50, p99 and max of latencies in nanoseconds, in microseconds.
fn quantiles(mut latencies: Vec<u64>) -> [f64; 3] {
    latencies.sort_unstable();
    [0.50, 0.99, 1.0].map(|q| {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = (q * (latencies.len() - 1) as f64).round() as usize;
        latencies[i] as f64 / 1e3
    })
}

/// Each figure's median over the runs (the upper one of the middle two): ops/s, p50, p99, max
/// and peak RSS are each the median of their own column, not one run's row.
fn median(runs: Vec<Measure>) -> Measure {
    fn mid(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    let col = |f: fn(&Measure) -> f64| mid(runs.iter().map(f).collect());
    let secs = 1.0;
    let ops = col(Measure::per_sec).round() as u64;
    let peak = runs
        .iter()
        .filter_map(|m| m.peak_kib)
        .map(|k| k as f64)
        .collect::<Vec<_>>();
    Measure {
        server: runs[0].server.clone(),
        scenario: runs[0].scenario,
        clients: runs[0].clients,
        ops,
        expected: runs[0].expected,
        lost: col(|m| m.lost as f64) as u64,
        secs,
        p50_us: col(|m| m.p50_us),
        p99_us: col(|m| m.p99_us),
        max_us: col(|m| m.max_us),
        peak_kib: (!peak.is_empty()).then(|| mid(peak) as u64),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = Args::parse();
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("where am I: {e}"))?
            .parent()
            .ok_or("this program has no directory")?
            .to_path_buf(),
    };
    if args
        .only
        .iter()
        .any(|s| s == "kv" || s == "chat" || s == "http")
    {
        check_fd_limit(&mut args)?;
    }
    // Bounded in time: the stalled runs are the slow part of the pipeline load.
    if !(args.stall_secs > 0.0 && args.stall_secs <= 60.0) {
        return Err(format!(
            "--stall-secs {}: between 0 and 60",
            args.stall_secs
        ));
    }
    let pipeline_settings = pipeline_driver::Settings {
        records: args.pipeline_records,
        stall_secs: args.stall_secs,
    };

    let base = Instant::now();
    let mut results: Vec<(Measure, Measure)> = Vec::new();
    let mut rounds: Vec<Measure> = Vec::new();
    let mut pipeline_runs = Vec::new();
    for scenario in &args.only {
        // Not a server: its own runs, table and JSON (see pipeline_driver.rs).
        if scenario == "pipeline" {
            for round in 1..=args.rounds {
                eprintln!("bench: pipeline round {round}/{}", args.rounds);
                pipeline_runs.extend(pipeline_driver::round(&bin_dir, pipeline_settings).await?);
            }
            continue;
        }
        let (mut servers, mut baselines) = (Vec::new(), Vec::new());
        // Baseline and reference alternate, round after round, so that a slow spell of the
        // machine hits both.
        for round in 1..=args.rounds {
            eprintln!("bench: {scenario} round {round}/{}", args.rounds);
            match scenario.as_str() {
                "kv" => {
                    baselines
                        .push(run_kv(&bin_dir, "baseline-echo", &[], &args, Reply::Echo).await?);
                    let max = (args.clients + 24).to_string();
                    servers
                        .push(run_kv(&bin_dir, "ex02-server-1k", &[max], &args, Reply::Kv).await?);
                }
                "chat" => {
                    baselines.push(run_chat(&bin_dir, "baseline-chat", &args, base).await?);
                    servers.push(run_chat(&bin_dir, "ex05-chat", &args, base).await?);
                }
                "http" => {
                    let (hyper, ex10) = ("baseline-hyper", "ex10-server");
                    baselines.push(run_kv(&bin_dir, hyper, &[], &args, Reply::Http).await?);
                    servers.push(run_kv(&bin_dir, ex10, &[], &args, Reply::Http).await?);
                }
                other => {
                    return Err(format!(
                        "unknown scenario {other:?} (kv, chat, http, pipeline)"
                    ));
                }
            }
        }
        rounds.extend(baselines.iter().chain(&servers).cloned());
        results.push((median(servers), median(baselines)));
    }

    print_table(&rounds, &results);
    pipeline_driver::print_table(&pipeline_runs);
    let pipeline = (!pipeline_runs.is_empty())
        .then(|| pipeline_driver::json(&pipeline_runs, pipeline_settings));
    let json_path = args.json.clone().unwrap_or_else(|| {
        bin_dir
            .parent()
            .unwrap_or(&bin_dir)
            .join("bench/servers.json")
    });
    write_json(&json_path, &args, &rounds, &results, pipeline)?;
    println!("\nJSON: {}", json_path.display());
    Ok(())
}

// ---- file descriptors ---------------------------------------------------------------------------

/// Every client socket is a descriptor in this process, and the server (which inherits our
/// limit) holds one per client too. The workspace forbids `unsafe`, so no `setrlimit` here: if
/// the soft limit is too low, say how to raise it and lower the client count.
fn check_fd_limit(args: &mut Args) -> Result<(), String> {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        });
    let needed = args.clients + 64;
    match soft {
        Some(soft) if soft < needed => {
            let clients = soft.saturating_sub(64);
            if clients == 0 {
                return Err(format!(
                    "open-file limit {soft} is too low: run `ulimit -n 4096`"
                ));
            }
            eprintln!(
                "bench: the open-file limit is {soft}, {needed} needed for {} clients: using {clients} \
                 clients (run `ulimit -n 4096` first for the full count)",
                args.clients
            );
            args.clients = clients;
        }
        _ => {}
    }
    args.senders = args.senders.min(args.clients);
    Ok(())
}

// ---- server processes ---------------------------------------------------------------------------

struct Server {
    name: String,
    child: Child,
    addr: String,
}

impl Server {
    /// Starts `bin_dir/name ADDRESS extra…` on a free loopback port and waits until it accepts.
    async fn start(bin_dir: &Path, name: &str, extra: &[String]) -> Result<Server, String> {
        let path = bin_dir.join(name);
        if !path.is_file() {
            return Err(format!(
                "{} not found: build first with\n  cargo build --release -p ex05_chat_server_solution -p ex10_http_server_solution -p bench\n\
                 (or pass --bin-dir)",
                path.display()
            ));
        }
        // Ask the kernel for a free port, then hand it to the server. Another process could take
        // it in between; on a quiet machine that does not happen.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(&path)
            .arg(&addr)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
        let mut server = Server {
            name: name.to_owned(),
            child,
            addr,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(&server.addr).await.is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("{name} exited at start: {status}"));
            }
            if Instant::now() > deadline {
                server.stop();
                return Err(format!(
                    "{name} did not accept on {} within 10 s",
                    server.addr
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Reads the peak resident set, then kills the server. `None` if `/proc` has no answer.
    fn stop(&mut self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok();
        let peak = status.as_deref().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        });
        let _ = self.child.kill();
        let _ = self.child.wait();
        peak
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // On an early return (an error), never leave a server behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---- kv: request / reply round trips ------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Reply {
    /// The reply is the request line itself.
    Echo,
    /// ex02's protocol: `SET` → `OK`, `GET` → `VALUE <the value just set>`.
    Kv,
    /// HTTP/1.1 on a keep-alive connection: `GET /` → a 200 with the body `hello\n`.
    Http,
}

impl Reply {
    fn scenario(self) -> &'static str {
        match self {
            Reply::Http => "http",
            Reply::Echo | Reply::Kv => "kv",
        }
    }
}

async fn run_kv(
    bin_dir: &Path,
    name: &str,
    extra: &[String],
    args: &Args,
    reply: Reply,
) -> Result<Measure, String> {
    let mut server = Server::start(bin_dir, name, extra).await?;
    eprintln!(
        "bench: {:<4} {name}: {} clients × {} requests",
        reply.scenario(),
        args.clients,
        args.requests
    );
    let barrier = Arc::new(Barrier::new(args.clients + 1));
    let mut tasks = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let (addr, barrier, requests) = (server.addr.clone(), barrier.clone(), args.requests);
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&addr).await;
            // Everyone waits, even a client that could not connect: the barrier counts on it.
            barrier.wait().await;
            match stream {
                Ok(stream) if reply == Reply::Http => http_client(stream, requests).await,
                Ok(stream) => kv_client(stream, i, requests, reply).await,
                Err(_) => (Vec::new(), requests as u64),
            }
        }));
    }
    barrier.wait().await;
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(args.clients * args.requests);
    let mut lost = 0;
    for task in tasks {
        let (mut l, errors) = task
            .await
            .map_err(|e| format!("a kv client panicked: {e}"))?;
        latencies.append(&mut l);
        lost += errors;
    }
    let secs = start.elapsed().as_secs_f64();
    let peak_kib = server.stop();
    let ops = latencies.len() as u64;
    let [p50_us, p99_us, max_us] = quantiles(latencies);
    Ok(Measure {
        server: server.name.clone(),
        scenario: reply.scenario(),
        clients: args.clients,
        ops,
        expected: (args.clients * args.requests) as u64,
        lost,
        secs,
        p50_us,
        p99_us,
        max_us,
        peak_kib,
    })
}

/// One client's requests, one at a time. Returns the round trips of the correct replies, and
/// how many requests failed (a wrong reply, or the connection ended).
async fn kv_client(stream: TcpStream, i: usize, requests: usize, reply: Reply) -> (Vec<u64>, u64) {
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut latencies = Vec::with_capacity(requests);
    let mut answer = String::new();
    for j in 0..requests {
        let request = if j % 2 == 0 {
            format!("SET k{i} v{j}\n")
        } else {
            format!("GET k{i}\n")
        };
        let expected = match reply {
            Reply::Echo => request.clone(),
            Reply::Kv if j % 2 == 0 => "OK\n".to_owned(),
            Reply::Kv => format!("VALUE v{}\n", j - 1),
            // Not a line protocol (`http_client` speaks it): every request would fail.
            Reply::Http => return (latencies, requests as u64),
        };
        let sent = Instant::now();
        answer.clear();
        let ok = writer.write_all(request.as_bytes()).await.is_ok()
            && matches!(reader.read_line(&mut answer).await, Ok(n) if n > 0);
        let took = sent.elapsed();
        if !ok {
            return (latencies, (requests - j) as u64);
        }
        if answer == expected {
            latencies.push(took.as_nanos() as u64);
        } else {
            // Wrong reply (`ERR busy`, say): count the rest as failed and stop.
            return (latencies, (requests - j) as u64);
        }
    }
    (latencies, 0)
}

/// One client's HTTP requests on one keep-alive connection, one at a time (no pipelining).
/// Returns the round trips of the correct responses, and how many requests failed.
async fn http_client(stream: TcpStream, requests: usize) -> (Vec<u64>, u64) {
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut latencies = Vec::with_capacity(requests);
    for j in 0..requests {
        let sent = Instant::now();
        let ok = writer
            .write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
            .await
            .is_ok()
            && read_hello(&mut reader).await;
        if !ok {
            return (latencies, (requests - j) as u64);
        }
        latencies.push(sent.elapsed().as_nanos() as u64);
    }
    (latencies, 0)
}

/// Reads one response and says whether it is the expected one: status 200, a `Content-Length`,
/// the body `hello\n`. Both servers send a length, never chunks, for this route.
async fn read_hello(reader: &mut BufReader<OwnedReadHalf>) -> bool {
    let mut line = String::new();
    let mut next_line = async |line: &mut String| {
        line.clear();
        matches!(reader.read_line(line).await, Ok(n) if n > 0)
    };
    if !next_line(&mut line).await {
        return false;
    }
    let status_ok = line.starts_with("HTTP/1.1 200 ");
    let mut length = None;
    loop {
        if !next_line(&mut line).await {
            return false;
        }
        let field = line.trim_end();
        if field.is_empty() {
            break;
        }
        if let Some((name, value)) = field.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let Some(length) = length.filter(|&n| n <= 1024) else {
        return false;
    };
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.is_ok() && status_ok && body == b"hello\n"
}

// ---- chat: fan-out --------------------------------------------------------------------------------

/// What the readers share with the driver.
#[derive(Default)]
struct Counters {
    /// Lines that are not measured messages (join notices, …): the driver waits for these to stop.
    other_lines: AtomicU64,
    delivered: AtomicU64,
    /// Last delivery, in nanoseconds since `base`.
    last_delivery: AtomicU64,
}

async fn run_chat(
    bin_dir: &Path,
    name: &str,
    args: &Args,
    base: Instant,
) -> Result<Measure, String> {
    let mut server = Server::start(bin_dir, name, &[]).await?;
    let (clients, senders, messages) = (args.clients, args.senders, args.messages);
    eprintln!(
        "bench: chat {name}: {clients} clients, {senders} senders × {messages} messages at {} msg/s",
        args.rate
    );
    let counters = Arc::new(Counters::default());
    let joined = Arc::new(Barrier::new(clients + 1));
    // `Some(instant)` once the senders may start; the readers stop when `stop` turns true.
    let (go_tx, go_rx) = watch::channel::<Option<Instant>>(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(1) as f64);

    let mut readers = Vec::with_capacity(clients);
    let mut sender_tasks = Vec::new();
    for i in 0..clients {
        let stream = TcpStream::connect(&server.addr)
            .await
            .map_err(|e| format!("client {i} cannot connect to {name}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (reader, mut writer) = stream.into_split();
        let mut lines = BufReader::new(reader).lines();
        let (joined, counters, mut stop) = (joined.clone(), counters.clone(), stop_rx.clone());
        let mut go = go_rx.clone();
        let (writer_tx, writer_rx) = tokio::sync::oneshot::channel::<OwnedWriteHalf>();
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let nick = format!("c{i}\n");
            if writer.write_all(nick.as_bytes()).await.is_err() {
                joined.wait().await;
                return latencies;
            }
            // Skip the greeting (ex05 sends `* choose a nickname`) up to the welcome.
            let mut welcomed = false;
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("* welcome") {
                    welcomed = true;
                    break;
                }
            }
            // A sender's task takes the writing half; the others keep it here, since dropping it
            // would hang up our side and leave the room.
            let _keep = writer_tx.send(writer).err();
            joined.wait().await;
            if !welcomed {
                return latencies;
            }
            loop {
                tokio::select! {
                    line = lines.next_line() => {
                        let Ok(Some(line)) = line else { break };
                        let now = base.elapsed().as_nanos() as u64;
                        match sent_at(&line) {
                            Some(sent) if go.borrow_and_update().is_some() => {
                                latencies.push(now.saturating_sub(sent));
                                counters.delivered.fetch_add(1, Ordering::Relaxed);
                                counters.last_delivery.fetch_max(now, Ordering::Relaxed);
                            }
                            _ => {
                                counters.other_lines.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
            latencies
        }));
        if i < senders {
            let (mut go, mut stop) = (go_rx.clone(), stop_rx.clone());
            sender_tasks.push(tokio::spawn(async move {
                let Ok(mut writer) = writer_rx.await else {
                    return;
                };
                let Ok(Some(start)) = go.wait_for(Option::is_some).await.map(|s| *s) else {
                    return;
                };
                for k in 0..messages {
                    // Message number k*senders + i of the whole run goes out at its slot.
                    let slot = start + interval * (k * senders + i) as u32;
                    tokio::time::sleep_until(slot.into()).await;
                    let sent = base.elapsed().as_nanos();
                    let line = format!("m {i} {k} {sent}\n");
                    if writer.write_all(line.as_bytes()).await.is_err() {
                        return;
                    }
                }
                // Keep the connection open until the driver is done: hanging up would make
                // the sender leave the room before the last deliveries are counted.
                let _ = stop.changed().await;
                drop(writer);
            }));
        }
    }
    joined.wait().await;

    // Let the join notices drain: wait until no such line has arrived for 300 ms (at most 10 s).
    let settle_deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = counters.other_lines.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = counters.other_lines.load(Ordering::Relaxed);
        if now == seen || Instant::now() > settle_deadline {
            break;
        }
        seen = now;
    }

    let start = Instant::now();
    let start_nanos = start.duration_since(base).as_nanos() as u64;
    let _ = go_tx.send(Some(start));
    let expected = (senders * messages * (clients - 1)) as u64;
    let sending = interval * (senders * messages) as u32;
    // Done when everything has arrived, or nothing more has for 2 s after the last send.
    let hard_deadline = start + sending + Duration::from_secs(30);
    let mut last_count = 0;
    let mut last_progress = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let delivered = counters.delivered.load(Ordering::Relaxed);
        if delivered >= expected {
            break;
        }
        if delivered != last_count {
            last_count = delivered;
            last_progress = Instant::now();
        }
        let all_sent = Instant::now() > start + sending;
        if (all_sent && last_progress.elapsed() > Duration::from_secs(2))
            || Instant::now() > hard_deadline
        {
            break;
        }
    }
    let _ = stop_tx.send(true);
    let mut latencies = Vec::with_capacity(expected as usize);
    for reader in readers {
        let mut l = reader
            .await
            .map_err(|e| format!("a chat reader panicked: {e}"))?;
        latencies.append(&mut l);
    }
    for sender in sender_tasks {
        sender.abort();
    }
    let peak_kib = server.stop();
    let delivered = latencies.len() as u64;
    let [p50_us, p99_us, max_us] = quantiles(latencies);
    let end = counters.last_delivery.load(Ordering::Relaxed);
    Ok(Measure {
        server: server.name.clone(),
        scenario: "chat",
        clients,
        ops: delivered,
        expected,
        lost: expected.saturating_sub(delivered),
        secs: end.saturating_sub(start_nanos) as f64 / 1e9,
        p50_us,
        p99_us,
        max_us,
        peak_kib,
    })
}

/// The send instant carried by a measured message, `<nick>: m <sender> <k> <nanos>`.
fn sent_at(line: &str) -> Option<u64> {
    let (_, payload) = line.split_once(": m ")?;
    payload.split(' ').nth(2)?.parse().ok()
}

// ---- report ---------------------------------------------------------------------------------------

fn print_table(rounds: &[Measure], results: &[(Measure, Measure)]) {
    if rounds.is_empty() {
        return; // only the pipeline ran
    }
    println!();
    println!(
        "{:<6} {:<15} {:>7} {:>10} {:>8} {:>7} {:>11} {:>9} {:>9} {:>9} {:>10}",
        "load",
        "server",
        "clients",
        "ops",
        "lost",
        "secs",
        "ops/s",
        "p50 µs",
        "p99 µs",
        "max µs",
        "peak RSS"
    );
    for m in rounds {
        println!(
            "{:<6} {:<15} {:>7} {:>10} {:>8} {:>7.2} {:>11.0} {:>9.0} {:>9.0} {:>9.0} {:>10}",
            m.scenario,
            m.server,
            m.clients,
            m.ops,
            m.lost,
            m.secs,
            m.per_sec(),
            m.p50_us,
            m.p99_us,
            m.max_us,
            m.peak_kib
                .map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        );
    }
    for (server, baseline) in results {
        for m in [baseline, server] {
            println!(
                "{:<6} {:<15} {:>7} {:>10} {:>8} {:>7} {:>11.0} {:>9.0} {:>9.0} {:>9.0} {:>10}",
                m.scenario,
                m.server,
                "median",
                "",
                m.lost,
                "",
                m.per_sec(),
                m.p50_us,
                m.p99_us,
                m.max_us,
                m.peak_kib
                    .map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            );
        }
    }
    println!();
    println!(
        "ratios, reference / baseline, medians over the runs \
         (throughput < 1: slower; latency and memory > 1: worse):"
    );
    for (server, baseline) in results {
        let r = ratios(server, baseline);
        println!(
            "  {:<15} / {:<14} throughput ×{:.2}   p50 ×{:.2}   p99 ×{:.2}   peak RSS ×{}",
            server.server,
            baseline.server,
            r.throughput,
            r.p50,
            r.p99,
            r.memory.map_or("?".to_owned(), |m| format!("{m:.2}")),
        );
    }
}

struct Ratios {
    throughput: f64,
    p50: f64,
    p99: f64,
    memory: Option<f64>,
}

fn ratios(server: &Measure, baseline: &Measure) -> Ratios {
    Ratios {
        throughput: server.per_sec() / baseline.per_sec(),
        p50: server.p50_us / baseline.p50_us,
        p99: server.p99_us / baseline.p99_us,
        memory: match (server.peak_kib, baseline.peak_kib) {
            (Some(s), Some(b)) if b > 0 => Some(s as f64 / b as f64),
            _ => None,
        },
    }
}

fn measure_json(m: &Measure) -> serde_json::Value {
    json!({
        "server": m.server,
        "scenario": m.scenario,
        "clients": m.clients,
        "ops": m.ops,
        "expected": m.expected,
        "lost": m.lost,
        "secs": m.secs,
        "ops_per_sec": m.per_sec(),
        "p50_us": m.p50_us,
        "p99_us": m.p99_us,
        "max_us": m.max_us,
        "peak_rss_kib": m.peak_kib,
    })
}

fn write_json(
    path: &Path,
    args: &Args,
    rounds: &[Measure],
    results: &[(Measure, Measure)],
    pipeline: Option<serde_json::Value>,
) -> Result<(), String> {
    let pairs: Vec<_> = results
        .iter()
        .map(|(server, baseline)| {
            let r = ratios(server, baseline);
            json!({
                "server": measure_json(server),
                "baseline": measure_json(baseline),
                "ratios": {
                    "throughput": r.throughput,
                    "p50": r.p50,
                    "p99": r.p99,
                    "peak_rss": r.memory,
                },
            })
        })
        .collect();
    let doc = json!({
        "args": {
            "clients": args.clients,
            "requests": args.requests,
            "senders": args.senders,
            "messages": args.messages,
            "rate": args.rate,
            "rounds": args.rounds,
            "pipeline_records": args.pipeline_records,
            "stall_secs": args.stall_secs,
        },
        "runs": rounds.iter().map(measure_json).collect::<Vec<_>>(),
        "medians": pairs,
        "pipeline": pipeline,
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}
