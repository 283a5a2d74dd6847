//! Wrong solution: serialises requests with one global lock held until the reply is written, so
//! a client that does not read its replies stalls every other client.
//! replaces: connection.rs
//! expect: a_client_that_never_reads_is_closed_by_the_idle_timeout_and_delays_no_one — must delay no one else

use crate::codec::RequestLines;
use crate::protocol::{Command, Reply};
use crate::server::Config;
use crate::store::Store;
use futures::{SinkExt, StreamExt};
use std::io::ErrorKind;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, timeout_at};
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

static ONE_REQUEST_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
            // `Framed::next` is cancel safe: if shutdown wins the race, the bytes read so far
            // stay in the buffer, which is exactly what the check above looks at.
            next = timeout_at(deadline, lines.next()) => match next {
                Err(_idle) => return Ok(()),
                Ok(None) => return Ok(()), // the client hung up
                Ok(Some(line)) => line,
            },
        };
        deadline = Instant::now() + idle_timeout;

        // One request at a time across all connections, reply included, so that clients never
        // see each other's writes half-done. (tokio's Mutex: its guard may be held across .await.)
        let turn = ONE_REQUEST_AT_A_TIME.lock().await;
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

        let sent = timeout_at(deadline, lines.send(reply.to_string())).await;
        drop(turn);
        match sent {
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
