//! Lines in, lines out: tokio-util's `LinesCodec`, with one change at the end of the stream.
//!
//! A codec is what `Framed` uses to cut the bytes it reads into frames (here: lines) and to turn
//! the frames it sends back into bytes. This one is given to you except for one method.

use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder, LinesCodec, LinesCodecError};

/// Cuts the incoming bytes into lines of at most `max_line_length` bytes, exactly like
/// `LinesCodec::new_with_max_length` (a `\r` before the `\n` is dropped; a longer line is an
/// error as soon as more than `max_line_length` bytes of it have arrived), and writes each reply
/// as a line — except at the end of the stream: see [`RequestLines::decode_eof`].
pub(crate) struct RequestLines(LinesCodec);

impl RequestLines {
    /// A codec for lines of at most `max_line_length` bytes, not counting the `\n`.
    pub(crate) fn new(max_line_length: usize) -> Self {
        Self(LinesCodec::new_with_max_length(max_line_length))
    }
}

impl Decoder for RequestLines {
    type Item = String;
    type Error = LinesCodecError;

    /// The next complete line in `buf`, if there is one (see `LinesCodec`).
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        self.0.decode(buf)
    }

    /// Called by `Framed` once the client has closed its side, until it returns `None`; by then
    /// every complete line has gone through `decode`, so `buf` holds at most an unterminated
    /// rest. `LinesCodec` would hand that rest back as one more line. This must not: a request
    /// the client never finished sending must not be executed (`SET price 10` may be what is
    /// left of `SET price 1000`).
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        todo!("drop the unterminated rest instead of returning it as a line")
    }
}

impl Encoder<String> for RequestLines {
    type Error = LinesCodecError;

    /// Writes `line` followed by `\n`.
    fn encode(&mut self, line: String, buf: &mut BytesMut) -> Result<(), LinesCodecError> {
        self.0.encode(line, buf)
    }
}
