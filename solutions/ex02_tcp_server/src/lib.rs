//! # Exercise 02 — a concurrent TCP server (reference solution)
//!
//! A small in-memory key-value server speaking a line protocol (`SET k v`, `GET k`, `DEL k`,
//! `INCR k`, `QUIT`), built the way real tokio servers are:
//!
//! * [`Command`] / [`Reply`] (`protocol.rs`): one request per line in, one reply per line out;
//! * [`Store`] (`store.rs`): the shared state, a `HashMap` behind a std `Mutex` that is never held
//!   across an `.await`;
//! * [`handle_connection`] (`connection.rs`): one connection, generic over any byte stream, with a
//!   maximum line length, an idle timeout and a polite reaction to shutdown;
//! * [`serve`] (`server.rs`): the accept loop — a task per connection, a connection limit, and a
//!   graceful shutdown that leaves no task behind.
//!
//! `src/main.rs` wraps [`serve`] in a program (`ex02-server`) you can talk to with `nc`.

mod codec;
mod connection;
mod protocol;
mod server;
mod store;

pub use connection::handle_connection;
pub use protocol::{Command, Reply};
pub use server::{Config, serve};
pub use store::Store;
