//! # Exercise 01 — async file processing
//!
//! [`sync_version`] is a working program that summarises a tree of log files: per-file lines,
//! words, bytes and error lines, the most frequent words, and a text report. It is synchronous: it
//! reads one file at a time with `std::fs`, so in an async program every one of its calls would
//! stall the executor thread while the disk works. Your job is to convert it to async I/O, and to
//! make it better on the way. Work in this order:
//!
//! 1. Read `sync_version.rs` (the program before) and `summary.rs` (what it computes: provided,
//!    and shared by both versions — converting to async changes the I/O, not the counting).
//! 2. `fs.rs`: every disk access of the async program goes through the [`Fs`] trait, so that the
//!    tests can hand it an in-memory file system whose reads take virtual time. Implement it for
//!    the real disk: [`TokioFs`], with `tokio::fs`.
//! 3. `summarise.rs`: [`summarise`] — walk the tree, stream every file line by line with a
//!    bounded line length, at most `max_open` files at once, errors per file, sorted results.
//! 4. `report.rs`: [`write_report`] — atomically: a temporary file, flushed, renamed — and
//!    [`run`], the whole program.
//!
//! Run the tests with `cargo test -p ex01_async_files`. Most of them run on tokio's paused clock
//! against virtual files, and check *exact* instants ("8 files of 100 ms, 4 at a time, take
//! 200 ms") and counts (the most files open at once, the bytes read of a huge file). The chapter
//! is `curriculum/src/ex01-async-files.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

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
