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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path: the target up to its first `?` (all of it when there is none).
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }

    /// The query: what follows the target's first `?`, or `None` when there is no `?`.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
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
    // The request line first: a bad one is refused without waiting for the rest of the head.
    let Some((line, mut pos)) = next_line(buf, 0)? else {
        // A request line that alone is longer than the whole head may be: its target is what
        // makes it long.
        return if buf.len() > config.max_head_bytes {
            Err(414)
        } else {
            Ok(None)
        };
    };
    let (method, target, version) = parse_request_line(line, config)?;

    // Then the header lines, up to the empty line. We only look for line ends here; the lines are
    // parsed once the whole head has arrived, so that a slow client costs one scan per read.
    let mut lines = Vec::new();
    loop {
        match next_line(buf, pos)? {
            None if buf.len() > config.max_head_bytes => return Err(431),
            None => return Ok(None),
            Some((line, next)) => {
                pos = next;
                if line.is_empty() {
                    break;
                }
                lines.push(line);
            }
        }
    }
    if pos > config.max_head_bytes {
        return Err(431);
    }

    let headers = lines
        .into_iter()
        .map(parse_header_line)
        .collect::<Result<Vec<_>, u16>>()?;
    let request = Request {
        method,
        target,
        version,
        headers,
        body: Vec::new(),
    };
    check_host(&request)?;
    Ok(Some((request, pos)))
}

// The line starting at `from` (without its CRLF or LF) and where the next one starts, or `None`
// when its end has not arrived yet. A CR anywhere else is malformed: accepting it would let two
// parsers disagree on where a line ends (request smuggling).
pub(crate) fn next_line(buf: &[u8], from: usize) -> Result<Option<(&[u8], usize)>, u16> {
    let rest = &buf[from..];
    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
        // A CR may only be followed by LF; a CR followed by anything else is an error already.
        return match rest.iter().position(|&b| b == b'\r') {
            Some(cr) if cr + 1 < rest.len() => Err(400),
            _ => Ok(None),
        };
    };
    let line = rest[..lf].strip_suffix(b"\r").unwrap_or(&rest[..lf]);
    if line.contains(&b'\r') {
        return Err(400);
    }
    Ok(Some((line, from + lf + 1)))
}

fn parse_request_line(line: &[u8], config: &Config) -> Result<(String, String, Version), u16> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    if !is_token(method) {
        return Err(400);
    }
    if !target.starts_with(b"/") || !target.iter().all(|b| (b'!'..=b'~').contains(b)) {
        return Err(400);
    }
    let version = match version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            return Err(505);
        }
        _ => return Err(400),
    };
    // Checked after the shape: a line that is not a request line at all is a 400, however long.
    if target.len() > config.max_target_length {
        return Err(414);
    }
    // Both are ASCII by now (a token; bytes in `!`..=`~`), so the conversions cannot fail.
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Ok((text(method), text(target), version))
}

fn parse_header_line(line: &[u8]) -> Result<(String, String), u16> {
    // A line starting with whitespace continues the previous one ("obsolete line folding"):
    // RFC 9112 §5.2 lets a server reject it, and we do — folding is a smuggling vector.
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(400);
    };
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    // `Host : x` (a space before the colon) must be rejected (RFC 9112 §5.1): a token has none.
    if !is_token(name) {
        return Err(400);
    }
    let value = value.trim_ascii_start();
    let value = trim_end_ows(value);
    let value = std::str::from_utf8(value).map_err(|_| 400u16)?;
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(400);
    }
    // The name is a token (ASCII), so this cannot fail.
    let name = String::from_utf8_lossy(name).into_owned();
    Ok((name, value.to_owned()))
}

// Optional whitespace is spaces and tabs only (RFC 9110 §5.6.3).
fn trim_end_ows(value: &[u8]) -> &[u8] {
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    &value[..end]
}

// HTTP/1.1 requires exactly one Host field (RFC 9112 §3.2); HTTP/1.0 predates it.
fn check_host(request: &Request) -> Result<(), u16> {
    let hosts = request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
        .count();
    if request.version == Version::Http11 && hosts != 1 {
        return Err(400);
    }
    Ok(())
}

// A token (RFC 9110 §5.6.2): one or more of the characters allowed in methods and field names.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
