//! The limits, and the accept loop: a task per connection, a graceful shutdown.

use crate::connection::serve_connection;
use crate::router::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};
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
    // One router for every connection: the tasks share it through an `Arc`, read-only.
    let router = Arc::new(router);
    // The set owns every task we start, so none can outlive `serve`.
    let mut connections = JoinSet::new();

    loop {
        let socket = tokio::select! {
            // `biased`: once shutdown is requested, accept nothing more, even if a client is
            // already waiting.
            biased;
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _peer)) => socket,
                Err(e) => {
                    // Usually one client's problem (it reset before we accepted it); when it is
                    // ours (out of file descriptors), pause instead of spinning on the error.
                    eprintln!("ex10-server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Collect the tasks that have ended, so the set does not grow with every connection.
        while connections.try_join_next().is_some() {}

        let (router, token) = (router.clone(), shutdown.clone());
        connections.spawn(async move {
            // An I/O error ends this connection only; the client is gone or broken, and there is
            // no one else to tell.
            let _ = serve_connection(socket, &router, &config, &token).await;
        });
    }

    // Stop accepting: from here on, connection attempts are refused by the operating system.
    drop(listener);

    // The connections have seen the token: idle ones close at once, busy ones finish their
    // request. Wait for them up to the grace period — one deadline for all, not one each.
    let deadline = Instant::now() + config.shutdown_grace;
    while let Ok(Some(_)) = timeout_at(deadline, connections.join_next()).await {}
    // Whatever is still running is aborted, and awaited: an aborted task is gone only once it
    // has been joined. Dropping a connection's future drops its socket, which closes it.
    connections.shutdown().await;
}
