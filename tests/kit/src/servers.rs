//! For the suites that test a server (ex02, ex10): code under test spawned so that its panic
//! reaches the test body, loopback sockets that never wait for an ACK in real time, and `serve`'s
//! return after a shutdown request.
//!
//! Real sockets stay deterministic on the paused clock only when every party is a task of the
//! test's runtime and no write waits for the peer's delayed ACK (Nagle's algorithm): tens of
//! milliseconds of *real* time, during which the paused clock jumps ahead. So the listener is
//! made with `TCP_NODELAY` (Linux passes it on to every connection it accepts) and so is every
//! client.

use crate::{Probe, fmt_duration, now};
use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

thread_local! {
    // The first panic of a task running the code under test. Every task of a test runs on the
    // test's one runtime thread, so a thread-local is shared by all of them.
    static TASK_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Spawns code under test. If it panics (a `todo!()`, an `unwrap`), the panic is kept and
/// re-raised in the test body by [`reraise`], and the task's output is `None`.
pub fn spawn_watched<T, F>(fut: F) -> JoinHandle<Option<T>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    crate::spawn(async move {
        match (CatchUnwind(Box::pin(fut))).await {
            Ok(value) => Some(value),
            Err(message) => {
                TASK_PANIC.with(|p| {
                    p.borrow_mut().get_or_insert(message);
                });
                None
            }
        }
    })
}

/// Fails the test with the panic of the code under test, if there was one.
#[track_caller]
pub fn reraise() {
    if let Some(message) = TASK_PANIC.with(|p| p.borrow_mut().take()) {
        panic!("the server panicked in a task: {message}");
    }
}

/// A future's output, or the message of its panic.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "a panic without a message".to_owned()
            })),
        }
    }
}

/// A listener on `127.0.0.1:0` with `TCP_NODELAY`, and its address.
pub fn listener() -> (TcpListener, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_nodelay(true).expect("TCP_NODELAY");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("the test could not bind 127.0.0.1:0");
    let listener = socket.listen(64).expect("listen");
    let addr = listener.local_addr().expect("the listener's address");
    (listener, addr)
}

/// Client `name`'s connection to `addr`, with `TCP_NODELAY`: every write leaves at once.
pub async fn connect(name: &str, addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{name} could not connect to the server: {e}"));
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream
}

/// Waits (up to a minute past the grace period) for `serve`'s task, whose shutdown was just
/// requested, and returns the instant it returned (`probe` wraps `serve`).
pub async fn serve_returns<T>(task: JoinHandle<T>, probe: &Probe, grace: Duration) -> Duration {
    let asked = now();
    let limit = grace + Duration::from_secs(60);
    let returned = tokio::time::timeout(limit, task).await;
    reraise();
    assert!(
        returned.is_ok(),
        "serve had not returned at t={}, {} after shutdown was requested at t={} (grace \
         period: {}): when the grace period ends, every connection still open must be \
         closed and serve must return",
        fmt_duration(now()),
        fmt_duration(limit),
        fmt_duration(asked),
        fmt_duration(grace)
    );
    probe
        .completed_at()
        .expect("serve's task ended, so serve returned")
}
