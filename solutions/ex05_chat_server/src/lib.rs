//! # Exercise 05 — a chat server on tokio channels (reference solution)
//!
//! Clients connect, choose a nickname and talk: every line goes to everyone else in the room,
//! `/msg` goes to one person, `/nick`, `/list` and `/quit` do what they say. Each connection is
//! its own task, and the tasks never share a socket or wait for one another; they talk through
//! channels, one kind per job:
//!
//! ```text
//!                       broadcast (room messages; each receiver may lag, never blocks the sender)
//!   client task ──────▶ ════════════════════════════════▶ every other client task ──▶ its socket
//!        │
//!        └─ /msg ─────▶ mpsc (the recipient's own bounded queue) ──▶ that client's task
//!
//!   Room::shutdown ───▶ watch (open / closing until <deadline>) ──▶ every task and serve
//! ```
//!
//! * [`Room`] (`room.rs`): who is online, the broadcast channel, the private queues, shutdown;
//! * [`handle_client`] (`client.rs`): one connection, generic over the transport, one `select!`
//!   loop over the client's input, the two channels and shutdown;
//! * [`serve`] (`server.rs`): the accept loop, a task per connection, a shutdown that waits for
//!   every one of them.
//!
//! The protocol is documented on [`handle_client`].

mod client;
mod room;
mod server;

pub use client::handle_client;
pub use room::{Config, Room};
pub use server::serve;
