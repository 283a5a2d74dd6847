//! # Exercise 03 — a rate-limited API client
//!
//! Build [`RateLimitedClient`]: a client that wraps an [`Api`] and keeps three promises to the
//! server.
//!
//! 1. **A rate.** A token bucket: it holds at most [`Config::burst`] tokens, starts full, and
//!    gains one token every [`Config::refill_every`]. Every attempt sent to the server (retries
//!    too) takes one token. The bucket is shared by every clone of the client and every caller,
//!    and waiting requests are served first come, first served.
//! 2. **A concurrency cap.** At most [`Config::max_in_flight`] attempts are outstanding at the
//!    server at once.
//! 3. **Patience.** Each attempt gets [`Config::timeout`]; transient failures are retried with
//!    capped exponential backoff that honours the server's `retry_after` hint.
//!
//! Everything below is the contract: the hidden tests check exactly what these docs say, on
//! tokio's paused clock, to the millisecond. Replace every `todo!()` with your implementation;
//! you may add private fields, types and functions freely, but keep the public API as it is.
//!
//! Run the tests with `cargo test -p ex03_rate_limited_client`.

// Until you write the bodies, parameters, imports and helpers are unused: delete this line once
// you start, so the compiler can point out what you forgot.
#![allow(unused_variables, unused_mut, unused_imports, dead_code)]

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The server the client talks to. The tests implement it with a scripted mock that records the
/// virtual instant of every request it sees.
pub trait Api: Send + Sync + 'static {
    /// One request to the server. Returns the body or an error.
    ///
    /// The request counts as *sent* when the returned future is first polled; dropping the
    /// future before it completes abandons the request.
    fn call(&self, id: u64) -> impl Future<Output = Result<String, ApiError>> + Send;
}

/// What the server can answer instead of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Too many requests. `retry_after` is the server's hint of how long to wait. Transient.
    RateLimited { retry_after: Option<Duration> },
    /// The server is overloaded or restarting. Transient.
    Unavailable,
    /// No such item. Permanent.
    NotFound,
    /// The request was malformed. Permanent.
    Invalid(String),
}

impl ApiError {
    /// `true` for the errors that may go away if the request is tried again later
    /// ([`ApiError::RateLimited`] and [`ApiError::Unavailable`]); `false` for the permanent ones
    /// ([`ApiError::NotFound`] and [`ApiError::Invalid`]).
    pub fn is_transient(&self) -> bool {
        todo!("say which API errors are transient")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::RateLimited {
                retry_after: Some(after),
            } => write!(f, "rate limited (retry after {after:?})"),
            ApiError::RateLimited { retry_after: None } => write!(f, "rate limited"),
            ApiError::Unavailable => write!(f, "service unavailable"),
            ApiError::NotFound => write!(f, "not found"),
            ApiError::Invalid(why) => write!(f, "invalid request: {why}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// How the client paces, caps and retries its requests. Every value of each field's type is
/// allowed, up to its maximum: `max_in_flight: usize::MAX` is no cap, a `refill_every` of
/// `Duration::MAX` never refills, and a long run of retries never overflows the doubling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Capacity of the token bucket: how many requests may be sent at once after a quiet spell.
    /// The bucket starts full when the client is created. `0` is treated as `1`.
    pub burst: u32,
    /// One token is added every `refill_every`; the bucket never holds more than `burst`.
    /// `Duration::ZERO` means "no rate limit".
    pub refill_every: Duration,
    /// At most this many attempts are outstanding at the server at once. `0` is treated as `1`.
    pub max_in_flight: usize,
    /// How long one attempt may take, measured from the instant it is sent (the wait for a slot
    /// and a token does not count).
    pub timeout: Duration,
    /// How many times a transiently failed request is tried again, so at most
    /// `max_retries + 1` attempts in all.
    pub max_retries: u32,
    /// The wait before the first retry; it doubles before every further retry…
    pub initial_backoff: Duration,
    /// …but never exceeds `max_backoff`.
    pub max_backoff: Duration,
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with an error.
    Api(ApiError),
    /// The server did not answer within the configured timeout, which is carried here
    /// (`Failure::TimedOut(config.timeout)`).
    TimedOut(Duration),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Api(e) => write!(f, "{e}"),
            Failure::TimedOut(after) => write!(f, "no answer within {after:?}"),
        }
    }
}

/// Why [`RateLimitedClient::get`] gave no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The server answered with a permanent error ([`ApiError::is_transient`] is `false`). It is
    /// returned at once, without a retry.
    Permanent(ApiError),
    /// Every attempt failed transiently. `attempts` counts them all, the first one included (so
    /// `max_retries + 1`); `last` is the failure of the last one.
    GaveUp { attempts: u32, last: Failure },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Permanent(e) => write!(f, "the server refused the request: {e}"),
            ClientError::GaveUp { attempts, last } => {
                write!(
                    f,
                    "gave up after {attempts} attempt(s); the last one: {last}"
                )
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// A client that paces, caps and retries its requests to an [`Api`].
///
/// # Sharing
///
/// Cloning is cheap, and **every clone shares the same api, the same token bucket and the same
/// in-flight limit**: the limits protect the server, so they must hold however many clones and
/// tasks the callers make. The futures returned by [`get`](Self::get) and
/// [`get_many`](Self::get_many) are `Send`, so callers can `tokio::spawn` them. If you spawn a
/// background task (to refill the bucket, say), it must end when the last clone is dropped: the
/// tests fail when a task is still alive after they finish.
///
/// # One attempt
///
/// Every attempt (the first one and each retry) goes through these steps, in this order:
///
/// 1. **Wait for an in-flight slot.** At most [`Config::max_in_flight`] attempts are outstanding
///    at the server at once, counting every clone and caller. The slot is taken *before* the
///    token: a request must not hold a token while it queues for a slot (tokens saved up that
///    way would let requests reach the server in a bunch, faster than the rate, when several
///    slots free up at once).
/// 2. **Wait for a token.** The bucket holds at most [`Config::burst`] tokens and is full when
///    the client is created; one token is added every [`Config::refill_every`], and tokens
///    beyond `burst` are not kept. Waiting requests are served **in FIFO order**: a request that
///    started waiting earlier is sent no later than one that started waiting later. No request
///    waits longer than the bucket requires: requests issued together on a fresh client go out
///    `burst` at once, then one every `refill_every`. So in any window of length `W` (a
///    multiple of `refill_every`) the server sees at most `burst + W / refill_every` requests.
/// 3. **Send** — call [`Api::call`] at the instant the token is taken — and give the attempt
///    [`Config::timeout`]. An attempt that takes longer is dropped at exactly that instant
///    (abandoning the request) and fails with [`Failure::TimedOut`]`(config.timeout)`; one that
///    answers at exactly `timeout` is in time.
/// 4. **Release the slot** as soon as the attempt has an outcome. No slot is held while backing
///    off before a retry.
///
/// All waiting is done on tokio's clock (`tokio::time`), never `std::time::Instant` or
/// `std::thread::sleep`: the tests pause that clock and check every instant exactly.
///
/// # Retries
///
/// [`ApiError::RateLimited`], [`ApiError::Unavailable`] and timeouts are transient: the request
/// is tried again, up to [`Config::max_retries`] times. The wait before retry `n` (`n = 1, 2,
/// …`) is `min(initial_backoff × 2^(n-1), max_backoff)`, but never less than the server's
/// `retry_after` hint when the failed attempt carried one: `max(backoff, retry_after)`. With
/// `initial_backoff = 100ms` and no hints, attempts are sent at `t = 0, 100, 300, 700ms`, … (if
/// slots and tokens are free). A retry waits for a slot and a token like any other request.
///
/// [`ApiError::NotFound`] and [`ApiError::Invalid`] are permanent: `get` returns
/// [`ClientError::Permanent`] at once, with no retry. When the retries run out, `get` returns
/// [`ClientError::GaveUp`] with the number of attempts and the last failure.
pub struct RateLimitedClient<A> {
    shared: Arc<Shared<A>>,
}

/// Everything the clones of one client share.
struct Shared<A> {
    api: A,
    config: Config,
    // TODO: add the state every clone must share — the token bucket and the in-flight limit.
}

// Not `#[derive(Clone)]`: that would demand `A: Clone`, but cloning the client only clones the
// `Arc`, never the api.
impl<A> Clone for RateLimitedClient<A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<A: Api> RateLimitedClient<A> {
    /// A client for `api`, with its token bucket full right now (`burst` tokens) and no attempt
    /// in flight.
    pub fn new(api: A, config: Config) -> Self {
        todo!("create the client: the api, the config, a full token bucket and an in-flight limit")
    }

    /// Fetches item `id`.
    ///
    /// Returns the body from the first successful attempt; [`ClientError::Permanent`] as soon as
    /// the server answers with a permanent error; [`ClientError::GaveUp`] when `max_retries`
    /// retries have failed transiently too. See the type's docs for how each attempt is paced,
    /// capped, timed out and retried.
    ///
    /// Dropping the returned future (a caller's own timeout, say) cancels the request at that
    /// instant: one waiting for a slot or a token leaves the queue without taking a token, an
    /// attempt in flight is abandoned and its slot freed, and nothing more is sent for it.
    pub async fn get(&self, id: u64) -> Result<String, ClientError> {
        todo!("get one item: slot, token, send with a timeout, retry transient failures")
    }

    /// Fetches every id in `ids`, with at most `concurrency` of these fetches in progress at
    /// once (the client's own limits still apply on top), and returns one result per id **in
    /// the order of `ids`**: errors are kept in their place, nothing is lost or duplicated.
    /// An id listed twice is fetched twice, with a result in each of its places. `concurrency`
    /// of `0` is treated as `1`. An empty `ids` gives an empty `Vec`.
    pub async fn get_many(
        &self,
        ids: &[u64],
        concurrency: usize,
    ) -> Vec<Result<String, ClientError>> {
        todo!("get many items concurrently (at most `concurrency` at once), results in input order")
    }
}
