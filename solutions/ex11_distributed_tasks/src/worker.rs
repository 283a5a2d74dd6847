//! A worker: asks the coordinator for tasks, runs them one at a time, and keeps its lease alive.

use crate::net::Connector;
use crate::protocol::{Connection, Message};
use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep};

/// How a worker behaves on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// While a task runs, a `BEAT` for its lease goes out every `heartbeat_interval`, the first
    /// one `heartbeat_interval` after the task arrived.
    pub heartbeat_interval: Duration,
    /// After a connection fails or ends, or cannot be opened, the worker waits this long before
    /// connecting again.
    pub reconnect_delay: Duration,
}

/// Runs a worker for ever: connects to the coordinator, sends `READY`, runs the task it gets with
/// `handler(payload)` while sending heartbeats, reports `OK <output>` or `ERR <error>`, and asks
/// for the next task. One task at a time: run several workers for more.
///
/// When the connection fails or ends (the coordinator restarted, the network broke), the task in
/// progress is abandoned — its lease will run out and the coordinator will give it to someone
/// else — and the worker connects again after `reconnect_delay`.
pub async fn run_worker<C, H, Fut>(connector: C, config: WorkerConfig, handler: H)
where
    C: Connector,
    H: Fn(String) -> Fut,
    Fut: Future<Output = Result<String, String>>,
{
    loop {
        if let Ok(stream) = connector.connect().await {
            // However the connection ends, the answer is the same: start again.
            let _ = work(stream, &config, &handler).await;
        }
        sleep(config.reconnect_delay).await;
    }
}

// Takes and runs tasks on one connection until it ends.
async fn work<S, H, Fut>(stream: S, config: &WorkerConfig, handler: &H) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Fn(String) -> Fut,
    Fut: Future<Output = Result<String, String>>,
{
    let mut conn = Connection::new(stream);
    loop {
        conn.send(&Message::Ready).await?;
        let Some(message) = conn.receive().await? else {
            return Ok(());
        };
        let Message::Task { lease, payload, .. } = message else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected a task, got: {message}"),
            ));
        };
        let result = run_with_heartbeats(&mut conn, lease, handler(payload), config).await?;
        let report = match result {
            Ok(output) => Message::Ok { lease, output },
            Err(error) => Message::Err { lease, error },
        };
        conn.send(&report).await?;
    }
}

// Drives the task, sending a heartbeat every interval until it finishes.
async fn run_with_heartbeats<S, Fut>(
    conn: &mut Connection<S>,
    lease: u64,
    task: Fut,
    config: &WorkerConfig,
) -> io::Result<Result<String, String>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    Fut: Future<Output = Result<String, String>>,
{
    let mut task = pin!(task);
    let period = config.heartbeat_interval;
    let mut beats = interval_at(Instant::now() + period, period);
    // After a slow send, beat again a whole period later, not in a burst.
    beats.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            result = &mut task => return Ok(result),
            _ = beats.tick() => conn.send(&Message::Beat { lease }).await?,
        }
    }
}
