//! A worker: asks the coordinator for tasks, runs them one at a time, and keeps its lease alive.

use crate::net::Connector;
use std::future::Future;
use std::time::Duration;

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
    todo!("run_worker: READY, run the TASK with heartbeats, report OK or ERR; reconnect on failure")
}
