//! A request, and the parser of its head (the request line and the header fields).
//!
//! Parsing is plain synchronous code over a byte slice, kept apart from the networking on purpose:
//! the connection reads bytes into a buffer and asks [`parse_head`] "is there a whole head yet?"
//! after every read. That is how `httparse` (the parser under hyper) is used too, and it makes the
//! parser testable without a socket.

use crate::server::Config;

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`: the connection closes after each response unless the request says
    /// `Connection: keep-alive`.
    Http10,
    /// `HTTP/1.1`: the connection stays open after each response unless the request says
    /// `Connection: close`.
    Http11,
}

/// One request, as the router's handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, exactly as sent. Methods are case-sensitive: `get` is not `GET`.
    pub method: String,
    /// The request target, exactly as sent: the path and, after a `?`, the query.
    pub target: String,
    /// The version from the request line.
    pub version: Version,
    /// The header fields in the order received: each name as sent, each value without the spaces
    /// and tabs around it.
    pub headers: Vec<(String, String)>,
    /// The body: empty when the request has none; for a chunked request, the chunks' data joined.
    pub body: Vec<u8>,
}

impl Request {
    /// The value of the first header field named `name`, compared case-insensitively
    /// (`content-length` finds `Content-Length`).
    pub fn header(&self, name: &str) -> Option<&str> {
        todo!("find the first field with this name, ignoring case")
    }

    /// The path: the target up to its first `?` (all of it when there is none).
    pub fn path(&self) -> &str {
        todo!("the target up to its first ?")
    }

    /// The query: what follows the target's first `?`, or `None` when there is no `?`.
    pub fn query(&self) -> Option<&str> {
        todo!("what follows the first ?")
    }
}

/// Parses the head of the request at the start of `buf`: the request line, the header fields, and
/// the empty line that ends them. Each line ends in CRLF; a bare LF is accepted too (RFC 9112
/// §2.2). The head's size is every byte from the request line's first through the empty line's
/// line end.
///
/// * `Ok(None)`: the head is not complete yet; read more and call again.
/// * `Ok(Some((request, len)))`: the head is the first `len` bytes of `buf`; `request.body` is
///   empty (the body, if any, follows in `buf` after `len`).
/// * `Err(status)`, the status to answer with:
///   - **414** when the request line's target is longer than `config.max_target_length` bytes,
///     or when more than `config.max_head_bytes` bytes have arrived and the request line has not
///     ended yet;
///   - **431** when the head is longer than `config.max_head_bytes` — as soon as more than that
///     many bytes have arrived without the end of the head: memory stays bounded;
///   - **505** for a version of the form `HTTP/<digit>.<digit>` other than `HTTP/1.0` and
///     `HTTP/1.1`;
///   - **400** for anything else malformed: a request line that is not exactly
///     `<method> <target> <version>` with single spaces, a method that is not a token (letters,
///     digits and ``!#$%&'*+-.^_`|~``), a target that does not start with `/` or holds a byte
///     outside `!`..=`~`, any other version; a header line without a colon, with a name that is
///     not a token (a space before the colon, for instance), a folded line (starting with a
///     space or a tab), a value that is not UTF-8 or holds a control character other than a tab,
///     a CR not followed by LF; an `HTTP/1.1` request without exactly one `Host` field.
///
///   An error in the request line is reported as soon as that line is complete, without waiting
///   for the rest of the head.
pub fn parse_head(buf: &[u8], config: &Config) -> Result<Option<(Request, usize)>, u16> {
    todo!("parse the request line and header fields, with the limits")
}
