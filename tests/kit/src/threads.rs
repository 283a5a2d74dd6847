//! Real threads, for contracts that promise thread safety.
//!
//! The paused-clock runner drives every task on one thread, where a race between two `INCR`s
//! cannot happen: a lost update hides. [`on_threads`] runs a body on a *multi-thread* runtime
//! (tokio's clock cannot be paused there, so this one is real), with a wall-clock limit, and
//! reports its verdict through the grader's channel exactly as [`run`](crate::run) does. A test
//! that uses it asserts only what every interleaving must produce (a final count, a set), never
//! an instant.

use crate::runner::{Failure, panic_message, record_and_conclude};
use crate::{fmt_duration, verdict};
use std::future::Future;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `body` on a fresh multi-thread runtime with `workers` worker threads and the real clock.
/// Fails (with the grader's verdict recorded) when the body panics, and when it has not finished
/// after `wall_limit` of real time — a deadlock, or a task that never ends. A `todo!()` reached
/// is reported as "not implemented yet", like everywhere else in the kit.
#[track_caller]
pub fn on_threads<F, Fut>(workers: usize, wall_limit: Duration, body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    verdict::arm();
    let result = run_on_threads(workers, wall_limit, Box::new(move || Box::pin(body())));
    record_and_conclude(result);
}

type ThreadsBody = Box<dyn FnOnce() -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Send>;

// Compiled once in the kit, not once per test (see `runner::Body`).
fn run_on_threads(workers: usize, wall_limit: Duration, body: ThreadsBody) -> Result<(), Failure> {
    let (tx, rx) = mpsc::channel();
    let name = std::thread::current().name().unwrap_or("test").to_owned();
    let driver = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers.max(2))
                .enable_all()
                .build()
                .expect("testkit: could not build the multi-thread runtime");
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(body())));
            // Tasks a deadlocked or leaky body left behind must not keep the test waiting.
            runtime.shutdown_background();
            let _ = tx.send(outcome);
        })
        .expect("testkit: could not start the runtime thread");
    let started = Instant::now();
    match rx.recv_timeout(wall_limit) {
        Ok(Ok(())) => {
            let _ = driver.join();
            Ok(())
        }
        Ok(Err(payload)) => {
            let _ = driver.join();
            let message = panic_message(payload.as_ref());
            Err(match todo_text(&message) {
                Some(what) => Failure::NotImplemented(what),
                None => Failure::Panicked(payload),
            })
        }
        // The driver thread cannot be killed; it ends with the test process.
        Err(_) => Err(Failure::Panicked(Box::new(format!(
            "did not finish within {} of real time on a multi-thread runtime ({} workers): a \
             deadlock (a lock held while waiting for another task, a channel nobody answers) or \
             a task that never ends",
            fmt_duration(started.elapsed()),
            workers.max(2)
        )))),
    }
}

/// The text of a `todo!("x")` ("x"), even when the panic arrived wrapped in a `JoinError`.
fn todo_text(message: &str) -> Option<String> {
    const MARK: &str = "not yet implemented";
    let rest = &message[message.find(MARK)? + MARK.len()..];
    let what = rest.strip_prefix(": ").unwrap_or("");
    let what = what[..what.find(['"', '\n']).unwrap_or(what.len())].trim();
    Some(if what.is_empty() { "a todo!()" } else { what }.to_owned())
}
