//! Wrong solution: no idle timeout at all — a client that connects and says nothing keeps its
//! connection (and its slot) forever.
//! replaces: connection.rs
//! expect: an_idle_connection_is_closed_exactly_idle_timeout_after_its_last_complete_line — the connection was still open
//! expect: a_connection_that_never_sends_a_complete_line_is_closed_after_the_idle_timeout — closed by the idle timeout

use crate::codec::RequestLines;
use crate::protocol::{Command, Reply};
use crate::server::Config;
use crate::store::Store;
use futures::{SinkExt, StreamExt};
use std::io::ErrorKind;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, LinesCodecError};
use tokio_util::sync::CancellationToken;

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
    let _ = serve_requests(&mut lines, &store, config.idle_timeout, &shutdown).await;
}

// What to do once a reply has been written.
enum After {
    KeepGoing,
    Close,
}

async fn serve_requests<S>(
    lines: &mut Framed<S, RequestLines>,
    store: &Store,
    idle_timeout: Duration,
    shutdown: &CancellationToken,
) -> Result<(), LinesCodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
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
            // `Framed::next` is cancel safe: if shutdown wins the race, the bytes read so far
            // stay in the buffer, which is exactly what the check above looks at.
            next = lines.next() => match next {
                None => return Ok(()), // the client hung up
                Some(line) => line,
            },
        };

        let (reply, after) = match line {
            Ok(line) => respond(&line, store).await,
            // `LinesCodec` noticed the line was too long before its end arrived; it would skip
            // the rest, but a client sending such lines is broken or hostile: close.
            Err(LinesCodecError::MaxLineLengthExceeded) => (error("line too long"), After::Close),
            // After a decoding error `Framed` ends the stream, so this connection cannot go on.
            Err(LinesCodecError::Io(e)) if e.kind() == ErrorKind::InvalidData => {
                (error("invalid UTF-8"), After::Close)
            }
            Err(e) => return Err(e),
        };

        lines.send(reply.to_string()).await?;
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
