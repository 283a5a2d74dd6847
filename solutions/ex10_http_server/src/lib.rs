//! # Exercise 10 — an HTTP/1.1 server from scratch (reference solution)
//!
//! No HTTP library: the parsing is the exercise. Built the way real servers are:
//!
//! * [`parse_head`] and [`Request`] (`request.rs`): the request line and header fields, parsed
//!   from a byte buffer with limits, by plain synchronous code;
//! * [`Response`] and [`reason`] (`response.rs`): what a handler returns;
//! * [`Router`] (`router.rs`): a handler per method and path, 404, 405 with `Allow`, `HEAD` as
//!   `GET`;
//! * `body.rs`: the framing of a body — `Content-Length` or chunked — refused when doubtful;
//! * [`serve_connection`] (`connection.rs`): one connection over any byte stream — keep-alive,
//!   pipelining, timeouts that defeat slow clients, shutdown;
//! * [`serve`] (`server.rs`): the accept loop, a task per connection, a graceful shutdown.
//!
//! `src/main.rs` wraps [`serve`] in a program (`ex10-server`) that `curl` and Python's
//! `http.client` talk to (`.ci/http-clients` checks they do).

mod body;
mod connection;
mod request;
mod response;
mod router;
mod server;

pub use connection::serve_connection;
pub use request::{Request, Version, parse_head};
pub use response::{Response, reason};
pub use router::Router;
pub use server::{Config, serve};
