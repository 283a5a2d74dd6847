//! One connection: read lines, answer each one, enforce the limits, react to shutdown.
//!
//! The handler is generic over the byte stream, so the same code serves a `TcpStream` in
//! production and a `tokio::io::duplex` pipe in the tests.

use crate::server::Config;
use crate::store::Store;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

/// Serves one client until the connection ends. Every line the client sends (ending in `\n`; a
/// `\r` before it is dropped) gets exactly one reply line, in order:
///
/// * a command is parsed with [`Command::parse`](crate::Command::parse) and executed with
///   [`Store::apply`](crate::Store::apply); a line that does not parse is answered
///   `ERR <reason>`, and the connection **stays open**;
/// * `QUIT` is answered `BYE`, then the connection is closed;
/// * each reply line goes out whole, in one write (`Framed`'s `send` does that): a reply split
///   over several small writes waits for the client's acknowledgement between them (Nagle's
///   algorithm), up to 40 ms a reply on a real network;
/// * a line longer than `config.max_line_length` bytes (not counting the `\n`; a `\r` before it
///   counts) is answered `ERR line too long` and the connection is closed — as soon as more
///   than that many bytes of the line have arrived, without waiting for its end: memory stays
///   bounded;
/// * a line that is not valid UTF-8 is answered `ERR invalid UTF-8`; the connection may then be
///   closed;
/// * **idle timeout**: a connection is closed, without a reply, once `config.idle_timeout` has
///   passed without a complete line from the client — exactly that long after the last complete
///   line (or after the start, if none came). A partial line does not count as activity. Time
///   spent unable to write a reply (a client that does not read) counts as idle too, so a
///   client that never reads is closed by the same rule instead of holding its connection
///   forever;
/// * **line timeout**: once the first byte of a line has arrived, its `\n` must arrive within
///   `config.line_timeout`; otherwise, exactly `line_timeout` after that first byte, the line is
///   answered `ERR line timeout` and the connection is closed. A client that sends one byte a
///   second cannot hold its connection with a line that never ends. (When the idle timeout and
///   the line timeout fall at the same instant, either may close the connection.) A line whose
///   `\n` arrives at the very instant one of these deadlines falls is a tie too: it may be
///   answered, or the connection closed by that deadline — either is right.
/// * when the client hangs up, the handler returns. A last line cut off by the hang-up (no `\n`)
///   is discarded, never executed: `SET price 10` may be what is left of `SET price 1000`;
/// * **shutdown**: once `shutdown` is cancelled, a connection waiting between requests (no part
///   of a next line received) is closed at once; a request in flight — part of its line
///   received, or its reply being written — is finished (read to its end, executed, answered)
///   and then the connection is closed. [`serve`](crate::serve) bounds that with its grace
///   period.
///
/// Returns once the connection is closed (dropping `stream` closes it). Errors reading or writing
/// end the connection; there is no one to report them to. Must never block the thread, and never
/// keep the store locked while writing to the client: one slow client must not delay any other.
pub async fn handle_connection<S>(
    stream: S,
    store: Store,
    config: Config,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    todo!("read lines with Framed and RequestLines, answer each, enforce the limits and shutdown")
}
