//! How long is the body? The two framings of an HTTP/1.1 request body, and the chunk-size line.
//!
//! Getting this wrong is not a detail: when a server and a proxy in front of it disagree on
//! where a body ends, the rest is read as a second request that the proxy never saw ("request
//! smuggling"). So every doubtful case is refused rather than guessed.

use crate::request::Request;
use crate::server::Config;

// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    // Exactly this many bytes follow the head (0 when the request says nothing).
    Length(usize),
    // `Transfer-Encoding: chunked`: chunks, each preceded by its size in hex, until one of size 0.
    Chunked,
}

// The framing of `request`'s body, or the status to refuse it with.
pub(crate) fn framing(request: &Request, config: &Config) -> Result<Framing, u16> {
    let values = |name: &str| -> Vec<&str> {
        request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let encodings = values("transfer-encoding");
    let lengths = values("content-length");

    if !encodings.is_empty() {
        // Both at once is how smuggling starts (RFC 9112 §6.3): refuse instead of choosing.
        if !lengths.is_empty() {
            return Err(400);
        }
        // `chunked` is the only coding we decode; gzip or a list of codings is not for us.
        return match encodings.as_slice() {
            [only] if only.eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
            _ => Err(501),
        };
    }

    let mut length: Option<usize> = None;
    for value in lengths {
        // Plain decimal digits only: no sign, no spaces inside, no list.
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(400);
        }
        // A number too large for a usize is a number too large, not a malformed one: 413.
        let n = decimal(value).filter(|&n| n <= config.max_body_bytes);
        let Some(n) = n else { return Err(413) };
        // Two different lengths: which one would a proxy have used? Refuse.
        if length.is_some_and(|seen| seen != n) {
            return Err(400);
        }
        length = Some(n);
    }
    Ok(Framing::Length(length.unwrap_or(0)))
}

// The value of a string of decimal digits, or `None` if it does not fit.
fn decimal(digits: &str) -> Option<usize> {
    digits.bytes().try_fold(0usize, |n, b| {
        n.checked_mul(10)?.checked_add(usize::from(b - b'0'))
    })
}

// What a chunk-size line says: the size of the next chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkSize {
    // The chunk holds this many bytes.
    Bytes(usize),
    // Hex digits too many for a `usize`: larger than any body we accept.
    TooLarge,
}

// Parses a chunk-size line (without its line end): hex digits, then optionally spaces or tabs
// and a `;` starting chunk extensions, which are ignored. `None` when it is malformed.
pub(crate) fn chunk_size(line: &[u8]) -> Option<ChunkSize> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let rest = line[digits..].trim_ascii_start();
    if !(rest.is_empty() || rest.starts_with(b";")) {
        return None;
    }
    let size = line[..digits].iter().try_fold(0usize, |n, &b| {
        // The digit is an ASCII hex digit, so `to_digit` succeeds.
        let digit = (b as char).to_digit(16).unwrap_or(0) as usize;
        n.checked_mul(16)?.checked_add(digit)
    });
    Some(size.map_or(ChunkSize::TooLarge, ChunkSize::Bytes))
}
