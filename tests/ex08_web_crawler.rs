//! Hidden tests for exercise 08: a concurrent, polite web crawler.
//!
//! A whole web site is played by a mock fetcher on tokio's paused clock: every page has links and
//! a fetch time, and the mock records the virtual instant each fetch started, how many ran at
//! once, and which were cancelled. Written once, compiled against the stub and the reference.
//!
//! Traceability (checked by the dev check): each test cites the sentences of the stub's docs it
//! checks (`/// contract: "…"`); this one states no rule a test could observe:
//!
//! not a rule: "The crawl's limits." — the heading of the configuration's docs

use ex08_web_crawler::*;
use pretty_assertions::assert_eq;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::{Gauge, Probe, ms, now, secs};
use tokio::time::sleep;

// The learner's `==` is trusted only where it is derived (testkit::derived_eq!).
testkit::derived_eq! {
    CrawlError = CrawlError::TimedOut,
    CrawlConfig = CrawlConfig {
        max_concurrent: 0,
        max_depth: 0,
        per_host_delay: Duration::ZERO,
        fetch_timeout: Duration::ZERO,
    },
}

type Fetched = Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send>>;

/// A web site: each page's fetch time and its links (or the error its fetch returns).
#[derive(Default)]
struct Site {
    pages: HashMap<String, (u64, Result<Vec<String>, String>)>,
}

impl Site {
    fn new() -> Self {
        Self::default()
    }

    /// A page that takes `took` ms to fetch and links to `links`.
    fn page(mut self, url: &str, took: u64, links: &[&str]) -> Self {
        let links = links.iter().map(|l| l.to_string()).collect();
        self.pages.insert(url.to_owned(), (took, Ok(links)));
        self
    }

    /// A page whose fetch fails with `error` after `took` ms.
    fn broken(mut self, url: &str, took: u64, error: &str) -> Self {
        self.pages
            .insert(url.to_owned(), (took, Err(error.to_owned())));
        self
    }

    /// The fetcher to hand to `crawl`, and what it records. An unknown page fails with "404"
    /// after 1 ms.
    fn serve(self) -> (impl Fn(String) -> Fetched + Send + Sync + 'static, Record) {
        let record = Record::default();
        let pages = Arc::new(self.pages);
        let seen = record.clone();
        let fetch = move |url: String| -> Fetched {
            let (took, result) = pages
                .get(&url)
                .cloned()
                .unwrap_or((1, Err("404".to_owned())));
            let record = seen.clone();
            Box::pin(async move {
                let probe = record.started(&url);
                let _running = record.gauge.enter();
                probe.wrap(sleep(ms(took))).await;
                result
            })
        };
        (fetch, record)
    }
}

/// What the mock site saw: when each fetch started, how many ran at once, and a probe per fetch.
#[derive(Clone, Default)]
struct Record {
    starts: Arc<Mutex<Vec<(u64, String)>>>,
    probes: Arc<Mutex<HashMap<String, Probe>>>,
    gauge: Gauge,
}

impl Record {
    fn started(&self, url: &str) -> Probe {
        self.starts
            .lock()
            .unwrap()
            .push((now().as_millis() as u64, url.to_owned()));
        let probe = Probe::new(format!("the fetch of {url}"));
        self.probes
            .lock()
            .unwrap()
            .insert(url.to_owned(), probe.clone());
        probe
    }

    /// Every fetch start as (ms, url), by time (and by URL among fetches started together).
    fn starts(&self) -> Vec<(u64, String)> {
        let mut starts = self.starts.lock().unwrap().clone();
        starts.sort();
        starts
    }

    /// How many times each URL was fetched.
    fn fetch_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (_, url) in self.starts.lock().unwrap().iter() {
            *counts.entry(url.clone()).or_default() += 1;
        }
        counts
    }

    fn probe(&self, url: &str) -> Probe {
        self.probes.lock().unwrap()[url].clone()
    }
}

fn config(max_concurrent: usize, max_depth: usize) -> CrawlConfig {
    CrawlConfig {
        max_concurrent,
        max_depth,
        per_host_delay: Duration::ZERO,
        fetch_timeout: secs(10),
    }
}

fn pages(list: &[(&str, usize)]) -> BTreeMap<String, usize> {
    list.iter().map(|(u, d)| (u.to_string(), *d)).collect()
}

fn failed(list: &[(&str, CrawlError)]) -> BTreeMap<String, CrawlError> {
    list.iter()
        .map(|(u, e)| (u.to_string(), e.clone()))
        .collect()
}

fn starts(list: &[(u64, &str)]) -> Vec<(u64, String)> {
    list.iter().map(|(t, u)| (*t, u.to_string())).collect()
}

// ---- the URL helper ------------------------------------------------------------------------

/// contract: "The host of an `http://` or `https://` URL: what lies between `://` and the next `/`"
/// contract: "`None` for anything else."
#[test]
fn host_of_reads_the_host_of_http_and_https_urls() {
    testkit::run(|| async {
        assert_eq!(
            host_of("http://a.example/x/y"),
            Some("a.example"),
            "the host of an http URL is what lies between :// and the next /"
        );
        assert_eq!(
            host_of("https://b.example"),
            Some("b.example"),
            "the host of an https URL with no path is everything after ://"
        );
        assert_eq!(
            host_of("http://c.example/"),
            Some("c.example"),
            "the host of a URL whose path is a bare / is what comes before that /"
        );
        assert_eq!(host_of("mailto:someone@example.org"), None, "not http(s)");
        assert_eq!(host_of("http:///no-host"), None, "an empty host is no host");
    });
}

/// contract: "Only a `/` ends the host: `?` and `#` are part of it"
/// contract: "The scheme is matched exactly, in lower case"
/// contract: "`None` for anything else."
#[test]
fn host_of_ends_the_host_only_at_a_slash_and_knows_no_other_scheme() {
    testkit::run(|| async {
        for (url, host) in [
            ("http://a.example?q", "a.example?q"),
            ("http://a.example#top", "a.example#top"),
            ("https://a.example?q=/x", "a.example?q="),
            ("http://a.example:8080/x", "a.example:8080"),
        ] {
            assert_eq!(
                host_of(url),
                Some(host),
                "host_of({url:?}): only a `/` ends the host — `?`, `#` and `:` are part of it"
            );
        }
        for url in [
            "ftp://a.example/x",
            "file:///etc/passwd",
            "ws://a.example/",
            "httpx://a.example/",
            "HTTP://a.example/",
            "Https://a.example/",
            "a.example/x",
            "//a.example/x",
            "http:/a.example/x",
            "https:",
            "",
        ] {
            assert_eq!(
                host_of(url),
                None,
                "host_of({url:?}): only URLs starting with `http://` or `https://` (lower case, \
                 exactly) have a host; any other scheme, or none, is None"
            );
        }
    });
}

// ---- what is crawled -----------------------------------------------------------------------

/// contract: "URLs are compared as strings, exactly."
#[test]
fn urls_that_differ_in_any_character_are_different_pages() {
    testkit::run(|| async {
        let links = [
            "http://a/x",
            "http://a/x/",
            "http://A/x",
            "http://a/x#top",
            "http://a/x",
        ];
        let (fetch, record) = Site::new()
            .page("http://a/", 10, &links)
            .page("http://a/x", 10, &[])
            .page("http://a/x/", 10, &[])
            .page("http://A/x", 10, &[])
            .page("http://a/x#top", 10, &[])
            .serve();
        let report = crawl("http://a/", fetch, config(4, 5)).await;
        assert_eq!(
            record.fetch_counts().into_keys().collect::<Vec<_>>(),
            [
                "http://A/x",
                "http://a/",
                "http://a/x",
                "http://a/x#top",
                "http://a/x/"
            ],
            "URLs are compared as strings, exactly: a trailing slash, a capital letter or a \
             fragment makes another page (no normalising), and the repeated http://a/x is the \
             same page, fetched once"
        );
        assert_eq!(
            report.pages.len(),
            5,
            "the start page and the four distinct URLs it links to must all be reported"
        );
    });
}

/// contract: "`max_concurrent` must be at least 1 (a zero panics)."
/// contract: "The most fetches in flight at once."
#[test]
fn a_max_concurrent_of_zero_panics_and_of_one_fetches_one_page_at_a_time() {
    testkit::run(|| async {
        let (fetch, _) = Site::new().page("http://a/", 10, &[]).serve();
        let zero = testkit::spawn(crawl("http://a/", fetch, config(0, 5))).await;
        match zero {
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("");
                if message.starts_with("not implemented") {
                    std::panic::resume_unwind(payload);
                }
            }
            _ => panic!(
                "crawl with max_concurrent = 0 must panic (the docs: \"a zero panics\"): no \
                 fetch could ever start, and a crawl that returns an empty report instead hides \
                 the mistake"
            ),
        }
        let (fetch, record) = Site::new()
            .page("http://a/", 10, &["http://b/", "http://c/"])
            .page("http://b/", 20, &[])
            .page("http://c/", 30, &[])
            .serve();
        crawl("http://a/", fetch, config(1, 5)).await;
        assert_eq!(
            record.starts(),
            starts(&[(0, "http://a/"), (10, "http://b/"), (30, "http://c/")]),
            "with max_concurrent = 1, one fetch at a time: each starts the moment the one before \
             it ends"
        );
    });
}

/// contract: "Crawls from `start`: fetches it, then every page it links to, and so on, and reports what became of every page"
/// contract: "`fetch(url)` returns the links found on the page, or an error message."
/// contract: "The start page has depth 0, a page it links to depth 1, and so on"
/// contract: "What became of every page the crawl decided to fetch."
/// contract: "Every page fetched successfully, with its depth: the number of links followed from the start page (depth 0) to the page"
#[test]
fn every_page_reachable_from_the_start_is_crawled_with_its_depth() {
    testkit::run(|| async {
        let (fetch, _) = Site::new()
            .page("http://a/", 10, &["http://a/x", "http://b/"])
            .page("http://a/x", 10, &[])
            .page("http://b/", 10, &["http://b/y"])
            .page("http://b/y", 10, &[])
            .serve();
        let report = crawl("http://a/", fetch, config(4, 5)).await;
        assert_eq!(
            report.pages,
            pages(&[
                ("http://a/", 0),
                ("http://a/x", 1),
                ("http://b/", 1),
                ("http://b/y", 2)
            ]),
            "every page reachable from the start, each with its depth (links followed from it)"
        );
        assert_eq!(
            report.failed,
            BTreeMap::new(),
            "all four pages fetch successfully within the limit: `failed` must stay empty (BadUrl \
             here means host_of rejected a good http URL; Fetch(\"404\") means a URL that is not \
             one of the site's pages was fetched)"
        );
    });
}

/// contract: "Every URL is fetched at most once, however many pages link to it (cycles included)."
#[test]
fn each_page_is_fetched_once_however_many_links_lead_to_it() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://a/", 10, &["http://b/", "http://c/", "http://a/"])
            .page("http://b/", 10, &["http://a/", "http://c/"])
            .page("http://c/", 10, &["http://b/", "http://c/"])
            .serve();
        let report = crawl("http://a/", fetch, config(4, 10)).await;
        assert_eq!(
            record.fetch_counts(),
            [("http://a/", 1), ("http://b/", 1), ("http://c/", 1)]
                .into_iter()
                .map(|(u, n)| (u.to_owned(), n))
                .collect::<BTreeMap<_, _>>(),
            "pages link to each other (and to themselves): every URL must be fetched exactly once"
        );
        assert_eq!(
            report.pages,
            pages(&[("http://a/", 0), ("http://b/", 1), ("http://c/", 1)]),
            "a, b and c must each be reported once, with the depth at which they were first found \
             (b and c are linked from a: depth 1)"
        );
    });
}

/// contract: "at depth `max_depth` are not followed"
/// contract: "Links are followed this many hops from the start page (depth 0)"
#[test]
fn links_beyond_max_depth_are_not_followed() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://a/", 10, &["http://b/"])
            .page("http://b/", 10, &["http://c/"])
            .page("http://c/", 10, &["http://d/"])
            .page("http://d/", 10, &[])
            .serve();
        let report = crawl("http://a/", fetch, config(4, 2)).await;
        assert_eq!(
            report.pages,
            pages(&[("http://a/", 0), ("http://b/", 1), ("http://c/", 2)]),
            "with max_depth 2, c (depth 2) must be fetched, but the links on it not followed"
        );
        assert!(
            !record.fetch_counts().contains_key("http://d/"),
            "http://d/ (depth 3) was fetched: links on a page at depth max_depth are not followed"
        );
    });
}

/// contract: "at depth `max_depth` are not followed"
#[test]
fn a_max_depth_of_zero_fetches_only_the_start_page() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://a/", 10, &["http://b/"])
            .page("http://b/", 10, &[])
            .serve();
        let report = crawl("http://a/", fetch, config(4, 0)).await;
        assert_eq!(
            report.pages,
            pages(&[("http://a/", 0)]),
            "with max_depth 0 only the start page is crawled: links on a page at depth max_depth \
             are not followed"
        );
        assert_eq!(
            record.fetch_counts().len(),
            1,
            "only the start page may be fetched"
        );
    });
}

// ---- concurrency ---------------------------------------------------------------------------

/// contract: "Up to `max_concurrent` fetches run at once"
/// contract: "The most fetches in flight at once."
#[test]
fn fetches_overlap_up_to_max_concurrent_and_never_beyond() {
    testkit::run(|| async {
        let links = [
            "http://h1/",
            "http://h2/",
            "http://h3/",
            "http://h4/",
            "http://h5/",
            "http://h6/",
        ];
        let mut site = Site::new().page("http://start/", 10, &links);
        for link in links {
            site = site.page(link, 100, &[]);
        }
        let (fetch, record) = site.serve();
        let report = crawl("http://start/", fetch, config(3, 1)).await;
        assert_eq!(
            report.pages.len(),
            7,
            "the start page and the 6 pages it links to must all be reported in `pages`"
        );
        assert_eq!(
            record.gauge.peak(),
            3,
            "at most 3 fetches may run at once, and with 6 pages waiting all 3 slots must be used"
        );
        assert_eq!(
            now(),
            ms(210),
            "6 pages of 100ms, 3 at a time, after the 10ms start page: the crawl must end at \
             210ms (fetching them one at a time ends at 610ms)"
        );
    });
}

/// contract: "a finished fetch frees its slot at once"
#[test]
fn a_finished_fetch_frees_its_slot_at_once() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page(
                "http://s/",
                10,
                &["http://a/", "http://b/", "http://c/", "http://d/"],
            )
            .page("http://a/", 100, &[])
            .page("http://b/", 300, &[])
            .page("http://c/", 100, &[])
            .page("http://d/", 100, &[])
            .serve();
        crawl("http://s/", fetch, config(2, 1)).await;
        assert_eq!(
            record.starts(),
            starts(&[
                (0, "http://s/"),
                (10, "http://a/"),
                (10, "http://b/"),
                (110, "http://c/"),
                (210, "http://d/"),
            ]),
            "2 slots: a and b start at 10ms; when a ends (110ms) c takes its slot at once, and d \
             when c ends — not when the slow b ends (no waiting for a whole group to finish)"
        );
        assert_eq!(
            now(),
            ms(310),
            "the crawl ends when its last fetch (b) ends"
        );
    });
}

/// contract: "Pages are fetched in the order they were found: a page's links in their order on the page"
#[test]
fn pages_are_fetched_in_the_order_they_were_found() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://s/", 10, &["http://c/", "http://a/"])
            .page("http://c/", 100, &["http://c2/"])
            .page("http://a/", 100, &["http://a2/"])
            .page("http://c2/", 100, &[])
            .page("http://a2/", 100, &[])
            .serve();
        crawl("http://s/", fetch, config(1, 2)).await;
        assert_eq!(
            record.starts(),
            starts(&[
                (0, "http://s/"),
                (10, "http://c/"),
                (110, "http://a/"),
                (210, "http://c2/"),
                (310, "http://a2/"),
            ]),
            "one at a time, pages go in the order they were found: a page's links in their order \
             (c before a), then the links found on c (c2) before those found later on a (a2)"
        );
    });
}

// ---- politeness ----------------------------------------------------------------------------

/// contract: "Two fetches of the same host start at least `per_host_delay` apart."
/// contract: "Two fetches of the same host start at least this long apart (politeness)."
#[test]
fn fetches_of_one_host_start_at_least_the_delay_apart() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://x/", 10, &["http://x/1", "http://x/2", "http://y/1"])
            .page("http://x/1", 10, &[])
            .page("http://x/2", 10, &[])
            .page("http://y/1", 10, &[])
            .serve();
        let config = CrawlConfig {
            per_host_delay: ms(250),
            ..config(4, 1)
        };
        crawl("http://x/", fetch, config).await;
        assert_eq!(
            record.starts(),
            starts(&[
                (0, "http://x/"),
                (10, "http://y/1"),
                (250, "http://x/1"),
                (500, "http://x/2"),
            ]),
            "host x is fetched at most once per 250ms, counted from the start of its previous \
             fetch (0, 250, 500ms), while host y is not held up (10ms)"
        );
        assert_eq!(
            now(),
            ms(510),
            "the crawl ended at t={:?}, expected t=510ms: it must return as soon as its last \
             fetch (x/2, started at 500ms, 10ms long) ends",
            now()
        );
    });
}

/// contract: "A page waiting for its host's turn takes no slot and does not hold up pages of other hosts found after it."
#[test]
fn a_page_waiting_for_its_host_takes_no_slot() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://s/", 10, &["http://x/1", "http://x/2", "http://y/1"])
            .page("http://x/1", 10, &[])
            .page("http://x/2", 10, &[])
            .page("http://y/1", 10, &[])
            .serve();
        let config = CrawlConfig {
            per_host_delay: ms(100),
            ..config(1, 1)
        };
        crawl("http://s/", fetch, config).await;
        assert_eq!(
            record.starts(),
            starts(&[
                (0, "http://s/"),
                (10, "http://x/1"),
                (20, "http://y/1"),
                (110, "http://x/2"),
            ]),
            "one slot: x/2 must wait for host x until 110ms, and while it waits the slot goes to \
             y/1 (found after it) at 20ms — a page waiting for its host must not hold a slot"
        );
    });
}

/// contract: "Two fetches of the same host start at least `per_host_delay` apart."
#[test]
fn a_host_turn_counts_from_when_its_fetch_really_starts() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://s/", 10, &["http://y/1", "http://x/1", "http://x/2"])
            .page("http://y/1", 300, &[])
            .page("http://x/1", 10, &[])
            .page("http://x/2", 10, &[])
            .serve();
        let config = CrawlConfig {
            per_host_delay: ms(100),
            ..config(1, 1)
        };
        crawl("http://s/", fetch, config).await;
        assert_eq!(
            record.starts(),
            starts(&[
                (0, "http://s/"),
                (10, "http://y/1"),
                (310, "http://x/1"),
                (410, "http://x/2"),
            ]),
            "one slot, held by y/1 until 310ms: x/1 starts then, so x/2 may not start before \
             410ms — a host's turn counts from when its fetch really started, not from when \
             the page was found or scheduled"
        );
    });
}

/// contract: "A fetch still running this long after it started is cancelled and reported as [`CrawlError::TimedOut`]."
#[test]
fn the_time_limit_counts_only_the_fetch_itself() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://s/", 10, &["http://a/", "http://b/"])
            .page("http://a/", 100, &[])
            .page("http://b/", 100, &[])
            .serve();
        let config = CrawlConfig {
            fetch_timeout: ms(150),
            ..config(1, 1)
        };
        let report = crawl("http://s/", fetch, config).await;
        assert_eq!(
            report.failed,
            BTreeMap::new(),
            "b waits for the one slot from 10ms to 110ms, then takes 100ms: with a 150ms limit it \
             must not time out — the limit counts from the start of the fetch, not from when \
             the page was found or queued"
        );
        assert_eq!(
            report.pages,
            pages(&[("http://s/", 0), ("http://a/", 1), ("http://b/", 1)]),
            "s, a and b all fetch successfully within the limit: each must be reported with its \
             depth"
        );
        assert_eq!(
            record.starts(),
            starts(&[(0, "http://s/"), (10, "http://a/"), (110, "http://b/")]),
            "fetch starts as (ms, url): with one slot, a must start when s ends (10ms) and b \
             the moment a ends (110ms)"
        );
    });
}

/// contract: "a fetch starts the moment a slot and its host allow it"
#[test]
fn a_page_whose_host_is_ready_waits_quietly_for_a_slot() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://s/", 10, &["http://x/1", "http://x/2"])
            .page("http://x/1", 100, &[])
            .page("http://x/2", 100, &[])
            .serve();
        let config = CrawlConfig {
            per_host_delay: ms(50),
            ..config(1, 1)
        };
        crawl("http://s/", fetch, config).await;
        assert_eq!(
            record.starts(),
            starts(&[(0, "http://s/"), (10, "http://x/1"), (110, "http://x/2")]),
            "one slot: x/2's host turn comes at 60ms but the slot is busy until 110ms — it waits \
             for the slot (without spinning: waiting for a host's turn only makes sense while a \
             slot is free)"
        );
    });
}

// ---- failures ------------------------------------------------------------------------------

/// contract: "A fetch error is recorded as [`CrawlError::Fetch`]"
/// contract: "The crawl goes on either way."
/// contract: "The fetcher returned this error."
/// contract: "Every page that could not be fetched, and why."
/// contract: "Why a page is missing from [`CrawlReport::pages`]."
#[test]
fn a_failed_fetch_is_reported_and_the_crawl_goes_on() {
    testkit::run(|| async {
        let (fetch, _) = Site::new()
            .page(
                "http://s/",
                10,
                &["http://bad/", "http://ok/", "http://gone/"],
            )
            .broken("http://bad/", 10, "500 internal server error")
            .page("http://ok/", 10, &["http://ok/2"])
            .page("http://ok/2", 10, &[])
            .serve();
        let report = crawl("http://s/", fetch, config(2, 3)).await;
        assert_eq!(
            report.failed,
            failed(&[
                (
                    "http://bad/",
                    CrawlError::Fetch("500 internal server error".to_owned())
                ),
                ("http://gone/", CrawlError::Fetch("404".to_owned()))
            ]),
            "every failed fetch is reported with the fetcher's error"
        );
        assert_eq!(
            report.pages,
            pages(&[("http://s/", 0), ("http://ok/", 1), ("http://ok/2", 2)]),
            "a failed page must not stop the crawl of the others"
        );
    });
}

/// contract: "a fetch that runs longer than `fetch_timeout` is cancelled (its future dropped) at that instant and recorded as [`CrawlError::TimedOut`]"
/// contract: "The fetch took longer than `fetch_timeout` and was cancelled."
#[test]
fn a_slow_fetch_is_cancelled_at_exactly_the_timeout() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page("http://s/", 10, &["http://slow/", "http://fast/"])
            .page("http://slow/", 10_000, &["http://never/"])
            .page("http://fast/", 100, &[])
            .serve();
        let config = CrawlConfig {
            fetch_timeout: ms(1000),
            ..config(4, 3)
        };
        let report = crawl("http://s/", fetch, config).await;
        assert_eq!(
            report.failed,
            failed(&[("http://slow/", CrawlError::TimedOut)]),
            "a fetch running past fetch_timeout must be reported as CrawlError::TimedOut"
        );
        assert_eq!(
            report.pages,
            pages(&[("http://s/", 0), ("http://fast/", 1)]),
            "s and fast are fetched successfully; slow timed out, so neither it nor the page it \
             links to (never) may appear in `pages`"
        );
        let probe = record.probe("http://slow/");
        assert_eq!(
            probe.cancelled_at(),
            Some(ms(1010)),
            "{}: a fetch started at 10ms with a 1000ms limit must be cancelled (its future \
             dropped) at exactly 1010ms",
            probe.describe()
        );
        assert_eq!(
            now(),
            ms(1010),
            "the crawl ends when the timed-out fetch is given up"
        );
    });
}

/// contract: "a URL without a host ([`host_of`](crate::host_of)) is recorded as [`CrawlError::BadUrl`] and never fetched"
/// contract: "The URL has no host the crawler understands (see [`host_of`](crate::host_of)); it was never fetched."
#[test]
fn a_url_without_a_host_is_reported_and_never_fetched() {
    testkit::run(|| async {
        let (fetch, record) = Site::new()
            .page(
                "http://s/",
                10,
                &[
                    "mailto:someone@example.org",
                    "http:///nowhere",
                    "ftp://s/file",
                ],
            )
            .serve();
        let report = crawl("http://s/", fetch, config(2, 3)).await;
        assert_eq!(
            report.failed,
            failed(&[
                ("ftp://s/file", CrawlError::BadUrl),
                ("http:///nowhere", CrawlError::BadUrl),
                ("mailto:someone@example.org", CrawlError::BadUrl)
            ]),
            "a URL without a host — an empty one, or a scheme other than http:// and https:// — \
             must be reported as CrawlError::BadUrl (and never fetched)"
        );
        assert_eq!(
            record.fetch_counts().len(),
            1,
            "a URL without a host must never be handed to the fetcher"
        );
    });
}

/// contract: "`crawl` returns as soon as no fetch is in flight and none is waiting, and leaves no task behind."
#[test]
fn a_failing_start_page_ends_the_crawl_at_once() {
    testkit::run(|| async {
        let (fetch, _) = Site::new()
            .broken("http://s/", 20, "connection refused")
            .serve();
        let report = crawl("http://s/", fetch, config(2, 3)).await;
        assert_eq!(
            report.pages,
            BTreeMap::new(),
            "the start page fails: no page was fetched successfully, so `pages` must be empty"
        );
        assert_eq!(
            report.failed,
            failed(&[(
                "http://s/",
                CrawlError::Fetch("connection refused".to_owned())
            )]),
            "the failed start page must be reported in `failed` with the fetcher's error, as \
             CrawlError::Fetch"
        );
        assert_eq!(
            now(),
            ms(20),
            "nothing left to do: the crawl ends with the failed fetch"
        );
    });
}

// ---- instructor only: tests against the reference
//
// Differential tests. With one slot (`max_concurrent = 1`) a crawl has no ties: one fetch runs at
// a time, so "the order their fetches finished" is the order they started, and the docs fix every
// instant — which page goes next (the first found whose host allows it), when (the moment the
// slot and its host allow it), when a slow fetch is cancelled (exactly `fetch_timeout` after it
// started; one that finishes exactly then has not run *longer*), the depths, the report, and when
// `crawl` returns. So these checks generate small sites (repeated links, cycles, links to the
// page itself, URLs without a host, failing pages, fetch times on and around the timeout, hosts
// shared between pages) and compare everything with the reference.

use ex08_web_crawler_reference as reference;
use testkit::Timeline;
use testkit::differential::proptest::prelude::*;
use testkit::differential::{Check, same_events};

/// One generated page: its fetch time, whether it fails, and its links (indices of other pages;
/// `None` is a URL without a host).
#[derive(Clone, Debug)]
struct GenPage {
    took: u64,
    fails: bool,
    links: Vec<Option<usize>>,
}

/// A generated site and crawl configuration.
#[derive(Clone, Debug)]
struct GenCrawl {
    pages: Vec<GenPage>,
    /// The host of page `i` is `hosts[i]` (one of three).
    hosts: Vec<u8>,
    max_depth: usize,
    per_host_delay: u64,
    fetch_timeout: u64,
}

fn gen_url(crawl: &GenCrawl, link: Option<usize>) -> String {
    match link {
        Some(i) => format!("http://{}.example/{i}", (b'a' + crawl.hosts[i]) as char),
        None => "mailto:someone@example.com".to_owned(),
    }
}

fn gen_crawls() -> impl Strategy<Value = GenCrawl> {
    (1usize..=6, prop_oneof![Just(30u64), Just(100)]).prop_flat_map(|(n, timeout)| {
        let took = prop_oneof![
            Just(timeout),
            Just(timeout - 1),
            Just(timeout + 1),
            Just(timeout / 2),
            Just(1u64),
            1..=2 * timeout,
        ];
        let link = prop_oneof![4 => (0..n).prop_map(Some), 1 => Just(None)];
        let page = (
            took,
            prop::bool::weighted(0.2),
            prop::collection::vec(link, 0..4),
        )
            .prop_map(|(took, fails, links)| GenPage { took, fails, links });
        (
            prop::collection::vec(page, n),
            prop::collection::vec(0u8..3, n),
            0usize..=3,
            prop_oneof![Just(0u64), Just(10), Just(timeout), Just(2 * timeout)],
            Just(timeout),
        )
            .prop_map(|(pages, hosts, max_depth, per_host_delay, fetch_timeout)| {
                GenCrawl {
                    pages,
                    hosts,
                    max_depth,
                    per_host_delay,
                    fetch_timeout,
                }
            })
    })
}

/// Replays a generated crawl with the crate `$krate`: when each fetch started and ended (or was
/// cancelled), what the report says, and when `crawl` returned.
macro_rules! replay_crawl {
    ($krate:ident) => {
        |g: GenCrawl| -> Pin<Box<dyn Future<Output = Vec<(u64, String)>>>> {
            Box::pin(async move {
                let events = Timeline::new();
                let mut site = HashMap::new();
                for (i, page) in g.pages.iter().enumerate() {
                    let links: Vec<String> = page.links.iter().map(|l| gen_url(&g, *l)).collect();
                    let result = if page.fails {
                        Err(format!("error {i}"))
                    } else {
                        Ok(links)
                    };
                    site.insert(gen_url(&g, Some(i)), (page.took, result));
                }
                let site = Arc::new(site);
                let seen = events.clone();
                let fetch = move |url: String| -> Fetched {
                    let (site, events) = (site.clone(), seen.clone());
                    Box::pin(async move {
                        let (took, result) = site
                            .get(&url)
                            .cloned()
                            .unwrap_or((1, Err("404".to_owned())));
                        events.record(format!("fetch {url} starts"));
                        let probe = Probe::new(url.clone());
                        let _watch = FetchWatch(events.clone(), url.clone(), probe.clone());
                        probe.wrap(sleep(ms(took))).await;
                        events.record(format!("fetch {url} ends"));
                        result
                    })
                };
                let config = $krate::CrawlConfig {
                    max_concurrent: 1,
                    max_depth: g.max_depth,
                    per_host_delay: ms(g.per_host_delay),
                    fetch_timeout: ms(g.fetch_timeout),
                };
                let report = $krate::crawl(&gen_url(&g, Some(0)), fetch, config).await;
                events.record("crawl returns");
                for (url, depth) in &report.pages {
                    events.record(format!("report: {url} fetched at depth {depth}"));
                }
                for (url, error) in &report.failed {
                    // Debug of the crate's own enum: the same text for both crates.
                    events.record(format!("report: {url} failed: {error:?}"));
                }
                events.millis()
            })
        }
    };
}

/// Logs "fetch … cancelled" when a fetch's future is dropped before it finished.
struct FetchWatch(Timeline, String, Probe);

impl Drop for FetchWatch {
    fn drop(&mut self) {
        if self.2.completed_at().is_none() {
            self.0.record(format!("fetch {} cancelled", self.1));
        }
    }
}

/// contract: "Every URL is fetched at most once, however many pages link to it (cycles included)."
/// contract: "A page's depth is the one it had when it was first found."
/// contract: "along the path by which it was first found"
/// contract: "Pages are fetched in the order they were found: a page's links in their order on the page, pages in the order their fetches finished."
/// contract: "a fetch starts the moment a slot and its host allow it"
/// contract: "A page waiting for its host's turn takes no slot and does not hold up pages of other hosts found after it."
/// contract: "a fetch that runs longer than `fetch_timeout` is cancelled (its future dropped) at that instant"
/// contract: "`crawl` returns as soon as no fetch is in flight and none is waiting"
#[test]
fn a_crawl_with_one_slot_matches_the_reference_on_generated_sites() {
    Check::new("a_crawl_with_one_slot_matches_the_reference_on_generated_sites")
        .cases(160)
        .run(
            gen_crawls(),
            replay_crawl!(ex08_web_crawler),
            replay_crawl!(reference),
            |_, reference, yours| {
                same_events(
                    "which page was fetched when, what was cancelled, when crawl returned and \
                     what it reported",
                    reference,
                    yours,
                )
            },
        );
}
