//! Wrong solution: takes up to `max_concurrent` pages off the queue, runs them together with
//! `join_all`, and only then starts the next group — so one slow page holds up every slot.
//! replaces: crawler.rs
//! expect: a_finished_fetch_frees_its_slot_at_once — no waiting for a whole group to finish

use crate::report::{CrawlError, CrawlReport};
use crate::url::host_of;
use futures::future::join_all;
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
    while !queue.is_empty() {
        // The next group: pages whose host may be fetched now, in queue order.
        let now = Instant::now();
        let mut group = Vec::new();
        let mut waiting = VecDeque::new();
        for (url, depth) in queue.drain(..) {
            let Some(host) = host_of(&url) else {
                report.failed.insert(url, CrawlError::BadUrl);
                continue;
            };
            let ready = next_turn.get(host).is_none_or(|&turn| turn <= now);
            if group.len() < config.max_concurrent && ready {
                next_turn.insert(host.to_owned(), now + config.per_host_delay);
                group.push((url, depth));
            } else {
                waiting.push_back((url, depth));
            }
        }
        queue = waiting;
        if group.is_empty() {
            if let Some(turn) = queue
                .iter()
                .filter_map(|(url, _)| next_turn.get(host_of(url)?))
                .min()
            {
                sleep_until(*turn).await;
            }
            continue;
        }
        let fetches = group.into_iter().map(|(url, depth)| {
            let fetching = timeout(config.fetch_timeout, fetch(url.clone()));
            async move { (url, depth, fetching.await) }
        });
        for (url, depth, result) in join_all(fetches).await {
            match result {
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
    }
    report
}
