//! # Exercise 00 — warm-up: `.await`, `join!`, `spawn`, and futures written by hand (reference)
//!
//! The demo program this exercise comes from fetched some data three ways: one `.await` after
//! another, with `tokio::join!`, and with `tokio::spawn`. Three 1 s fetches take 3 s the first
//! way and 1 s the other two. This crate turns that demo into code a test can time, then opens
//! the box: what a future *is* (a state machine with a `poll` method and a waker), and why it has
//! to be pinned before it can be polled.
//!
//! * [`fetch_sequentially`], [`fetch_with_join`], [`fetch_with_spawn`], [`fetch_all`]: the same
//!   fetches, one after another, together in one task, as tasks of their own;
//! * [`Countdown`]: a future that is `Pending` `n` times, waking itself each time;
//! * [`Delay`]: a timer future of our own, built on `tokio::time::Sleep`;
//! * [`join_both`] and [`with_progress`]: pinning a future so it can be polled again and again.

mod countdown;
mod delay;
mod fetch;
mod pinning;

pub use countdown::Countdown;
pub use delay::Delay;
pub use fetch::{fetch_all, fetch_sequentially, fetch_with_join, fetch_with_spawn};
pub use pinning::{join_both, with_progress};
