//! Wrong solution: a plain breadth-first loop that awaits each fetch before starting the next —
//! depth, dedup, politeness and timeouts are right, but `max_concurrent` is never used, so only
//! one fetch ever runs.
//! replaces: crawler.rs
//! expect: fetches_overlap_up_to_max_concurrent_and_never_beyond — all 3 slots must be used

use crate::report::{CrawlError, CrawlReport};
use crate::url::host_of;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrawlConfig {
    pub max_concurrent: usize,
    pub max_depth: usize,
    pub per_host_delay: Duration,
    pub fetch_timeout: Duration,
}

pub async fn crawl<F, Fut>(start: &str, fetch: F, config: CrawlConfig) -> CrawlReport
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<String>, String>> + Send + 'static,
{
    assert!(
        config.max_concurrent > 0,
        "max_concurrent must be at least 1"
    );
    let mut report = CrawlReport::default();
    let mut seen = HashSet::from([start.to_owned()]);
    let mut queue = VecDeque::from([(start.to_owned(), 0)]);
    let mut next_turn: HashMap<String, Instant> = HashMap::new();
    while let Some((url, depth)) = queue.pop_front() {
        let Some(host) = host_of(&url) else {
            report.failed.insert(url, CrawlError::BadUrl);
            continue;
        };
        if let Some(&turn) = next_turn.get(host) {
            sleep_until(turn).await;
        }
        next_turn.insert(host.to_owned(), Instant::now() + config.per_host_delay);
        match timeout(config.fetch_timeout, fetch(url.clone())).await {
            Err(_) => {
                report.failed.insert(url, CrawlError::TimedOut);
            }
            Ok(Err(message)) => {
                report.failed.insert(url, CrawlError::Fetch(message));
            }
            Ok(Ok(links)) => {
                report.pages.insert(url, depth);
                if depth < config.max_depth {
                    for link in links {
                        if seen.insert(link.clone()) {
                            queue.push_back((link, depth + 1));
                        }
                    }
                }
            }
        }
    }
    report
}
