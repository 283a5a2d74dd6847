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

use ex11_distributed_tasks::{
    Config, Outcome, TcpConnector, WorkerConfig, run_worker, serve, submit,
};
use std::process::ExitCode;
use std::time::Duration;

const ADDR: &str = "127.0.0.1:7411";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let connector = TcpConnector {
        addr: ADDR.to_owned(),
    };
    let result = match args.as_slice() {
        ["coordinator"] => coordinator().await,
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
                Ok(Outcome::Done(output)) => println!("done: {output}"),
                Ok(Outcome::Dead(error)) => println!("dead: {error}"),
                Err(busy) => println!("{busy}"),
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

async fn coordinator() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(ADDR).await?;
    println!("coordinator on {ADDR}");
    let config = Config {
        lease_duration: Duration::from_secs(3),
        max_attempts: 3,
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(10),
        max_pending: 100,
    };
    serve(listener, config).await
}

/// The example tasks.
async fn handle(payload: String) -> Result<String, String> {
    println!("running {payload:?}");
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
