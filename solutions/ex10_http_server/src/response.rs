//! A response, as a handler builds it. The connection adds the framing (`Content-Length`,
//! `Connection`) when it writes one.

/// A response: a status, header fields, a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code: 200, 404, …
    pub status: u16,
    /// Header fields, written in this order. Leave out `Content-Length` and `Connection`: the
    /// connection writes those itself.
    pub headers: Vec<(String, String)>,
    /// The body. Its length is sent as `Content-Length`; it is not sent at all in answer to `HEAD`.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with this status, no header fields and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response with this status, the header `Content-Type: text/plain; charset=utf-8`, and
    /// `body` as its body.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(body.into().into_bytes())
    }

    /// The same response with one more header field, after the others.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same response with `body` as its body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The server's own answer to an error: [`Response::text`] with the body
    /// `"<status> <reason>\n"`, for example `"404 Not Found\n"`.
    pub fn error(status: u16) -> Self {
        Self::text(status, format!("{status} {}\n", reason(status)))
    }
}

/// The reason phrase of a status code (RFC 9110 §15), for the status line: 100 `Continue`,
/// 200 `OK`, 201 `Created`, 400 `Bad Request`, 404 `Not Found`, 405 `Method Not Allowed`,
/// 408 `Request Timeout`, 413 `Content Too Large`, 414 `URI Too Long`,
/// 431 `Request Header Fields Too Large`, 500 `Internal Server Error`, 501 `Not Implemented`,
/// 505 `HTTP Version Not Supported`; an empty string for any other code (the status line then
/// ends `HTTP/1.1 299 `: the phrase is optional).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
