//! What a crawl found.

use std::collections::BTreeMap;

/// Why a page is missing from [`CrawlReport::pages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrawlError {
    /// The fetcher returned this error.
    Fetch(String),
    /// The fetch took longer than `fetch_timeout` and was cancelled.
    TimedOut,
    /// The URL has no host the crawler understands (see [`host_of`](crate::host_of)); it was
    /// never fetched.
    BadUrl,
}

/// What became of every page the crawl decided to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlReport {
    /// Every page fetched successfully, with its depth: the number of links followed from the
    /// start page (depth 0) to the page, along the path by which it was first found.
    pub pages: BTreeMap<String, usize>,
    /// Every page that could not be fetched, and why.
    pub failed: BTreeMap<String, CrawlError>,
}
