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
    /// How long one line may take to arrive, from its first byte to its `\n`: a slower line is
    /// answered `ERR line timeout` and its connection closed. Also, when the server is full, how
    /// long a connection must have been waiting between requests before it gives up its slot to
    /// a new connection (see [`serve`](crate::serve)).
    pub line_timeout: Duration,
    /// After shutdown is requested: how long requests in flight get to finish before every
    /// connection still open is closed.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    /// 100 connections, lines up to 1 KiB, 5 minutes of idleness, 10 seconds a line, 5 seconds
    /// of grace.
    fn default() -> Self {
        Self {
            max_connections: 100,
            max_line_length: 1024,
            idle_timeout: Duration::from_secs(300),
            line_timeout: Duration::from_secs(10),
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
///   connection counts from the moment it is accepted until its handler has closed it, however
///   it ended (quit, hang-up, timeout, error).
/// * **When full**, a new connection does not simply wait for a slot or get refused: the
///   connection that has been *waiting between requests* the longest — its last line complete
///   and nothing of a next one received, since its last complete line arrived (or since it was
///   accepted, if none has) — gives up its slot, if it has been waiting for at least
///   `config.line_timeout`. It is closed as if shutdown had been requested for it alone (see
///   [`handle_connection`](crate::handle_connection): waiting between requests, it is closed at
///   once, without a reply), and the new connection is served in its place. Between two that
///   have waited equally long, either one. If no connection has waited that long, the new
///   connection is sent `ERR busy` and closed at once; it does not count against the limit.
///   So a silent client holds its slot only while no one else needs it, and a client that
///   trickles a line is cut off by the line timeout: a few idle or slow clients cannot lock
///   everyone else out.
/// * **Shutdown**: when `shutdown` is cancelled, `serve` stops accepting (no connection attempted
///   after that is ever served; the listener is closed, at the latest when `serve` returns) and
///   passes the token on to every connection (see
///   [`handle_connection`](crate::handle_connection)). It returns as soon as every connection
///   has closed, or `config.shutdown_grace` after the cancellation, whichever comes first; at
///   that point every connection still open is closed.
/// * When `serve` returns, no task it started is still alive.
/// * An error accepting one connection is not fatal: the loop goes on, and the connections
///   already open are still served. It goes on after a short pause (say 100 ms), so that an
///   error that persists (out of file descriptors) does not keep the executor busy.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    store: Store,
    shutdown: CancellationToken,
) {
    todo!("accept connections, a task each, under the connection limit, until shutdown")
}
