//! # Exercise 00 — warm-up: `.await`, `join!`, `spawn`, and futures written by hand
//!
//! The demo program this exercise comes from fetched some data three ways: one `.await` after
//! another, with `tokio::join!`, and with `tokio::spawn`. Three 1 s fetches take 3 s the first
//! way and 1 s the other two. Here you write those three ways yourself, then open the box: what
//! a future *is* (a state machine with a `poll` method and a waker), and why it has to be pinned
//! before it can be polled. Work through the modules in this order:
//!
//! 1. [`fetch_sequentially`], [`fetch_with_join`], [`fetch_with_spawn`], [`fetch_all`]
//!    (`fetch.rs`): the same fetches one after another, together in one task, as tasks of their
//!    own.
//! 2. [`Countdown`] (`countdown.rs`): your first hand-written future — `Pending` `n` times, then
//!    ready.
//! 3. [`Delay`] (`delay.rs`): a timer future of your own, built on `tokio::time::Sleep`.
//! 4. [`join_both`] and [`with_progress`] (`pinning.rs`): pinning a future so you can poll it
//!    yourself, again and again.
//!
//! Run the tests with `cargo test -p ex00_warmup`. They run on tokio's paused clock, so they
//! check *exact* instants ("three 1 s fetches took 3000ms: the fetches ran one after another")
//! and finish in milliseconds. Use `tokio::time` (never `std::thread::sleep` or
//! `std::time::Instant`). The chapter is `curriculum/src/ex00-warmup.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

mod countdown;
mod delay;
mod fetch;
mod pinning;

pub use countdown::Countdown;
pub use delay::Delay;
pub use fetch::{fetch_all, fetch_sequentially, fetch_with_join, fetch_with_spawn};
pub use pinning::{join_both, with_progress};
