//! # Exercise 08 — a concurrent, polite web crawler (reference solution)
//!
//! [`crawl`] starts from one page, follows the links it finds, and fetches each page once — many
//! at a time, but never more than `max_concurrent`, never two pages of one host closer together
//! than `per_host_delay`, and never a fetch longer than `fetch_timeout`. The fetcher is a
//! closure, so the tests can play a whole web site on the paused clock.
//!
//! The reference is one loop in one task (`crawler.rs`): a queue of pages to fetch, a
//! `FuturesUnordered` of fetches in flight, and a `select!` between "a fetch finished" and "a
//! host's turn came". No task is spawned, so nothing can outlive the crawl: returning drops
//! whatever is still in flight. (Spawning each fetch with a `Semaphore` for the cap is a correct
//! design too; the politeness rule is what makes a single scheduler the simpler one.)

mod crawler;
mod report;
mod url;

pub use crawler::{CrawlConfig, crawl};
pub use report::{CrawlError, CrawlReport};
pub use url::host_of;
