//! The accept loop: a task per connection, a limit on connections (and who gives up a slot when
//! the server is full), a graceful shutdown.

use crate::connection::handle_connection;
use crate::protocol::Reply;
use crate::store::Store;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};
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
    // A permit per connection. `try_acquire` never waits: a full server decides at once whether
    // to make room or to refuse, instead of letting clients queue up silently.
    let slots = Arc::new(Semaphore::new(config.max_connections));
    // The set owns every task we start, so none can outlive `serve`.
    let mut connections = JoinSet::new();
    // What the accept loop knows about each connection, to choose one to close when full.
    let mut open: Vec<Open> = Vec::new();

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
                    // The pause watches shutdown too: a stop request is never kept waiting.
                    eprintln!("ex02-server: accept failed: {e}");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    }
                }
            },
        };
        // Collect the tasks that have ended, so the set does not grow with every connection.
        while connections.try_join_next().is_some() {}
        // Forget the connections that have closed (their activity record went with them).
        open.retain(|o| o.activity.strong_count() > 0);

        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => Slot::Free(permit),
            Err(_full) => match make_room(&mut open, config.line_timeout) {
                Some(()) => Slot::Freeing(slots.clone()),
                None => {
                    // Even the refusal is a task of its own: the accept loop never awaits a
                    // client.
                    connections.spawn(refuse(socket));
                    continue;
                }
            },
        };
        let (socket, activity) = Watched::new(socket);
        // A token of its own, so that this connection can be closed alone; cancelling the
        // server's token cancels it too.
        let token = shutdown.child_token();
        open.push(Open {
            activity: Arc::downgrade(&activity),
            token: token.clone(),
        });
        let store = store.clone();
        connections.spawn(async move {
            // The connection we asked to close is waiting between requests: it closes at once
            // and its permit comes back.
            let permit = permit.take().await;
            handle_connection(socket, store, config, token).await;
            // The slot frees up only once the connection is closed.
            drop(permit);
        });
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

// A connection as the accept loop sees it.
struct Open {
    /// Dies with the connection (the stream owns the only strong reference).
    activity: Weak<Mutex<Activity>>,
    /// Cancelled: the connection closes as if the server were shutting down.
    token: CancellationToken,
}

// A new connection's slot: free now, or being freed by a connection we asked to close.
enum Slot {
    Free(OwnedSemaphorePermit),
    Freeing(Arc<Semaphore>),
}

impl Slot {
    async fn take(self) -> Option<OwnedSemaphorePermit> {
        match self {
            Slot::Free(permit) => Some(permit),
            // Fails only if the semaphore were closed, which this server never does.
            Slot::Freeing(slots) => slots.acquire_owned().await.ok(),
        }
    }
}

// The server is full: asks the connection that has waited longest between requests (at least
// `patience`) to close. `None` if there is none.
fn make_room(open: &mut [Open], patience: Duration) -> Option<()> {
    let now = Instant::now();
    let longest = open
        .iter()
        .filter(|o| !o.token.is_cancelled())
        .filter_map(|o| {
            let activity = o.activity.upgrade()?;
            let waiting_since = lock(&activity).waiting_since?;
            Some((waiting_since, o))
        })
        .filter(|(since, _)| now.duration_since(*since) >= patience)
        .min_by_key(|(since, _)| *since);
    let (_, chosen) = longest?;
    chosen.token.cancel();
    Some(())
}

// Tells a client the server is full, then closes the connection.
async fn refuse(mut socket: TcpStream) {
    let line = format!("{}\n", Reply::Error("busy".to_owned()));
    // A new socket's send buffer is empty, so this completes at once; if the client is already
    // gone there is nothing to do about it.
    let _ = socket.write_all(line.as_bytes()).await;
}

// What the accept loop needs to know about a connection to choose one to close when full.
struct Activity {
    /// Since when the connection has been waiting between requests: its last complete line
    /// arrived then (or it was accepted then); `None` while part of a line is in.
    waiting_since: Option<Instant>,
}

fn lock(activity: &Mutex<Activity>) -> MutexGuard<'_, Activity> {
    // Every update is a single assignment: a poisoned lock still holds a consistent value.
    activity.lock().unwrap_or_else(|e| e.into_inner())
}

// A stream that notes, from the bytes its reader takes, whether a line has begun. The handler
// reads through it without knowing: `handle_connection` keeps its signature, and the accept
// loop learns what it needs.
struct Watched<S> {
    inner: S,
    activity: Arc<Mutex<Activity>>,
}

impl<S> Watched<S> {
    fn new(inner: S) -> (Self, Arc<Mutex<Activity>>) {
        let activity = Arc::new(Mutex::new(Activity {
            waiting_since: Some(Instant::now()),
        }));
        let watched = Watched {
            inner,
            activity: activity.clone(),
        };
        (watched, activity)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let new = &buf.filled()[before..];
        if let Some(&last) = new.last() {
            // Bytes ending in `\n`: every line is complete, the client waits for replies.
            // Anything else: a line has begun.
            lock(&self.activity).waiting_since = (last == b'\n').then(Instant::now);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
