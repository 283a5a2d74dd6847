//! The crawl.

use crate::report::{CrawlError, CrawlReport};
use crate::url::host_of;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout};

/// The crawl's limits. `max_concurrent` must be at least 1 (a zero panics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrawlConfig {
    /// The most fetches in flight at once.
    pub max_concurrent: usize,
    /// Links are followed this many hops from the start page (depth 0): links found on a page
    /// at depth `max_depth` are not followed.
    pub max_depth: usize,
    /// Two fetches of the same host start at least this long apart (politeness).
    pub per_host_delay: Duration,
    /// A fetch still running this long after it started is cancelled and reported as
    /// [`CrawlError::TimedOut`].
    pub fetch_timeout: Duration,
}

/// Crawls from `start`: fetches it, then every page it links to, and so on, and reports what
/// became of every page (see [`CrawlReport`]).
///
/// `fetch(url)` returns the links found on the page, or an error message.
///
/// * **Once.** Every URL is fetched at most once, however many pages link to it (cycles
///   included). URLs are compared as strings, exactly.
/// * **Depth.** The start page has depth 0, a page it links to depth 1, and so on; links on a
///   page at depth `max_depth` are not followed. A page's depth is the one it had when it was
///   first found.
/// * **Order.** Pages are fetched in the order they were found: a page's links in their order
///   on the page, pages in the order their fetches finished.
/// * **Concurrency.** Up to `max_concurrent` fetches run at once, and a fetch starts the moment
///   a slot and its host allow it: a finished fetch frees its slot at once.
/// * **Politeness.** Two fetches of the same host start at least `per_host_delay` apart. A page
///   waiting for its host's turn takes no slot and does not hold up pages of other hosts found
///   after it.
/// * **Failures.** A fetch error is recorded as [`CrawlError::Fetch`]; a fetch that runs longer
///   than `fetch_timeout` is cancelled (its future dropped) at that instant and recorded as
///   [`CrawlError::TimedOut`]; a URL without a host ([`host_of`](crate::host_of)) is recorded as
///   [`CrawlError::BadUrl`] and never fetched. The crawl goes on either way.
/// * **End.** `crawl` returns as soon as no fetch is in flight and none is waiting, and leaves
///   no task behind.
pub async fn crawl<F, Fut>(start: &str, fetch: F, config: CrawlConfig) -> CrawlReport
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<String>, String>> + Send + 'static,
{
    todo!(
        "crawl: fetch the start page, then every page found, at most once each — up to \
         max_concurrent at a time, each host at most once per per_host_delay, each fetch under \
         fetch_timeout"
    )
}
