//! The Week-10 book, compiled: every page under `src/` is included here as documentation, so
//! `cargo test -p curriculum --doc` compiles and runs every Rust snippet in the book.
//!
//! Snippets are plain Markdown code blocks. ```` ```rust ```` compiles and runs,
//! ```` ```rust,no_run ```` only compiles (it would block or needs a network),
//! ```` ```rust,compile_fail ```` must *not* compile (the page shows a mistake),
//! ```` ```rust,ignore ```` is skipped (each page says why next to it). Lines starting with `# `
//! are compiled but hidden from the reader.

#[doc = include_str!("src/introduction.md")]
pub mod introduction {}

#[doc = include_str!("src/week10.md")]
pub mod week10 {}

/// The concept pages: Days 1–4 (async/await), Days 5–7 (the tokio runtime), and patterns.
pub mod concepts {
    #[doc = include_str!("src/concepts/blocking-and-concurrency.md")]
    pub mod blocking_and_concurrency {}
    #[doc = include_str!("src/concepts/futures.md")]
    pub mod futures {}
    #[doc = include_str!("src/concepts/async-await.md")]
    pub mod async_await {}
    #[doc = include_str!("src/concepts/state-machines.md")]
    pub mod state_machines {}
    #[doc = include_str!("src/concepts/pinning.md")]
    pub mod pinning {}
    #[doc = include_str!("src/concepts/cancellation.md")]
    pub mod cancellation {}
    #[doc = include_str!("src/concepts/join-and-select.md")]
    pub mod join_and_select {}
    #[doc = include_str!("src/concepts/executors.md")]
    pub mod executors {}
    #[doc = include_str!("src/concepts/javascript.md")]
    pub mod javascript {}
    #[doc = include_str!("src/concepts/runtimes.md")]
    pub mod runtimes {}
    #[doc = include_str!("src/concepts/tasks.md")]
    pub mod tasks {}
    #[doc = include_str!("src/concepts/sync.md")]
    pub mod sync {}
    #[doc = include_str!("src/concepts/channels.md")]
    pub mod channels {}
    #[doc = include_str!("src/concepts/streams.md")]
    pub mod streams {}
    #[doc = include_str!("src/concepts/backpressure.md")]
    pub mod backpressure {}
    #[doc = include_str!("src/concepts/resources.md")]
    pub mod resources {}
    #[doc = include_str!("src/concepts/errors.md")]
    pub mod errors {}
    #[doc = include_str!("src/concepts/testing.md")]
    pub mod testing {}
    #[doc = include_str!("src/concepts/tracing.md")]
    pub mod tracing {}
    #[doc = include_str!("src/concepts/performance.md")]
    pub mod performance {}
    #[doc = include_str!("src/concepts/patterns.md")]
    pub mod patterns {}
    #[doc = include_str!("src/concepts/deadlines-and-priorities.md")]
    pub mod deadlines_and_priorities {}
}

/// The exercise chapters, written with the exercises.
pub mod exercises {
    #[doc = include_str!("src/ex00-warmup.md")]
    pub mod ex00_warmup {}
    #[doc = include_str!("src/ex01-async-files.md")]
    pub mod ex01_async_files {}
    #[doc = include_str!("src/ex02-tcp-server.md")]
    pub mod ex02_tcp_server {}
    #[doc = include_str!("src/ex03-rate-limited-client.md")]
    pub mod ex03_rate_limited_client {}
    #[doc = include_str!("src/ex04-backpressure-pipeline.md")]
    pub mod ex04_backpressure_pipeline {}
    #[doc = include_str!("src/ex05-chat-server.md")]
    pub mod ex05_chat_server {}
    #[doc = include_str!("src/ex06-timeouts.md")]
    pub mod ex06_timeouts {}
    #[doc = include_str!("src/ex07-stream-library.md")]
    pub mod ex07_stream_library {}
    #[doc = include_str!("src/ex08-web-crawler.md")]
    pub mod ex08_web_crawler {}
    #[doc = include_str!("src/ex09-notifications.md")]
    pub mod ex09_notifications {}
    #[doc = include_str!("src/ex10-http-server.md")]
    pub mod ex10_http_server {}
}
