//! `ex11-cluster`: the coordinator, a worker and a submitter on real TCP, one per terminal.
//!
//! ```text
//! cargo run -p ex11_distributed_tasks --bin ex11-cluster -- coordinator
//! cargo run -p ex11_distributed_tasks --bin ex11-cluster -- worker        (one or more)
//! cargo run -p ex11_distributed_tasks --bin ex11-cluster -- submit k1 hello
//! ```
//!
//! The worker's tasks: `sleep <seconds>` waits that long, `fail` fails, anything else comes back
//! reversed. Stop a worker with Ctrl-C in the middle of a `sleep 30` and watch the task move to
//! another one when its lease runs out.
//!
//! Everyone meets at 127.0.0.1:7411, or at the address in `EX11_ADDR`; a coordinator started with
//! port 0 (`EX11_ADDR=127.0.0.1:0`) takes a free port and prints which (CI does that,
//! `.ci/cluster`).

use ex11_distributed_tasks::{
    Config, Outcome, TcpConnector, WorkerConfig, run_worker, serve, submit,
};
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_ADDR: &str = "127.0.0.1:7411";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let addr = std::env::var("EX11_ADDR").unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
    let connector = TcpConnector { addr: addr.clone() };
    let result = match args.as_slice() {
        ["coordinator"] => coordinator(&addr).await,
        ["worker"] => {
            let config = WorkerConfig {
                heartbeat_interval: Duration::from_secs(1),
                reconnect_delay: Duration::from_secs(1),
            };
            run_worker(connector, config, handle).await;
            Ok(())
        }
        ["submit", key, payload @ ..] => {
            match submit(&connector, key, &payload.join(" "), Duration::from_secs(1)).await {
                Ok(Outcome::Done(output)) => say(format_args!("done: {output}")),
                Ok(Outcome::Dead(error)) => say(format_args!("dead: {error}")),
                Err(busy) => say(format_args!("{busy}")),
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: ex11-cluster coordinator | worker | submit <key> <payload>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ex11-cluster: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn coordinator(addr: &str) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    // The bound address, not the one asked for: with port 0 the system picked it.
    say(format_args!("coordinator on {}", listener.local_addr()?));
    let config = Config {
        lease_duration: Duration::from_secs(3),
        max_attempts: 3,
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(10),
        max_pending: 100,
    };
    serve(listener, config).await
}

// Prints a line. A closed stdout (`… | head -1`) loses the line; it never crashes the program.
fn say(line: std::fmt::Arguments) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// The example tasks.
async fn handle(payload: String) -> Result<String, String> {
    say(format_args!("running {payload:?}"));
    if let Some(secs) = payload.strip_prefix("sleep ") {
        let secs: u64 = secs
            .trim()
            .parse()
            .map_err(|_| "sleep takes seconds".to_owned())?;
        tokio::time::sleep(Duration::from_secs(secs)).await;
        return Ok(format!("slept {secs}s"));
    }
    if payload == "fail" {
        return Err("failed on purpose".to_owned());
    }
    Ok(payload.chars().rev().collect())
}
