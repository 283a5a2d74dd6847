//! # Exercise 01 — async file processing (reference solution)
//!
//! A synchronous program that summarises a tree of log files ([`sync_version`]), converted to
//! async I/O:
//!
//! * every disk access goes through the [`Fs`] trait: [`TokioFs`] (`tokio::fs`, which runs the
//!   blocking calls on tokio's blocking pool) in production, an in-memory file system with virtual
//!   latencies in the tests;
//! * [`summarise`] walks the tree and streams each file line by line with a bounded line length,
//!   several files at once but never more than `max_open` (`buffer_unordered`), reports each
//!   file's failure without stopping the others, and sorts what finished in any order;
//! * [`write_report`] writes to a temporary file next to the report, flushes it and renames it over
//!   the old one, so the report is always whole.

mod fs;
mod report;
mod summarise;
mod summary;
pub mod sync_version;

pub use fs::{Entry, Fs, TokioFs};
pub use report::{run, write_report};
pub use summarise::summarise;
pub use summary::{
    FileError, FileStats, Options, Problem, Summary, Tally, merge_counts, top_words,
};
