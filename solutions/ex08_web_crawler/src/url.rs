//! The one piece of URL handling the crawler needs.

/// The host of an `http://` or `https://` URL: what lies between `://` and the next `/`
/// (`"http://a.example/x"` → `Some("a.example")`). `None` for anything else.
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(host)
}
