//! The one piece of URL handling the crawler needs.

/// The host of an `http://` or `https://` URL: what lies between `://` and the next `/`
/// (`"http://a.example/x"` → `Some("a.example")`). `None` for anything else.
pub fn host_of(url: &str) -> Option<&str> {
    todo!("host_of: strip the scheme, keep what comes before the next '/'")
}
