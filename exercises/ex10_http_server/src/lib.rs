//! # Exercise 10 — an HTTP/1.1 server from scratch
//!
//! No HTTP library: the parsing is the exercise. A server that `curl` and Python's `http.client`
//! accept, with the limits and timeouts that keep one client from hurting the others. Work through
//! the modules in this order:
//!
//! 1. [`reason`] and [`Response`]'s builders (`response.rs`): what a handler returns.
//! 2. [`parse_head`] and [`Request`]'s accessors (`request.rs`): the request line and the header
//!    fields, parsed from a byte buffer, with limits — plain synchronous code.
//! 3. [`Router`] (`router.rs`): a handler per method and path; 404; 405 with `Allow`; `HEAD`.
//! 4. [`serve_connection`] (`connection.rs`, with `body.rs` for the body's framing): one
//!    connection over any byte stream — bodies (`Content-Length` and chunked), keep-alive,
//!    pipelining, the timeouts that defeat slow clients, shutdown.
//! 5. [`serve`] (`server.rs`): the accept loop — a task per connection and a graceful shutdown.
//!
//! Run the tests with `cargo test -p ex10_http_server`. They run on tokio's paused clock, so they
//! check *exact* instants: "408 at t=15s, 5s after the head's first byte". Use `tokio::time`
//! (never `std::thread::sleep` or `std::time::Instant`) and the tests finish in milliseconds.
//! `cargo run -p ex10_http_server --bin ex10-server` starts the server for real; talk to it with
//! `curl -i http://127.0.0.1:8080/`. The chapter is `curriculum/src/ex10-http-server.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

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
