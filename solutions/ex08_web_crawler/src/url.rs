//! The one piece of URL handling the crawler needs.

/// The host of an `http://` or `https://` URL: what lies between `://` and the next `/`
/// (`"http://a.example/x"` → `Some("a.example")`). `None` for anything else.
/// Only a `/` ends the host: `?` and `#` are part of it (`"http://a.example?q"` →
/// `Some("a.example?q")`), unlike in a full URL parser, which the crawler does not need.
/// The scheme is matched exactly, in lower case: `"HTTP://a.example/"`, `"ftp://a.example/"` and
/// `"httpx://a.example/"` have no host.
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(host)
}
