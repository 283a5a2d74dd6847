//! # Exercise 03 — a rate-limited API client (reference solution)
//!
//! [`RateLimitedClient`] wraps an [`Api`] and keeps three promises to the server:
//!
//! 1. **a rate**: a token bucket (`burst` tokens, one more every `refill_every`) shared by every
//!    clone and every caller, served first come, first served;
//! 2. **a concurrency cap**: at most `max_in_flight` attempts outstanding at once;
//! 3. **patience**: each attempt gets `timeout`, transient failures are retried with capped
//!    exponential backoff that honours the server's `retry_after` hint.
//!
//! The order in which one attempt goes through them is the heart of the exercise:
//!
//! ```text
//!   in-flight slot  ──▶  token  ──▶  send (with a timeout)  ──▶  release the slot
//!        ▲                                                          │
//!        └──────────── back off, then try again (transient) ◀───────┘
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::{self, Instant};

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
        matches!(self, ApiError::RateLimited { .. } | ApiError::Unavailable)
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
    /// The rate limit. A `tokio::sync::Mutex` rather than a `std` one: its holder sleeps while
    /// waiting for the next token, and tokio's Mutex queues its waiters fairly (FIFO).
    bucket: Mutex<TokenBucket>,
    /// The concurrency limit: one permit per attempt outstanding at the server.
    in_flight: Semaphore,
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
        let bucket = full_bucket(config.burst, config.refill_every, Instant::now());
        // (A semaphore holds at most `MAX_PERMITS`; more would panic.)
        let in_flight = Semaphore::new(config.max_in_flight.clamp(1, Semaphore::MAX_PERMITS));
        Self {
            shared: Arc::new(Shared {
                api,
                config,
                bucket: Mutex::new(bucket),
                in_flight,
            }),
        }
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
        let config = &self.shared.config;
        let mut attempts: u32 = 0;
        loop {
            attempts = attempts.saturating_add(1);
            let failure = match self.attempt(id).await {
                Ok(body) => return Ok(body),
                // Asking again would get the same answer: report it at once.
                Err(Failure::Api(e)) if !e.is_transient() => {
                    return Err(ClientError::Permanent(e));
                }
                // Transient: the server's error says so, and a slow answer (a timeout) is a
                // reason to try again, not proof that the request is bad.
                Err(failure) => failure,
            };
            if attempts > config.max_retries {
                return Err(ClientError::GaveUp {
                    attempts,
                    last: failure,
                });
            }
            // Our own schedule, unless the server asked for more patience than that.
            let delay = backoff(config, attempts).max(retry_after(&failure).unwrap_or_default());
            // No slot is held here (`attempt` released it): a request that is only waiting
            // must not keep another one from reaching the server.
            time::sleep(delay).await;
        }
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
        // `buffered` (not `buffer_unordered`) yields the results in input order, while still
        // running up to `concurrency` of the futures at the same time. The ids are copied into
        // the stream (`u64`, not `&u64`): a closure over references would make the returned
        // future fail to be `Send` ("implementation of `FnOnce` is not general enough").
        stream::iter(ids.iter().copied())
            .map(|id| self.get(id))
            .buffered(concurrency.max(1))
            .collect()
            .await
    }

    // One attempt: wait for a slot, then a token, then send with a timeout.
    async fn attempt(&self, id: u64) -> Result<String, Failure> {
        let shared = &*self.shared;
        // The slot comes FIRST. A token is permission to send *now*; a request that took its
        // token and then queued for a slot would send later, in a bunch with every other
        // token-holder the moment several slots free up — more requests in one refill interval
        // than the bucket allows.
        let _slot = shared
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        self.take_token().await;
        let timeout = shared.config.timeout;
        // `timeout` drops the call future when time is up: that is what abandons the request.
        match time::timeout(timeout, shared.api.call(id)).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(e)) => Err(Failure::Api(e)),
            Err(_elapsed) => Err(Failure::TimedOut(timeout)),
        }
        // `_slot` is dropped here, whatever the outcome: the next request may go.
    }

    // Waits until a token is available and takes it.
    async fn take_token(&self) {
        // The lock is held across the sleep on purpose. Whoever holds it is the next request
        // to be sent; everyone else waits in the Mutex's FIFO queue. So tokens go out in the
        // order requests asked for them, and a late-comer can never snatch a token from a
        // request that has been waiting longer.
        let mut bucket = self.shared.bucket.lock().await;
        loop {
            match try_take(&mut bucket, Instant::now()) {
                Ok(()) => return,
                Err(next_token) => time::sleep_until(next_token).await,
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The token bucket: plain data and plain functions, no `.await` — easy to reason about and to get
// right. It runs on tokio's clock (which the tests pause and drive).
//
// Tokens accrue continuously: the first one `refill_every` after the bucket dropped below full,
// then one every `refill_every` while it stays below full.
// ------------------------------------------------------------------------------------------------

#[derive(Debug)]
struct TokenBucket {
    capacity: u32,
    refill_every: Duration,
    tokens: u32,
    // When the next token arrives; meaningful only while `tokens < capacity`.
    next_refill: Instant,
}

// A bucket holding `burst` tokens (at least one) at `now`.
fn full_bucket(burst: u32, refill_every: Duration, now: Instant) -> TokenBucket {
    let capacity = burst.max(1);
    TokenBucket {
        capacity,
        refill_every,
        tokens: capacity,
        next_refill: now,
    }
}

// Takes a token, or says when the next one will be there.
fn try_take(bucket: &mut TokenBucket, now: Instant) -> Result<(), Instant> {
    if bucket.refill_every.is_zero() {
        return Ok(()); // no rate limit at all
    }
    refill(bucket, now);
    if bucket.tokens == 0 {
        return Err(bucket.next_refill);
    }
    if bucket.tokens == bucket.capacity {
        // A full bucket gains nothing while it waits; its refill clock starts now.
        bucket.next_refill = later(now, bucket.refill_every);
    }
    bucket.tokens -= 1;
    Ok(())
}

// Adds the tokens that arrived up to `now`, never beyond the capacity.
fn refill(bucket: &mut TokenBucket, now: Instant) {
    if bucket.tokens == bucket.capacity || now < bucket.next_refill {
        return;
    }
    // One token at `next_refill`, one more for every whole interval since.
    let since = now.duration_since(bucket.next_refill).as_nanos();
    let arrived = 1 + since / bucket.refill_every.as_nanos();
    let missing = bucket.capacity - bucket.tokens;
    if arrived >= u128::from(missing) {
        bucket.tokens = bucket.capacity;
    } else {
        // `arrived < missing <= u32::MAX`, so the conversion is exact.
        let arrived = arrived as u32;
        bucket.tokens += arrived;
        bucket.next_refill = later(
            bucket.next_refill,
            bucket.refill_every.saturating_mul(arrived),
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Retries
// ------------------------------------------------------------------------------------------------

// The wait before retry `n` (1, 2, …): `initial_backoff × 2^(n-1)`, capped at `max_backoff`.
fn backoff(config: &Config, n: u32) -> Duration {
    // Saturating, because a long run of retries would overflow the doubling long before it
    // reached any cap a person would configure.
    let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
    config
        .initial_backoff
        .saturating_mul(factor)
        .min(config.max_backoff)
}

// The server's own idea of how long to wait, if it gave one.
fn retry_after(failure: &Failure) -> Option<Duration> {
    match failure {
        Failure::Api(ApiError::RateLimited { retry_after }) => *retry_after,
        _ => None,
    }
}

// `t + d`, or a point far in the future if that would overflow (as `tokio::time::sleep` does).
fn later(t: Instant, d: Duration) -> Instant {
    const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);
    t.checked_add(d)
        .unwrap_or_else(|| t.checked_add(FAR_FUTURE).unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(initial_ms: u64, max_ms: u64) -> Config {
        Config {
            burst: 1,
            refill_every: Duration::ZERO,
            max_in_flight: 1,
            timeout: Duration::ZERO,
            max_retries: 0,
            initial_backoff: Duration::from_millis(initial_ms),
            max_backoff: Duration::from_millis(max_ms),
        }
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap_without_overflowing() {
        let capped = config(100, 300);
        let delays: Vec<u128> = (1..=4).map(|n| backoff(&capped, n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 300, 300]);
        let huge = Config {
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            ..capped
        };
        assert_eq!(backoff(&huge, u32::MAX), Duration::MAX);
        assert_eq!(
            backoff(&config(1, u64::MAX), 40),
            Duration::from_millis(u64::from(u32::MAX))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_refills_one_token_per_interval_up_to_its_capacity() {
        let t0 = Instant::now();
        let every = Duration::from_millis(100);
        let mut bucket = full_bucket(2, every, t0);
        assert_eq!(try_take(&mut bucket, t0), Ok(()));
        assert_eq!(try_take(&mut bucket, t0), Ok(()));
        assert_eq!(try_take(&mut bucket, t0), Err(t0 + every));
        // A long quiet spell refills the bucket to its capacity, not beyond.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(try_take(&mut bucket, later), Ok(()));
        assert_eq!(try_take(&mut bucket, later), Ok(()));
        assert_eq!(try_take(&mut bucket, later), Err(later + every));
        // Extreme settings neither panic nor overflow.
        let mut huge = full_bucket(u32::MAX, Duration::MAX, t0);
        assert_eq!(try_take(&mut huge, t0), Ok(()));
        refill(&mut huge, later);
    }
}
