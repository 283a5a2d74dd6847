//! # Exercise 11 — distributed task processing
//!
//! A coordinator hands tasks to workers on other hosts, under leases kept alive by heartbeats.
//! Write, in this order (the chapter, `cargo wb hint 11`, has the why and the how):
//!
//! * [`TaskQueue`] (`queue.rs`): the bookkeeping — idempotency keys, leases, expiry, retries with
//!   backoff, dead letters, backpressure — as synchronous code with the time passed in;
//! * [`serve`] (`coordinator.rs`): the queue behind the line protocol of [`protocol`] (given);
//! * [`run_worker`] (`worker.rs`): takes tasks, runs them, sends heartbeats, reconnects;
//! * [`submit`] (`client.rs`): submits under a key and waits for the one outcome, resubmitting
//!   across failures.
//!
//! The network is two traits ([`Listener`], [`Connector`], given): real TCP in `src/main.rs`,
//! turmoil's simulated network in the tests.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

mod client;
mod coordinator;
mod net;
pub mod protocol;
mod queue;
mod worker;

pub use client::{Busy, submit};
pub use coordinator::serve;
pub use net::{Connector, Listener, TcpConnector};
pub use queue::{Completion, Config, DeadLetter, Lease, Outcome, Submitted, TaskQueue};
pub use worker::{WorkerConfig, run_worker};
