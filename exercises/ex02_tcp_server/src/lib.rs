//! # Exercise 02 — a concurrent TCP server
//!
//! A small in-memory key-value server speaking a line protocol — `SET k v`, `GET k`, `DEL k`,
//! `INCR k`, `QUIT` — that serves many clients at once, survives hostile ones, and shuts down
//! gracefully. Work through the modules in this order:
//!
//! 1. [`Command::parse`] and [`Reply`]'s `Display` (`protocol.rs`): one line in, one line out.
//! 2. [`Store`] (`store.rs`): the state every connection shares — a `Mutex` held only for a few
//!    map operations, or an actor task; your choice.
//! 3. [`handle_connection`] (`connection.rs`): one client, over any byte stream: `Framed` with
//!    the line codec in `codec.rs` (finish its `decode_eof`), a maximum line length, an idle
//!    timeout, and shutdown.
//! 4. [`serve`] (`server.rs`): the accept loop — a task per connection, a connection limit, and
//!    a graceful shutdown that leaves no task behind.
//!
//! Run the tests with `cargo test -p ex02_tcp_server`. They run on tokio's paused clock, so they
//! check *exact* instants: "closed at t=13s, 10s after the last line". Use `tokio::time` (never
//! `std::thread::sleep` or `std::time::Instant`) and the tests finish in milliseconds.
//! `cargo run -p ex02_tcp_server --bin ex02-server` starts the server for real; talk to it with
//! `nc 127.0.0.1 6380`. The chapter is `curriculum/src/ex02-tcp-server.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

mod codec;
mod connection;
mod protocol;
mod server;
mod store;

pub use connection::handle_connection;
pub use protocol::{Command, Reply};
pub use server::{Config, serve};
pub use store::Store;
