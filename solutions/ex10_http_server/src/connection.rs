//! One connection: read requests one after another, answer each in order, enforce the limits,
//! react to shutdown.
//!
//! The connection owns one growing buffer of bytes read from the client. A request is parsed
//! from the front of it and removed; whatever follows (the start of the next, pipelined request)
//! stays for the next round. Reading only when the buffer holds too little is what makes
//! pipelining work without any extra code.

use crate::body::{ChunkSize, Framing, chunk_size, framing};
use crate::request::{Request, Version, next_line, parse_head};
use crate::response::{Response, reason};
use crate::router::Router;
use crate::server::Config;
use std::io::{self, ErrorKind};
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
    let mut conn = Connection {
        stream,
        buf: Vec::new(),
        config: *config,
    };
    loop {
        let outcome = match conn.next_request(shutdown).await {
            Ok(None) => return Ok(()), // idle, hung up, or shut down between requests
            Ok(Some(request)) => conn.answer(request, router, shutdown).await,
            Err(stop) => Err(stop),
        };
        match outcome {
            Ok(After::KeepGoing) => continue,
            Ok(After::Close) => return conn.close().await,
            Err(Stop::Refuse(status)) => {
                let response = Response::error(status);
                conn.write(encode(&response, false, true, Version::Http11))
                    .await?;
                return conn.close().await;
            }
            Err(Stop::Io(e)) => return Err(e),
        }
    }
}

// Why a request could not be served.
enum Stop {
    // Answer with this status and close.
    Refuse(u16),
    // The connection is broken (or the client left mid-request): nothing to answer.
    Io(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

// What to do once a response has been written.
enum After {
    KeepGoing,
    Close,
}

struct Connection<S> {
    stream: S,
    // Bytes read from the client and not yet consumed by a request.
    buf: Vec<u8>,
    config: Config,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    // Waits for the next request and reads it whole, or `None` when the connection should end
    // quietly (idle, the client closed it, shutdown between requests).
    async fn next_request(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Option<Request>, Stop> {
        if self.buf.is_empty() {
            let idle = Instant::now() + self.config.idle_timeout;
            tokio::select! {
                // `biased`: a token already cancelled wins over bytes already waiting.
                biased;
                _ = shutdown.cancelled() => return Ok(None),
                read = timeout_at(idle, self.read_more()) => match read {
                    Err(_idle) => return Ok(None),
                    Ok(Ok(0)) => return Ok(None), // closed between requests: a normal end
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(Stop::Io(e)),
                }
            }
        } else if shutdown.is_cancelled() {
            // A pipelined request already received, but not started: shutdown means no new work.
            return Ok(None);
        }
        // The head's clock starts now: at its first byte, or (pipelined) when we get to it. One
        // deadline for the whole head, not one per read: a client sending a byte every second
        // must not hold the connection forever ("slowloris").
        let head_deadline = Instant::now() + self.config.header_timeout;
        let mut request = self.read_head(head_deadline).await?;

        let framing = framing(&request, &self.config).map_err(Stop::Refuse)?;
        let has_body = framing != Framing::Length(0);
        let expects_continue = request
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if has_body && expects_continue {
            // The client waits for this before sending a large body; we only say it once the
            // framing (and the size) have been accepted.
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec())
                .await?;
        }
        let body_deadline = Instant::now() + self.config.body_timeout;
        request.body = match framing {
            Framing::Length(n) => self.read_exact_body(n, body_deadline).await?,
            Framing::Chunked => self.read_chunked_body(body_deadline).await?,
        };
        Ok(Some(request))
    }

    async fn read_head(&mut self, deadline: Instant) -> Result<Request, Stop> {
        loop {
            // Parse from the start after every read: heads are small and bounded by
            // `max_head_bytes`, and a parser without state cannot get out of step with the
            // buffer.
            if let Some((request, len)) =
                parse_head(&self.buf, &self.config).map_err(Stop::Refuse)?
            {
                self.buf.drain(..len);
                return Ok(request);
            }
            self.fill(deadline).await?;
        }
    }

    async fn read_exact_body(&mut self, len: usize, deadline: Instant) -> Result<Vec<u8>, Stop> {
        while self.buf.len() < len {
            self.fill(deadline).await?;
        }
        // What follows the body stays: it is the start of the next request.
        Ok(self.buf.drain(..len).collect())
    }

    async fn read_chunked_body(&mut self, deadline: Instant) -> Result<Vec<u8>, Stop> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(deadline).await?;
            let size = match chunk_size(&line) {
                None => return Err(Stop::Refuse(400)),
                Some(ChunkSize::TooLarge) => return Err(Stop::Refuse(413)),
                Some(ChunkSize::Bytes(n)) => n,
            };
            // Refused as soon as the size line says so, before the data is read.
            if size > self.config.max_body_bytes - body.len() {
                return Err(Stop::Refuse(413));
            }
            if size == 0 {
                self.skip_trailers(deadline).await?;
                return Ok(body);
            }
            body.extend(self.read_exact_body(size, deadline).await?);
            // Each chunk's data ends with a line end of its own.
            if !self.read_line(deadline).await?.is_empty() {
                return Err(Stop::Refuse(400));
            }
        }
    }

    // Trailer fields follow the last chunk, up to an empty line. We do not use them, but they
    // must be read: left in the buffer, they would be parsed as the next request.
    async fn skip_trailers(&mut self, deadline: Instant) -> Result<(), Stop> {
        let mut total = 0;
        loop {
            let line = self.read_line(deadline).await?;
            if line.is_empty() {
                return Ok(());
            }
            total += line.len();
            if total > self.config.max_head_bytes {
                return Err(Stop::Refuse(431));
            }
        }
    }

    // One line (chunk size, chunk end, trailer), without its line end. Bounded like a head:
    // a size line that never ends must not grow the buffer forever.
    async fn read_line(&mut self, deadline: Instant) -> Result<Vec<u8>, Stop> {
        loop {
            if let Some((line, next)) = next_line(&self.buf, 0).map_err(Stop::Refuse)? {
                let line = line.to_vec();
                self.buf.drain(..next);
                return Ok(line);
            }
            if self.buf.len() > self.config.max_head_bytes {
                return Err(Stop::Refuse(400));
            }
            self.fill(deadline).await?;
        }
    }

    // Reads more bytes before `deadline`: a timeout is a 408, and an end of stream here is in the
    // middle of a request.
    async fn fill(&mut self, deadline: Instant) -> Result<(), Stop> {
        match timeout_at(deadline, self.read_more()).await {
            Err(_elapsed) => Err(Stop::Refuse(408)),
            Ok(Ok(0)) => Err(Stop::Io(ErrorKind::UnexpectedEof.into())),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Stop::Io(e)),
        }
    }

    // One read into the buffer; 0 at the end of the stream. `read_buf` is cancel safe: when a
    // timeout or the shutdown token wins the race, no byte is lost.
    async fn read_more(&mut self) -> io::Result<usize> {
        self.buf.reserve(4096);
        self.stream.read_buf(&mut self.buf).await
    }

    async fn answer(
        &mut self,
        request: Request,
        router: &Router,
        shutdown: &CancellationToken,
    ) -> Result<After, Stop> {
        let keep_alive = wants_keep_alive(&request);
        let head_only = request.method == "HEAD";
        let version = request.version;
        let response = router.handle(request).await;
        // Shutdown may have come while the handler ran: this is then the last response.
        let close = !keep_alive || shutdown.is_cancelled();
        if !self
            .write(encode(&response, head_only, close, version))
            .await?
        {
            return Ok(After::Close);
        }
        Ok(if close {
            After::Close
        } else {
            After::KeepGoing
        })
    }

    // Writes `bytes` within the idle timeout. `Ok(false)`: the client did not read them in time.
    async fn write(&mut self, bytes: Vec<u8>) -> io::Result<bool> {
        let deadline = Instant::now() + self.config.idle_timeout;
        let written = async {
            self.stream.write_all(&bytes).await?;
            self.stream.flush().await
        };
        match timeout_at(deadline, written).await {
            Err(_elapsed) => Ok(false),
            Ok(result) => result.map(|()| true),
        }
    }

    // Closing our side sends the client an end of stream right after the last response.
    async fn close(&mut self) -> io::Result<()> {
        // The client may be gone already; that changes nothing.
        let _ = self.stream.shutdown().await;
        Ok(())
    }
}

// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 closes unless told `keep-alive`.
fn wants_keep_alive(request: &Request) -> bool {
    let mut options = request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim);
    match request.version {
        Version::Http11 => !options.any(|o| o.eq_ignore_ascii_case("close")),
        Version::Http10 => options.any(|o| o.eq_ignore_ascii_case("keep-alive")),
    }
}

// The response's bytes: built in one buffer so that it goes out in one write (a head and a body
// in two small writes would wait for the client's ACK in between: Nagle's algorithm).
fn encode(response: &Response, head_only: bool, close: bool, version: Version) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        // The framing is ours to write: a handler's own would contradict it.
        let ours = ["content-length", "connection", "transfer-encoding"];
        if !ours.iter().any(|o| name.eq_ignore_ascii_case(o)) {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    if close {
        out.push_str("Connection: close\r\n");
    } else if version == Version::Http10 {
        out.push_str("Connection: keep-alive\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&response.body);
    }
    bytes
}
