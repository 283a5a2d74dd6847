//! One connection: read requests one after another, answer each in order, enforce the limits,
//! react to shutdown.
//!
//! The connection owns one growing buffer of bytes read from the client. A request is parsed
//! from the front of it and removed; whatever follows (the start of the next, pipelined request)
//! stays for the next round. Reading only when the buffer holds too little is what makes
//! pipelining work without any extra code.

use crate::request::{Request, Version, parse_head};
use crate::response::{Response, reason};
use crate::router::Router;
use crate::server::Config;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

/// Serves one client's requests, one after another, until the connection ends.
///
/// * **Requests in order**: each request is read whole ([`parse_head`](crate::parse_head), then
///   its body), answered with [`Router::handle`](crate::Router::handle), and its response written
///   before the next request is started. Requests that arrive together (pipelining) are answered
///   in the order they were sent.
/// * **The body** is read by its framing: `Content-Length` bytes, or `Transfer-Encoding: chunked`
///   (chunk sizes in hex, chunk extensions after `;` ignored, the chunks' data joined, trailer
///   fields after the last chunk read and dropped); none when the request has neither. A chunked
///   body's lines are bounded like a head: a line (a size line, a chunk's end, a trailer field)
///   of which more than `config.max_head_bytes` bytes have arrived without its line end is a
///   malformed chunk (400), and trailer fields of more than `config.max_head_bytes` bytes in all
///   (line ends not counted) are refused with 431. A request with `Expect: 100-continue` whose
///   body is accepted is sent `HTTP/1.1 100 Continue` (and an empty line) before its body is
///   read.
/// * **Responses**: `HTTP/1.1 <status> <reason>`, the response's header fields, `Content-Length`,
///   `Connection: close` when the connection is closed after this response (or
///   `Connection: keep-alive` when an `HTTP/1.0` connection is kept open), an empty line, the
///   body. A response to `HEAD` has the same header fields, `Content-Length` included, and no
///   body.
/// * **Keep-alive**: an `HTTP/1.1` connection stays open after each response unless the request
///   had `Connection: close`; an `HTTP/1.0` one is closed unless it had
///   `Connection: keep-alive`. The `Connection` value is a comma-separated list of options,
///   compared case-insensitively.
/// * **Refusals**: each of these is answered with [`Response::error`](crate::Response::error)
///   and `Connection: close`, and the connection closed: the errors of
///   [`parse_head`](crate::parse_head) (400, 414, 431, 505); a `Content-Length` that is not a
///   plain decimal number, several different ones, or one together with `Transfer-Encoding`
///   (400); a `Transfer-Encoding` other than a lone `chunked` (501); a body larger than
///   `config.max_body_bytes` (413) — refused as soon as its size is known (`Content-Length`, or a
///   chunk's size), without reading it, whatever the number of digits; a malformed chunk (400).
/// * **Timeouts** (none of them runs while a handler runs):
///   - no byte of a next request within `config.idle_timeout` of the connection opening or of the
///     previous response being written: closed without a response;
///   - a head not complete `config.header_timeout` after its first byte arrived (for a request
///     already received with an earlier one: after the previous response was written): 408 at
///     exactly that instant, however the bytes trickle in;
///   - a body not complete `config.body_timeout` after its head: 408 at exactly that instant;
///   - a response not written within `config.idle_timeout` (a client that does not read): closed.
/// * **Shutdown**: once `shutdown` is cancelled, a connection waiting for the first byte of a
///   request is closed at once; a request of which a byte has arrived is finished (read, handled,
///   answered, its response with `Connection: close` if it is written after the cancellation)
///   and the connection is then closed; no further request is started — not even one that has
///   already arrived whole behind it (pipelined), whether the cancellation came while the handler
///   ran or while its response was being written.
///
/// Returns `Ok(())` when the connection ended by these rules (the client closed it between
/// requests, a `Connection: close`, a refusal, a timeout, shutdown), and `Err` when reading or
/// writing failed, or the client closed its side in the middle of a request (`UnexpectedEof`).
pub async fn serve_connection<S>(
    stream: S,
    router: &Router,
    config: &Config,
    shutdown: &CancellationToken,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    todo!("read each request whole, answer it, keep alive, time out slow clients, shut down")
}
