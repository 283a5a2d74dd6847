//! Wrong solution: a hand-written line codec that takes the `\r` off a line before checking its
//! length, so a line of `max_line_length` bytes and a `\r` passes, where the docs (and
//! `LinesCodec`) count the `\r`. Everything else is as in `LinesCodec`.
//! replaces: codec.rs
//! expect: a_carriage_return_counts_toward_the_line_length — counts toward the limit

use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder, LinesCodec, LinesCodecError};

pub(crate) struct RequestLines {
    max: usize,
    replies: LinesCodec,
}

impl RequestLines {
    pub(crate) fn new(max_line_length: usize) -> Self {
        Self {
            max: max_line_length,
            replies: LinesCodec::new(),
        }
    }
}

impl Decoder for RequestLines {
    type Item = String;
    type Error = LinesCodecError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        let Some(end) = buf.iter().position(|&b| b == b'\n') else {
            // Too long already — unless the one byte past the limit may be the line's `\r`.
            let too_long = buf.len() > self.max + 1
                || (buf.len() == self.max + 1 && buf.last() != Some(&b'\r'));
            return if too_long {
                Err(LinesCodecError::MaxLineLengthExceeded)
            } else {
                Ok(None)
            };
        };
        let mut line = buf.split_to(end + 1);
        line.truncate(end);
        if line.last() == Some(&b'\r') {
            line.truncate(end - 1);
        }
        if line.len() > self.max {
            return Err(LinesCodecError::MaxLineLengthExceeded);
        }
        String::from_utf8(line.to_vec()).map(Some).map_err(|_| {
            LinesCodecError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "invalid UTF-8",
            ))
        })
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<String>, LinesCodecError> {
        let line = self.decode(buf)?;
        if line.is_none() {
            buf.clear();
        }
        Ok(line)
    }
}

impl Encoder<String> for RequestLines {
    type Error = LinesCodecError;

    fn encode(&mut self, line: String, buf: &mut BytesMut) -> Result<(), LinesCodecError> {
        self.replies.encode(line, buf)
    }
}
