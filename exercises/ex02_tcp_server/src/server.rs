//! The accept loop: a task per connection, a limit on connections, a graceful shutdown.

use crate::store::Store;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The server's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The most connections served at once. One more is answered `ERR busy` and closed.
    pub max_connections: usize,
    /// The longest line accepted, in bytes, not counting the `\n`.
    pub max_line_length: usize,
    /// How long a connection may go without sending a complete line before it is closed.
    pub idle_timeout: Duration,
    /// After shutdown is requested: how long requests in flight get to finish before every
    /// connection still open is closed.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    /// 100 connections, lines up to 1 KiB, 5 minutes of idleness, 5 seconds of grace.
    fn default() -> Self {
        Self {
            max_connections: 100,
            max_line_length: 1024,
            idle_timeout: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Accepts connections on `listener` and serves each one with
/// [`handle_connection`](crate::handle_connection) in its own task, until `shutdown` is cancelled.
///
/// * **Concurrency**: every connection is served by its own task, so a slow or silent client
///   never delays another; the accept loop never waits for a client.
/// * **Connection limit**: at most `config.max_connections` connections are served at once. A
///   connection accepted beyond that is sent `ERR busy` and closed; it does not count against
///   the limit. A connection counts from the moment it is accepted until its handler has closed
///   it, however it ended (quit, hang-up, timeout, error).
/// * **Shutdown**: when `shutdown` is cancelled, `serve` stops accepting (no connection attempted
///   after that is ever served; the listener is closed, at the latest when `serve` returns) and
///   passes the token on to every connection (see
///   [`handle_connection`](crate::handle_connection)). It returns as soon as every connection
///   has closed, or `config.shutdown_grace` after the cancellation, whichever comes first; at
///   that point every connection still open is closed.
/// * When `serve` returns, no task it started is still alive.
/// * An error accepting one connection is not fatal: the loop goes on.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    store: Store,
    shutdown: CancellationToken,
) {
    todo!("accept connections, a task each, under the connection limit, until shutdown")
}
