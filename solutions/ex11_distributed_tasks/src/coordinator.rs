//! The coordinator: the queue behind a network protocol, shared by every connection.

use crate::net::Listener;
use crate::protocol::{Connection, Message};
use crate::queue::{Completion, Config, Lease, Outcome, Submitted, TaskQueue};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

// What every connection task shares: the queue, and a signal that it changed.
struct Shared {
    queue: Mutex<TaskQueue>,
    // Bumped after every change, so that waiters (for a lease, for an outcome) look again.
    changed: watch::Sender<()>,
}

impl Shared {
    // The queue, locked. Never held across an `.await`.
    fn queue(&self) -> MutexGuard<'_, TaskQueue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs a coordinator with these rules on connections from `listener`, until accepting fails
/// (that error is returned).
///
/// Each connection speaks the protocol of [`crate::protocol`]. A submitter sends `SUBMIT`; the
/// coordinator answers `BUSY` when the queue refuses it, otherwise `ACCEPTED` (a duplicate key
/// too) and, once the task has an outcome, `DONE` or `DEAD` — a submission of a key that already
/// has one gets it at once. A worker sends `READY` and gets `TASK` once a task can be leased
/// (the coordinator stops waiting if the worker hangs up first); it sends `BEAT` for its lease
/// while it runs the task, then `OK` or `ERR`; none of these are answered. Leases run out on
/// their own, at the instant they expire, whether or not any connection is active.
pub async fn serve<L: Listener>(mut listener: L, config: Config) -> io::Result<()> {
    let shared = Arc::new(Shared {
        queue: Mutex::new(TaskQueue::new(config)),
        changed: watch::Sender::new(()),
    });
    let timer = tokio::spawn(expire_on_time(shared.clone()));
    let result = loop {
        match listener.accept().await {
            Ok(stream) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    // One connection's failure (a reset, a bad line) ends that connection only.
                    let _ = serve_connection(stream, &shared).await;
                });
            }
            Err(e) => break Err(e),
        }
    };
    timer.abort();
    result
}

// Ends leases at the instant they run out, and wakes waiters when a backing-off task is ready.
async fn expire_on_time(shared: Arc<Shared>) {
    let mut changed = shared.changed.subscribe();
    loop {
        let next = shared.queue().next_wakeup(Instant::now());
        match next {
            Some(at) => tokio::select! {
                _ = sleep_until(at) => {
                    shared.queue().expire(Instant::now());
                    shared.changed.send_replace(());
                }
                _ = changed.changed() => {}
            },
            None => {
                let _ = changed.changed().await;
            }
        }
    }
}

async fn serve_connection<S>(stream: S, shared: &Shared) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut conn = Connection::new(stream);
    while let Some(message) = conn.receive().await? {
        match message {
            Message::Submit { key, payload } => {
                let submitted = shared.queue().submit(&key, &payload, Instant::now());
                if submitted == Submitted::Busy {
                    conn.send(&Message::Busy { key }).await?;
                    continue;
                }
                shared.changed.send_replace(());
                conn.send(&Message::Accepted { key: key.clone() }).await?;
                let Some(outcome) = until_hang_up(&mut conn, wait_outcome(shared, &key)).await?
                else {
                    return Ok(());
                };
                let reply = match outcome {
                    Outcome::Done(output) => Message::Done { key, output },
                    Outcome::Dead(error) => Message::Dead { key, error },
                };
                conn.send(&reply).await?;
            }
            Message::Ready => {
                let Some(lease) = until_hang_up(&mut conn, wait_lease(shared)).await? else {
                    return Ok(());
                };
                let task = Message::Task {
                    lease: lease.id,
                    attempt: lease.attempt,
                    key: lease.key,
                    payload: lease.payload,
                };
                conn.send(&task).await?;
            }
            Message::Beat { lease } => {
                shared.queue().heartbeat(lease, Instant::now());
                shared.changed.send_replace(());
            }
            Message::Ok { lease, output } => report(shared, lease, Ok(output)),
            Message::Err { lease, error } => report(shared, lease, Err(error)),
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unexpected message: {other}"),
                ));
            }
        }
    }
    Ok(())
}

fn report(shared: &Shared, lease: u64, output: Result<String, String>) {
    let completion = shared.queue().complete(lease, output, Instant::now());
    if completion != Completion::Stale {
        shared.changed.send_replace(());
    }
}

// Waits for `wait`, unless the peer hangs up (`None`) or sends anything first (an error: the
// protocol gives it nothing to say while it waits).
async fn until_hang_up<S, T>(
    conn: &mut Connection<S>,
    wait: impl Future<Output = T>,
) -> io::Result<Option<T>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::select! {
        value = wait => Ok(Some(value)),
        message = conn.receive() => match message? {
            None => Ok(None),
            Some(other) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected message while waiting: {other}"),
            )),
        },
    }
}

async fn wait_outcome(shared: &Shared, key: &str) -> Outcome {
    let mut changed = shared.changed.subscribe();
    loop {
        changed.borrow_and_update();
        if let Some(outcome) = shared.queue().outcome(key) {
            return outcome.clone();
        }
        // The sender lives as long as `shared`: this never fails while we hold it.
        let _ = changed.changed().await;
    }
}

async fn wait_lease(shared: &Shared) -> Lease {
    let mut changed = shared.changed.subscribe();
    loop {
        changed.borrow_and_update();
        let lease = shared.queue().lease(Instant::now());
        if let Some(lease) = lease {
            shared.changed.send_replace(());
            return lease;
        }
        let _ = changed.changed().await;
    }
}
