//! How long is the body? The two framings of an HTTP/1.1 request body.
//!
//! Getting this wrong is not a detail: when a server and a proxy in front of it disagree on where
//! a body ends, the rest is read as a second request that the proxy never saw ("request
//! smuggling"). So every doubtful case is refused rather than guessed — the rules are in
//! [`serve_connection`](crate::serve_connection)'s doc comment.
//!
//! This file is yours: nothing here is part of the contract. A shape that works well:
//!
//! * `enum Framing { Length(usize), Chunked }` and
//!   `fn framing(request: &Request, config: &Config) -> Result<Framing, u16>`, which reads
//!   `Content-Length` and `Transfer-Encoding` and returns the status to refuse with (400, 413,
//!   501);
//! * `fn chunk_size(line: &[u8]) -> Option<...>` for a chunk-size line: hex digits, then
//!   optionally `;` and extensions to ignore — and a size too large for a `usize` is too large,
//!   not malformed.
//!
//! Plain synchronous functions again: the connection reads, these decide.
