//! One connection: read lines, answer each one, enforce the limits, react to shutdown.
//!
//! The handler is generic over the byte stream, so the same code serves a `TcpStream` in
//! production and a `tokio::io::duplex` pipe in the tests.

use crate::codec::RequestLines;
use crate::protocol::{Command, Reply};
use crate::server::Config;
use crate::store::Store;
use futures::{SinkExt, StreamExt};
use std::future::{Future, poll_fn};
use std::io::ErrorKind;
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_util::codec::{Framed, LinesCodecError};
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
    // `Framed` turns the byte stream into a stream of lines (reading) and a sink of lines
    // (writing), keeping the partial line it has read so far in its buffer.
    let mut lines = Framed::new(stream, RequestLines::new(config.max_line_length));
    // An I/O error ends this connection only, and the client is gone or broken: nothing to do.
    let _ = serve_requests(&mut lines, &store, &config, &shutdown).await;
}

// How waiting for the next line ended.
enum Next {
    Line(Result<String, LinesCodecError>),
    HungUp,
    Idle,
    LineTooSlow,
}

// The next line, under two deadlines: `idle` (the connection's, moved by every complete line) and
// `line_timeout` after the first byte of this line arrived. `line_started` lives in the caller,
// so that a wait interrupted by shutdown does not restart the line's clock.
async fn next_line<S>(
    lines: &mut Framed<S, RequestLines>,
    idle: Instant,
    line_timeout: Duration,
    line_started: &mut Option<Instant>,
) -> Next
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = |started: Option<Instant>| match started {
        Some(started) => idle.min(started + line_timeout),
        None => idle,
    };
    let timer = sleep_until(deadline(*line_started));
    tokio::pin!(timer);
    // `Framed::next` completes only with a whole line, so it cannot say when a line *began*.
    // Polling it by hand can: after each poll, a non-empty read buffer means part of a line is
    // in, and the timer is moved to that line's deadline.
    poll_fn(|cx| {
        if let Poll::Ready(next) = lines.poll_next_unpin(cx) {
            return Poll::Ready(next.map_or(Next::HungUp, Next::Line));
        }
        if line_started.is_none() && !lines.read_buffer().is_empty() {
            *line_started = Some(Instant::now());
            timer.as_mut().reset(deadline(*line_started));
        }
        match timer.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) if Instant::now() >= idle => Poll::Ready(Next::Idle),
            Poll::Ready(()) => Poll::Ready(Next::LineTooSlow),
        }
    })
    .await
}

// What to do once a reply has been written.
enum After {
    KeepGoing,
    Close,
}

async fn serve_requests<S>(
    lines: &mut Framed<S, RequestLines>,
    store: &Store,
    config: &Config,
    shutdown: &CancellationToken,
) -> Result<(), LinesCodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let idle_timeout = config.idle_timeout;
    // When the first byte of the line being read arrived (`None` between lines).
    let mut line_started = None;
    // One deadline, moved forward by each complete line, bounds reading *and* writing: a client
    // that neither sends a line nor reads its replies for `idle_timeout` is gone as far as we
    // are concerned.
    let mut deadline = Instant::now() + idle_timeout;
    // Set when shutdown came in the middle of a request: finish that one request, then close.
    let mut finishing = false;

    loop {
        let line = tokio::select! {
            // Once the token is cancelled, `cancelled()` is always ready: stop watching it.
            _ = shutdown.cancelled(), if !finishing => {
                // Nothing of a next request received: nothing is in flight, close now.
                if lines.read_buffer().is_empty() {
                    return Ok(());
                }
                finishing = true;
                continue;
            }
            // `next_line` is cancel safe (it only polls `Framed`, which keeps what it has read):
            // if shutdown wins the race, the bytes read so far stay in the buffer, which is
            // exactly what the check above looks at.
            next = next_line(lines, deadline, config.line_timeout, &mut line_started) => {
                match next {
                    Next::Idle | Next::HungUp => return Ok(()),
                    // Answered below, like the other lines that break a limit.
                    Next::LineTooSlow => None,
                    Next::Line(line) => Some(line),
                }
            }
        };
        deadline = Instant::now() + idle_timeout;
        line_started = None;

        let (reply, after) = match line {
            // The line took longer than `line_timeout` (a slowloris-style client): close.
            None => (error("line timeout"), After::Close),
            Some(Ok(line)) => respond(&line, store).await,
            // `LinesCodec` noticed the line was too long before its end arrived; it would skip
            // the rest, but a client sending such lines is broken or hostile: close.
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                (error("line too long"), After::Close)
            }
            // After a decoding error `Framed` ends the stream, so this connection cannot go on.
            Some(Err(LinesCodecError::Io(e))) if e.kind() == ErrorKind::InvalidData => {
                (error("invalid UTF-8"), After::Close)
            }
            Some(Err(e)) => return Err(e),
        };

        match timeout_at(deadline, lines.send(reply.to_string())).await {
            Err(_idle) => return Ok(()), // the client stopped reading
            Ok(sent) => sent?,
        }
        if finishing || matches!(after, After::Close) {
            return Ok(());
        }
    }
}

// The reply to one complete line, and whether the connection ends after it.
async fn respond(line: &str, store: &Store) -> (Reply, After) {
    match Command::parse(line) {
        Ok(Command::Quit) => (Reply::Bye, After::Close),
        // The store is locked (or the actor asked) only inside `apply`: by the time we write the
        // reply, nothing is held, so a client that reads slowly delays no one but itself.
        Ok(command) => (store.apply(command).await, After::KeepGoing),
        Err(reason) => (Reply::Error(reason), After::KeepGoing),
    }
}

fn error(reason: &str) -> Reply {
    Reply::Error(reason.to_owned())
}
