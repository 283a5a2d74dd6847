//! Wrong solution: counts connections by hand and refuses only when the count is already *over*
//! the limit, so it serves one connection too many.
//! replaces: server.rs
//! expect: at_most_max_connections_are_served_and_the_next_one_is_told_busy — a third connection is answered `ERR busy`

use crate::connection::handle_connection;
use crate::protocol::Reply;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The most connections served at once. One more is answered `ERR busy` and closed.
    pub max_connections: usize,
    /// The longest line accepted, in bytes, not counting the `\n`.
    pub max_line_length: usize,
    /// How long a connection may go without sending a complete line before it is closed.
    pub idle_timeout: Duration,
    /// How long one line may take to arrive, from its first byte to its `\n`.
    pub line_timeout: Duration,
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
            line_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

pub async fn serve(
    listener: TcpListener,
    config: Config,
    store: Store,
    shutdown: CancellationToken,
) {
    // A permit per connection. `try_acquire` never waits: a full server says so at once instead
    // of letting clients queue up silently.
    let active = Arc::new(AtomicUsize::new(0));
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
                    eprintln!("ex02-server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Collect the tasks that have ended, so the set does not grow with every connection.
        while connections.try_join_next().is_some() {}

        if active.load(Ordering::SeqCst) > config.max_connections {
            connections.spawn(refuse(socket));
        } else {
            active.fetch_add(1, Ordering::SeqCst);
            let (store, token, active) = (store.clone(), shutdown.clone(), active.clone());
            connections.spawn(async move {
                handle_connection(socket, store, config, token).await;
                active.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }

    // Stop accepting: from here on, connection attempts are refused by the operating system.
    drop(listener);

    // The handlers have seen the token: idle ones close at once, busy ones finish their request.
    // Wait for them up to the grace period — one deadline for all, not one per connection.
    let deadline = Instant::now() + config.shutdown_grace;
    while let Ok(Some(_)) = timeout_at(deadline, connections.join_next()).await {}
    // Whatever is still running is aborted, and awaited: an aborted task is gone only once it
    // has been joined. Dropping a handler drops its socket, which closes the connection.
    connections.shutdown().await;
}

// Tells a client the server is full, then closes the connection.
async fn refuse(mut socket: TcpStream) {
    let line = format!("{}\n", Reply::Error("busy".to_owned()));
    // A new socket's send buffer is empty, so this completes at once; if the client is already
    // gone there is nothing to do about it.
    let _ = socket.write_all(line.as_bytes()).await;
}
