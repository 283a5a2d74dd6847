//! Simulations that drive runtimes of their own, reported like every other test.
//!
//! A network simulator such as turmoil runs each simulated host on a current-thread runtime it
//! builds itself and steps them all from one thread (`Sim::run`). That cannot happen inside the
//! paused-clock runner's runtime (tokio refuses to start a runtime from within one), so [`run`]
//! gives the simulation a plain thread of its own, a wall-clock limit, and the grader's verdict
//! channel. Time inside is the simulator's, so the virtual-time limit, the blocking detector and
//! the leak check of [`crate::run`] do not apply: a simulation has its own duration limit.

use crate::runner::{Failure, not_implemented, panic_message, record_and_conclude};
use crate::{fmt_duration, verdict};
use std::cell::RefCell;
use std::sync::mpsc;
use std::time::{Duration, Instant};

thread_local! {
    /// The first `todo!()` reached on a simulation's thread. A simulated host's runtime may turn a
    /// task's panic into "the runtime shut down" (turmoil does, under `tokio_unstable`), which no
    /// longer says what was missing; the panic hook sees the original message.
    static TODO_SEEN: RefCell<Option<String>> = const { RefCell::new(None) };
    static IN_SIMULATION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `body` — which builds and runs a simulation — on a thread of its own. Fails (with the
/// grader's verdict recorded) when the body panics, and when it has not finished after
/// `wall_limit` of real time. A `todo!()` reached anywhere in the simulation (any host, any
/// task) is reported as "not implemented yet", like everywhere else in the kit.
#[track_caller]
pub fn run<F>(wall_limit: Duration, body: F)
where
    F: FnOnce() + Send + 'static,
{
    verdict::arm();
    record_and_conclude(run_on_thread(wall_limit, Box::new(body)));
}

// Compiled once in the kit, not once per test (see `runner::Body`).
fn run_on_thread(wall_limit: Duration, body: Box<dyn FnOnce() + Send>) -> Result<(), Failure> {
    install_todo_hook();
    let (tx, rx) = mpsc::channel();
    let name = std::thread::current().name().unwrap_or("test").to_owned();
    let driver = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            IN_SIMULATION.with(|s| s.set(true));
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let todo = TODO_SEEN.with(|t| t.borrow_mut().take());
            let _ = tx.send((outcome, todo));
        })
        .expect("testkit: could not start the simulation thread");
    let started = Instant::now();
    match rx.recv_timeout(wall_limit) {
        Ok((outcome, todo)) => {
            let _ = driver.join();
            if let Some(what) = todo {
                return Err(Failure::NotImplemented(what));
            }
            outcome.map_err(
                |payload| match not_implemented(&panic_message(payload.as_ref())) {
                    Some(what) => Failure::NotImplemented(what),
                    None => Failure::Panicked(payload),
                },
            )
        }
        Err(_) => Err(Failure::Panicked(Box::new(format!(
            "the simulation did not finish within {} of real time: a loop that never awaits \
             (every simulated host runs on one thread, so one such loop stops them all) or an \
             endless loop of very short waits",
            fmt_duration(started.elapsed())
        )))),
    }
}

/// Records the first `todo!()` panic of a simulation thread, then lets the previous hook print.
fn install_todo_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_SIMULATION.try_with(|s| s.get()).unwrap_or(false) {
                let message = match info.payload().downcast_ref::<&str>() {
                    Some(s) => (*s).to_owned(),
                    None => info
                        .payload()
                        .downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_default(),
                };
                if let Some(what) = not_implemented(&message) {
                    let _ = TODO_SEEN.try_with(|t| {
                        t.borrow_mut().get_or_insert(what);
                    });
                }
            }
            previous(info);
        }));
    });
}
