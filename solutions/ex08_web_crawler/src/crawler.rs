//! The crawl: one scheduler loop over a queue of pages and the fetches in flight.

use crate::report::{CrawlError, CrawlReport};
use crate::url::host_of;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;
use tokio::time::{Instant, error::Elapsed, sleep_until, timeout};

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
    assert!(
        config.max_concurrent > 0,
        "max_concurrent must be at least 1"
    );
    let mut crawl = Frontier::default();
    crawl.found(start.to_owned(), 0);
    // The fetches in flight, each tagged with its URL and depth. A `FuturesUnordered` polls only
    // the ones that were woken and hands back whichever finishes first — and dropping it (when
    // `crawl` returns) cancels anything still in it.
    let mut in_flight = FuturesUnordered::new();
    loop {
        for (url, depth) in crawl.startable(config.max_concurrent - in_flight.len(), &config) {
            in_flight.push(fetch_one(&fetch, url, depth, config.fetch_timeout));
        }
        if in_flight.is_empty() && crawl.queue.is_empty() {
            return crawl.report;
        }
        // Nothing more can start now. Wait for a fetch to finish — or, if a slot is free, for
        // the earliest host turn among the waiting pages, whichever comes first.
        let next_turn = (in_flight.len() < config.max_concurrent)
            .then(|| crawl.earliest_turn())
            .flatten();
        tokio::select! {
            Some((url, depth, result)) = in_flight.next() => {
                crawl.finished(url, depth, result, config.max_depth);
            }
            () = sleep_until(next_turn.unwrap_or_else(Instant::now)), if next_turn.is_some() => {}
        }
    }
}

// How a fetch ended, with the URL and depth it was for: the links (or the fetcher's error), or
// `Elapsed` when it ran past `fetch_timeout`.
type Ended = (String, usize, Result<Result<Vec<String>, String>, Elapsed>);

// One fetch under the time limit, tagged with what the loop needs to know when it ends.
fn fetch_one<F, Fut>(
    fetch: &F,
    url: String,
    depth: usize,
    limit: Duration,
) -> impl Future<Output = Ended> + use<F, Fut>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Vec<String>, String>>,
{
    let fetching = fetch(url.clone());
    async move { (url, depth, timeout(limit, fetching).await) }
}

// The crawl's state: what was found, what waits, each host's next turn, and the report.
#[derive(Default)]
struct Frontier {
    seen: HashSet<String>,
    queue: VecDeque<(String, usize)>,
    next_turn: HashMap<String, Instant>,
    report: CrawlReport,
}

impl Frontier {
    /// A link was found at `depth`: queue it, unless it was found before.
    fn found(&mut self, url: String, depth: usize) {
        if !self.seen.insert(url.clone()) {
            return;
        }
        if host_of(&url).is_none() {
            self.report.failed.insert(url, CrawlError::BadUrl);
            return;
        }
        self.queue.push_back((url, depth));
    }

    /// Takes, in queue order, up to `slots` pages whose host may be fetched now, and books each
    /// host's next turn. Pages whose host must wait keep their place in the queue.
    fn startable(&mut self, slots: usize, config: &CrawlConfig) -> Vec<(String, usize)> {
        let now = Instant::now();
        let mut start = Vec::new();
        let mut waiting = VecDeque::with_capacity(self.queue.len());
        for (url, depth) in self.queue.drain(..) {
            let host = host_of(&url).expect("queued URLs have a host").to_owned();
            let turn = self.next_turn.get(&host).copied();
            if start.len() < slots && turn.is_none_or(|turn| turn <= now) {
                self.next_turn.insert(host, now + config.per_host_delay);
                start.push((url, depth));
            } else {
                waiting.push_back((url, depth));
            }
        }
        self.queue = waiting;
        start
    }

    /// The earliest instant a waiting page's host gets its turn.
    fn earliest_turn(&self) -> Option<Instant> {
        self.queue
            .iter()
            .filter_map(|(url, _)| self.next_turn.get(host_of(url)?))
            .min()
            .copied()
    }

    /// A fetch ended: record it, and queue the links of a page that may be followed.
    fn finished(
        &mut self,
        url: String,
        depth: usize,
        result: Result<Result<Vec<String>, String>, Elapsed>,
        max_depth: usize,
    ) {
        match result {
            Err(_) => {
                self.report.failed.insert(url, CrawlError::TimedOut);
            }
            Ok(Err(message)) => {
                self.report.failed.insert(url, CrawlError::Fetch(message));
            }
            Ok(Ok(links)) => {
                self.report.pages.insert(url, depth);
                if depth < max_depth {
                    for link in links {
                        self.found(link, depth + 1);
                    }
                }
            }
        }
    }
}
