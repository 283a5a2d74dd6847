//! # Exercise 04 — a data pipeline with backpressure (reference solution)
//!
//! Records flow from a source through three stages, each a task, joined by bounded channels:
//!
//! ```text
//! source ──▶ parse ──▶ [channel] ──▶ enrich (K at once) ──▶ [channel] ──▶ batch + sink
//!              └──▶ dead letters
//! ```
//!
//! * [`parse`] (`record.rs`) turns a raw [`Record`] into an [`Item`], or a [`DeadLetter`] with its
//!   [`Reason`];
//! * the stages (`stages.rs`) are plain loops over streams: `buffered` keeps K enrich calls in
//!   flight *in order*, `chunks_timeout` closes a batch when it is full or its window has passed;
//! * [`run_pipeline`] (`pipeline.rs`) wires them with bounded channels — the source of all
//!   backpressure — and on cancellation aborts every stage at once;
//! * the ledger (`ledger.rs`) is how a cancellation loses nothing: a record is in the books from
//!   the moment it is read until it is delivered or dead-lettered, so whatever is left in them is
//!   exactly what was not delivered.

mod ledger;
mod pipeline;
mod record;
mod stages;

pub use pipeline::{Config, Stats, run_pipeline};
pub use record::{DeadLetter, Enriched, Item, Reason, Record, parse};
