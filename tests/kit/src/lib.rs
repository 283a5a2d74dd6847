//! # testkit — grading async code on tokio's paused clock
//!
//! Every hidden test in this workbook is a plain `#[test]` that hands its body to [`run`] (or to a
//! configured [`Test`]). The body runs on a fresh current-thread runtime whose clock starts paused,
//! so `tokio::time::sleep(Duration::from_secs(60))` completes at once while `Instant::now()` moves
//! exactly 60 s. That lets a test assert *exact* virtual instants ("attempt 3 started at t = 700 ms")
//! and still finish in microseconds.
//!
//! Around the body the runner checks what a result alone cannot show:
//!
//! * **waited forever** — a virtual-time limit: a test that waits on something that never happens
//!   fails at once (in virtual time) instead of hanging;
//! * **blocked the executor** — the longest stretch of wall time the runtime spent running code
//!   without ever going idle (less the time the OS kept the thread waiting for a CPU, where Linux
//!   reports it: a loaded machine does not make a correct solution "blocked"). Virtual time cannot move during such a stretch, so a
//!   `std::thread::sleep` or a busy loop anywhere (in the body *or* in a task the learner spawned)
//!   shows up as "blocked the executor for 300 ms";
//! * **never yielded** — a wall-clock watchdog for code that spins forever without an `.await`;
//! * **leaked tasks** — tasks still alive after the body returned;
//! * **not implemented yet** — a `todo!()` reached in the exercise is reported as such, not as a
//!   raw panic.
//!
//! The other modules are the instruments a test uses inside the body: a [`Timeline`] of
//! (virtual instant, event) pairs, [`Probe`]s that tell when a future started, finished or was
//! dropped, and a [`Gauge`] that records the peak of "how many at once".

mod clock;
mod culprit;
#[cfg(feature = "differential")]
pub mod differential;
mod gauge;
mod honest;
mod probe;
mod runner;
pub mod servers;
pub mod sim;
pub mod threads;
mod timeline;
pub mod verdict;

pub use clock::{ms, now, secs};
pub use culprit::Culprit;
pub use gauge::{Gauge, GaugeGuard};
pub use probe::{Probe, Probed};
pub use runner::{Failure, Report, Test, run};
pub use timeline::{Timeline, at};

/// `tokio::spawn`, for the suites' own helper tasks (mock servers, clients, writers): the same
/// task, with the future boxed first.
///
/// Each spawned future is a type of its own, and tokio compiles its whole task machinery (for
/// both schedulers) once per type. A suite spawns dozens of different futures, so boxing them at
/// the door — one task type per output type — makes every hidden suite quicker to build, on every
/// save and for every submission graded. Learners' code spawns with `tokio::spawn` as usual.
#[track_caller]
pub fn spawn<T, F>(future: F) -> tokio::task::JoinHandle<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let boxed: std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>> = Box::pin(future);
    tokio::spawn(boxed)
}

/// Formats a virtual duration the way every message in the workbook does: `1.5s`, `250ms`, `0ms`.
pub fn fmt_duration(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if !d.as_nanos().is_multiple_of(1_000_000) {
        format!("{ms:.3}ms")
    } else if d.as_millis() >= 10_000 && d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_are_formatted_for_humans() {
        assert_eq!(fmt_duration(Duration::ZERO), "0ms");
        assert_eq!(fmt_duration(ms(250)), "250ms");
        assert_eq!(fmt_duration(ms(1500)), "1500ms");
        assert_eq!(fmt_duration(secs(60)), "60s");
        assert_eq!(fmt_duration(Duration::from_micros(1500)), "1.500ms");
    }
}
