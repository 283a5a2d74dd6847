//! # Exercise 08 — a concurrent, polite web crawler
//!
//! [`crawl`] starts from one page, follows the links it finds, and fetches each page once — many
//! at a time, but never more than `max_concurrent`, never two pages of one host closer together
//! than `per_host_delay`, and never a fetch longer than `fetch_timeout`. The fetcher is a
//! closure, so the tests can play a whole web site on the paused clock.
//!
//! 1. [`host_of`] (`url.rs`): a warm-up — the host of a URL.
//! 2. [`crawl`] (`crawler.rs`): the crawl itself. The report types (`report.rs`) are given.
//!
//! Run the tests with `cargo test -p ex08_web_crawler`. They run on tokio's paused clock and
//! check the exact instant every fetch starts. The chapter is
//! `curriculum/src/ex08-web-crawler.md`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

mod crawler;
mod report;
mod url;

pub use crawler::{CrawlConfig, crawl};
pub use report::{CrawlError, CrawlReport};
pub use url::host_of;
