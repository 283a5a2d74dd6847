//! # Exercise 06 — timeouts and cancellation
//!
//! In async Rust an operation is cancelled by *dropping its future*: no flag is checked, no
//! exception is thrown — the future is simply never polled again, and its destructors run. Every
//! tool in this crate is built from that one fact. Work through the modules in this order:
//!
//! 1. [`with_timeout`] / [`with_deadline`] (`timeout.rs`): race a future against a timer.
//! 2. [`retry`] (`retry.rs`): per-attempt timeouts, exponential backoff with a cap, a deadline.
//! 3. [`first_ok`] (`race.rs`): race several futures, drop the losers the moment one succeeds.
//! 4. [`hedged`] (`hedge.rs`): start a backup request only if the primary is slow.
//! 5. [`run_worker`] (`worker.rs`): a `select!` loop over a channel that never loses a job.
//! 6. [`Supervisor`] (`shutdown.rs`): ask every task to stop, wait a grace period, abort the rest.
//!
//! Run the tests with `cargo test -p ex06_timeouts`. They run on tokio's paused clock, so they
//! check *exact* instants: "attempt 3 started at t=300ms". Use `tokio::time` (never
//! `std::thread::sleep` or `std::time::Instant`) and the tests finish in milliseconds.
//! The chapter is `curriculum/src/ex06-timeouts.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

mod hedge;
mod race;
mod retry;
mod shutdown;
mod timeout;
mod worker;

pub use hedge::{Attempt, hedged};
pub use race::first_ok;
pub use retry::{AttemptError, RetryError, RetryPolicy, retry};
pub use shutdown::{ShutdownReport, Supervisor};
pub use timeout::{TimedOut, with_deadline, with_timeout};
pub use worker::{Job, WorkerReport, run_worker};
