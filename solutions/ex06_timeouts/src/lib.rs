//! # Exercise 06 — timeouts and cancellation (reference solution)
//!
//! In async Rust an operation is cancelled by *dropping its future*: no flag is checked, no
//! exception is thrown — the future simply is never polled again, and its destructors run. Every
//! tool in this crate is built from that one fact:
//!
//! * [`with_timeout`] / [`with_deadline`] race a future against a timer and drop the loser;
//! * [`retry`] gives each attempt its own timeout, backs off exponentially, and stops at a deadline;
//! * [`first_ok`] races several futures and drops the losers the moment one succeeds;
//! * [`hedged`] starts a backup request only if the primary is slow;
//! * [`run_worker`] takes jobs from a channel in a `select!` loop without ever losing one;
//! * [`Supervisor`] shuts a group of tasks down: ask nicely, wait a grace period, then abort.

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
