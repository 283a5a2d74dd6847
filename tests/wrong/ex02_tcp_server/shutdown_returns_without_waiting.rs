//! Wrong solution: spawns connections as detached tasks and returns as soon as shutdown is
//! requested, leaving requests in flight (and their tasks) behind.
//! replaces: server.rs
//! expect: shutdown_stops_accepting_finishes_requests_in_flight_and_closes_the_rest_after_the_grace_period — before its connections were done

use crate::connection::handle_connection;
use crate::protocol::Reply;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
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
    let slots = Arc::new(Semaphore::new(config.max_connections));

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

        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let (store, token) = (store.clone(), shutdown.clone());
                tokio::spawn(async move {
                    handle_connection(socket, store, config, token).await;
                    // The slot frees up only once the connection is closed.
                    drop(permit);
                });
            }
            // Even the refusal is a task of its own: the accept loop never awaits a client.
            Err(_full) => {
                tokio::spawn(refuse(socket));
            }
        }
    }

    // Stop accepting: from here on, connection attempts are refused by the operating system.
    drop(listener);

    // The handlers have seen the token: idle ones close at once, busy ones finish their request.
    // Wait for them up to the grace period — one deadline for all, not one per connection.
    // The connections have the token: they will wind down on their own.
}

// Tells a client the server is full, then closes the connection.
async fn refuse(mut socket: TcpStream) {
    let line = format!("{}\n", Reply::Error("busy".to_owned()));
    // A new socket's send buffer is empty, so this completes at once; if the client is already
    // gone there is nothing to do about it.
    let _ = socket.write_all(line.as_bytes()).await;
}
