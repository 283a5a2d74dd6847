//! # Exercise 04 — a data pipeline with backpressure
//!
//! Records flow from a source through three stages, each a task, joined by bounded channels:
//!
//! ```text
//! source ──▶ parse ──▶ [channel] ──▶ enrich (K at once) ──▶ [channel] ──▶ batch + sink
//!              └──▶ dead letters
//! ```
//!
//! When the sink slows down, the pipeline must slow down with it — all the way back to the
//! source — instead of piling records up in memory. When it is cancelled, it must stop at once
//! and still account for every record it read. Work in this order:
//!
//! 1. [`parse`] (`record.rs`): raw text to an [`Item`], or a [`Reason`] to reject it.
//! 2. [`Config::max_held`] (`pipeline.rs`): how many records the pipeline may hold at most.
//! 3. The ledger (`ledger.rs`): the books that make cancellation lossless.
//! 4. The three stages (`stages.rs`): plain loops over streams.
//! 5. [`run_pipeline`] (`pipeline.rs`): channels, tasks, the end of the source, cancellation.
//!
//! The doc comment of [`run_pipeline`] is the contract, with the exact numbers the tests check.
//! Run the tests with `cargo test -p ex04_backpressure_pipeline`. They run on tokio's paused
//! clock and check *exact* instants ("batch [4, 5] written at t=150ms"). Use `tokio::time`
//! (never `std::thread::sleep` or `std::time::Instant`) and the tests finish in milliseconds.
//! The chapter is `curriculum/src/ex04-backpressure-pipeline.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

mod ledger;
mod pipeline;
mod record;
mod stages;

pub use pipeline::{Config, Stats, run_pipeline};
pub use record::{DeadLetter, Enriched, Item, Reason, Record, parse};
