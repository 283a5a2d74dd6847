//! Wrong solution: lets LinesCodec's decode_eof hand back the unterminated rest of the stream as
//! a last line, so a request cut off by a hang-up (`SET price 10` of `SET price 1000`) is
//! executed.
//! replaces: codec.rs
//! expect: a_line_cut_off_by_a_hang_up_is_discarded_not_executed — no reply is due

use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder, LinesCodec, LinesCodecError};

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

    /// Called by `Framed` once the client has closed its side, until it returns `None`.
    /// `LinesCodec` would hand back whatever follows the last `\n` as one more line. This returns
    /// the complete lines still in `buf`, one per call, and then drops an unterminated rest: a
    /// request the client never finished sending must not be executed (`SET price 10` may be
    /// what is left of `SET price 1000`).
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        // Whatever is left is the last line.
        self.0.decode_eof(buf)
    }
}

impl Encoder<String> for RequestLines {
    type Error = LinesCodecError;

    /// Writes `line` followed by `\n`.
    fn encode(&mut self, line: String, buf: &mut BytesMut) -> Result<(), LinesCodecError> {
        self.0.encode(line, buf)
    }
}
