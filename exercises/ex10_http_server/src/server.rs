//! The limits, and the accept loop: a task per connection, a graceful shutdown.

use crate::connection::serve_connection;
use crate::router::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The server's limits. Each one bounds what a single client can make the server hold (memory)
/// or wait for (time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The longest request head accepted, in bytes: the request line, the header lines and the
    /// empty line that ends them, line ends included. Longer: 431 (414 while the request line has
    /// not ended).
    pub max_head_bytes: usize,
    /// The longest request target accepted, in bytes. Longer: 414.
    pub max_target_length: usize,
    /// The largest body accepted, in bytes. Larger: 413.
    pub max_body_bytes: usize,
    /// How long a request's head may take to arrive, from its first byte. Longer: 408.
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive, from the end of its head. Longer: 408.
    pub body_timeout: Duration,
    /// How long a connection may wait for the first byte of a request (after it opened, or after
    /// the previous response), and how long writing one response may take, before it is closed.
    pub idle_timeout: Duration,
    /// After shutdown is requested: how long the requests in flight get to finish before every
    /// connection still open is closed.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    /// Heads up to 8 KiB, targets up to 2 KiB, bodies up to 1 MiB; 10 s for a head, 30 s for a
    /// body, 60 s idle; 5 s of grace.
    fn default() -> Self {
        Self {
            max_head_bytes: 8 * 1024,
            max_target_length: 2 * 1024,
            max_body_bytes: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Accepts connections on `listener` and serves each one with
/// [`serve_connection`](crate::serve_connection) in its own task, all sharing `router`, until
/// `shutdown` is cancelled.
///
/// * **Concurrency**: every connection is served by its own task, so a slow or silent client
///   never delays another; the accept loop never waits for a client.
/// * **Shutdown**: when `shutdown` is cancelled, `serve` stops accepting (no connection attempted
///   after that is ever served) and passes the token on to every connection (see
///   [`serve_connection`](crate::serve_connection)). It returns as soon as every connection has
///   closed, or `config.shutdown_grace` after the cancellation, whichever comes first; at that
///   point every connection still open is closed.
/// * When `serve` returns, no task it started is still alive.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: Config,
    shutdown: CancellationToken,
) {
    todo!(
        "accept connections, a task each sharing the router, until shutdown; then the grace period"
    )
}
