//! # Exercise 05 — a chat server on tokio channels
//!
//! Clients connect (with `nc`, say), choose a nickname and talk: every line goes to everyone else
//! in the room, `/msg` goes to one person, `/nick`, `/list` and `/quit` do what they say. Each
//! connection is its own task, and the tasks never share a socket or wait for one another: they
//! talk through channels, one kind per job.
//!
//! ```text
//!                       broadcast (room messages; each receiver may lag, never blocks the sender)
//!   client task ──────▶ ════════════════════════════════▶ every other client task ──▶ its socket
//!        │
//!        └─ /msg ─────▶ mpsc (the recipient's own bounded queue) ──▶ that client's task
//!
//!   Room::shutdown ───▶ watch or CancellationToken ──▶ every task and serve
//! ```
//!
//! Work through the files in this order:
//!
//! 1. `room.rs` — [`Room`]: who is online, the room's `broadcast` channel, one bounded `mpsc`
//!    queue per client for private messages, and the shutdown signal. Add the fields and the
//!    (crate-private) methods your handler will need.
//! 2. `client.rs` — [`handle_client`]: one connection, generic over the transport. One `select!`
//!    loop over the client's input, the two channels and shutdown. Its doc comment is the
//!    protocol, line by line.
//! 3. `server.rs` — [`serve`]: the accept loop, a task per connection, and a shutdown that waits
//!    for every one of them.
//!
//! Run the tests with `cargo test -p ex05_chat_server`, and the server itself with
//! `cargo run -p ex05_chat_server`, then `nc 127.0.0.1 7878` from a few terminals. The tests run
//! on tokio's paused clock and check the exact instant every line reaches every client. The
//! chapter is `curriculum/src/ex05-chat-server.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

mod client;
mod room;
mod server;

pub use client::handle_client;
pub use room::{Config, Room};
pub use server::serve;
