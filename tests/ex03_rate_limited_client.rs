//! Hidden suite for exercise 03, the rate-limited API client.
//!
//! Every test runs on tokio's paused clock (`testkit::run`) against `Server`, a scripted mock
//! [`Api`]: it records the virtual instant of every request it sees, counts how many are
//! outstanding at once, and answers each id with a per-attempt script (delay, reply).
//!
//! The token bucket may be built two correct ways: continuously (a token arrives `refill_every`
//! after the bucket dropped below full) or on ticks anchored at creation. Exact schedules are
//! asserted only where both agree (requests issued at `t = 0`, or after idling a whole number of
//! refill intervals, or while the bucket never refills to full); elsewhere only the window bound
//! `burst + W / refill_every` is checked.
//!
//! Traceability (checked by the dev check): each test cites the sentences of the stub's docs it
//! checks (`/// contract: "…"`); the sentences below state no rule a test could observe.
//!
//! not a rule: "The server the client talks to." — names the trait the caller implements
//! not a rule: "The tests implement it with a scripted mock" — says how the tests drive the client
//! not a rule: "One request to the server." — names the caller's method
//! not a rule: "Returns the body or an error." — what the caller's `Api` returns, not the client
//! not a rule: "What the server can answer instead of a body." — names the enum; its variants' docs are the rules
//! not a rule: "How the client paces, caps and retries its requests." — names the type; its fields' docs are the rules
//! not a rule: "Why one attempt failed." — names the enum; its variants' docs are the rules
//! not a rule: "Why [`RateLimitedClient::get`] gave no body." — names the enum; its variants' docs are the rules
//! not a rule: "A client that paces, caps and retries its requests to an [`Api`]." — names the type; the sentences after it are the rules
//! not a rule: "Everything the clones of one client share." — a private helper's name in the stub
//! not a rule: "See the type's docs for how each attempt is paced, capped, timed out and retried." — a pointer to the type's docs, which state the rules

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ex03_rate_limited_client::{Api, ApiError, ClientError, Config, Failure, RateLimitedClient};
use pretty_assertions::assert_eq;
use testkit::{Gauge, Probe, Timeline, fmt_duration, ms, secs};
use tokio::time::sleep;

// The learner's `==` is trusted only where it is derived (testkit::derived_eq!).
testkit::derived_eq! {
    ApiError = ApiError::Unavailable,
    Failure = Failure::TimedOut(Duration::ZERO),
    ClientError = ClientError::Permanent(ApiError::NotFound),
    Config = Config {
        burst: 0,
        refill_every: Duration::ZERO,
        max_in_flight: 0,
        timeout: Duration::ZERO,
        max_retries: 0,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    },
}

// ------------------------------------------------------------------------------------------------
// The mock server
// ------------------------------------------------------------------------------------------------

/// What the server does with one attempt: wait `delay`, then answer `reply`.
#[derive(Clone, Debug)]
struct Step {
    delay: Duration,
    reply: Result<String, ApiError>,
}

/// Answers with a body after `delay_ms`.
fn ok_after(delay_ms: u64, body: &str) -> Step {
    Step {
        delay: ms(delay_ms),
        reply: Ok(body.to_owned()),
    }
}

/// Answers at once with `error`.
fn fail(error: ApiError) -> Step {
    fail_after(0, error)
}

fn fail_after(delay_ms: u64, error: ApiError) -> Step {
    Step {
        delay: ms(delay_ms),
        reply: Err(error),
    }
}

fn rate_limited(retry_after_ms: Option<u64>) -> ApiError {
    ApiError::RateLimited {
        retry_after: retry_after_ms.map(ms),
    }
}

/// A scripted server. Clones share everything.
#[derive(Clone, Default)]
struct Server {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// `"call <id> #<attempt>"` at the instant each request arrives.
    log: Timeline,
    /// `"request"` at the instant each request arrives: the schedule without identities.
    sends: Timeline,
    in_flight: Gauge,
    /// Per id, the steps for attempts 1, 2, …; the last step repeats.
    scripts: Mutex<HashMap<u64, Vec<Step>>>,
    /// The delay of ids without a script (they answer `"body <id>"`).
    default_delay: Mutex<Duration>,
    seen: Mutex<HashMap<u64, u32>>,
    probes: Mutex<HashMap<(u64, u32), Probe>>,
}

impl Server {
    fn new() -> Self {
        Self::default()
    }

    /// Every id without a script answers `"body <id>"` after `delay`.
    fn with_delay(delay: Duration) -> Self {
        let server = Self::new();
        *server.inner.default_delay.lock().unwrap() = delay;
        server
    }

    fn script(&self, id: u64, steps: Vec<Step>) -> &Self {
        self.inner.scripts.lock().unwrap().insert(id, steps);
        self
    }

    fn log(&self) -> &Timeline {
        &self.inner.log
    }

    fn sends(&self) -> &Timeline {
        &self.inner.sends
    }

    fn send_instants(&self) -> Vec<Duration> {
        self.inner.sends.instants_of("request")
    }

    fn gauge(&self) -> &Gauge {
        &self.inner.in_flight
    }

    /// The probe of the `attempt`-th request for `id` (it watches the server's work on it).
    fn probe(&self, id: u64, attempt: u32) -> Probe {
        self.inner
            .probes
            .lock()
            .unwrap()
            .get(&(id, attempt))
            .cloned()
            .unwrap_or_else(|| panic!("the server never saw attempt {attempt} for id {id}"))
    }

    fn calls(&self, id: u64) -> u32 {
        self.inner
            .seen
            .lock()
            .unwrap()
            .get(&id)
            .copied()
            .unwrap_or(0)
    }
}

impl Inner {
    /// Registers one arriving request; returns its attempt number and what to do.
    fn arrive(&self, id: u64) -> (u32, Step) {
        let attempt = {
            let mut seen = self.seen.lock().unwrap();
            let n = seen.entry(id).or_insert(0);
            *n += 1;
            *n
        };
        let step = match self.scripts.lock().unwrap().get(&id) {
            Some(steps) => steps[(attempt as usize - 1).min(steps.len() - 1)].clone(),
            None => Step {
                delay: *self.default_delay.lock().unwrap(),
                reply: Ok(format!("body {id}")),
            },
        };
        (attempt, step)
    }
}

impl Api for Server {
    fn call(&self, id: u64) -> impl Future<Output = Result<String, ApiError>> + Send {
        let inner = self.inner.clone();
        // Everything happens at the first poll: that is when the request is "sent".
        async move {
            let (attempt, step) = inner.arrive(id);
            inner.log.record(format!("call {id} #{attempt}"));
            inner.sends.record("request");
            let _outstanding = inner.in_flight.enter();
            let probe = Probe::new(format!("call {id} #{attempt}"));
            inner
                .probes
                .lock()
                .unwrap()
                .insert((id, attempt), probe.clone());
            probe.wrap(sleep(step.delay)).await;
            step.reply
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/// A config whose limits are out of the way; each test tightens what it checks.
fn roomy() -> Config {
    Config {
        burst: 1000,
        refill_every: ms(1),
        max_in_flight: 1000,
        timeout: secs(60),
        max_retries: 0,
        initial_backoff: ms(100),
        max_backoff: secs(10),
    }
}

fn ok(id: u64) -> Result<String, ClientError> {
    Ok(format!("body {id}"))
}

/// One `(t, "request")` row per instant: a schedule that ignores which request went when.
fn requests_at(instants: &[u64]) -> Vec<(u64, &'static str)> {
    instants.iter().map(|&t| (t, "request")).collect()
}

fn show(instants: &[Duration]) -> String {
    let shown: Vec<String> = instants.iter().map(|t| fmt_duration(*t)).collect();
    format!("[{}]", shown.join(", "))
}

/// Fails if some half-open window `[s, s + k × refill)` holds more than `burst + k` requests.
#[track_caller]
fn assert_window_bound(sends: &[Duration], burst: u32, refill: Duration, ks: &[u32], flaw: &str) {
    for &k in ks {
        let window = refill * k;
        let allowed = burst as usize + k as usize;
        for &start in sends {
            let seen = sends
                .iter()
                .filter(|&&t| t >= start && t < start + window)
                .count();
            if seen > allowed {
                panic!(
                    "rate limit broken: the server saw {seen} requests in the {} window starting \
                     at t={}, but burst + window / refill_every = {burst} + {k} = {allowed} at \
                     most are allowed.\n  {flaw}\n  requests seen at: {}",
                    fmt_duration(window),
                    fmt_duration(start),
                    show(sends),
                );
            }
        }
    }
}

/// Issues `get(id)` for every id at once from one task (polled in the order given) and returns
/// the results in that order.
async fn get_all<A: Api>(
    client: &RateLimitedClient<A>,
    ids: &[u64],
) -> Vec<Result<String, ClientError>> {
    futures::future::join_all(ids.iter().map(|&id| client.get(id))).await
}

/// `get(1)` on a client whose server answers every attempt with `Unavailable`, under this retry
/// policy: the server (for its log) and what `get` returned.
async fn always_unavailable(
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
) -> (Server, Result<String, ClientError>) {
    let server = Server::new();
    server.script(1, vec![fail(ApiError::Unavailable)]);
    let config = Config {
        max_retries,
        initial_backoff,
        max_backoff,
        ..roomy()
    };
    let client = RateLimitedClient::new(server.clone(), config);
    let result = client.get(1).await;
    (server, result)
}

// ------------------------------------------------------------------------------------------------
// The token bucket
// ------------------------------------------------------------------------------------------------

/// contract: "The bucket starts full when the client is created."
/// contract: "One token is added every `refill_every`"
/// contract: "No request waits longer than the bucket requires: requests issued together on a fresh client go out `burst` at once, then one every `refill_every`."
/// contract: "A client for `api`, with its token bucket full right now (`burst` tokens) and no attempt in flight."
/// contract: "Fetches item `id`."
/// contract: "The request counts as *sent* when the returned future is first polled"
/// contract: "**Send** — call [`Api::call`] at the instant the token is taken"
#[test]
fn a_fresh_client_sends_a_full_burst_at_once_then_one_request_per_refill_interval() {
    testkit::run(|| async {
        let server = Server::new();
        let config = Config {
            burst: 3,
            refill_every: ms(100),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let results = get_all(&client, &[1, 2, 3, 4, 5, 6, 7]).await;
        server.sends().assert_eq(
            &requests_at(&[0, 0, 0, 100, 200, 300, 400]),
            "a fresh bucket is full: burst = 3 requests go out at t=0, then one every \
             refill_every = 100ms, each at the earliest instant the bucket allows (a limiter that \
             is too cautious, or none at all, shows up here)",
        );
        assert_eq!(
            results,
            (1..=7).map(ok).collect::<Vec<_>>(),
            "every get returns the server's body"
        );
    });
}

/// contract: "Capacity of the token bucket: how many requests may be sent at once after a quiet spell."
/// contract: "the bucket never holds more than `burst`"
/// contract: "and tokens beyond `burst` are not kept"
#[test]
fn the_bucket_never_holds_more_than_burst_tokens() {
    testkit::run(|| async {
        let server = Server::new();
        let config = Config {
            burst: 2,
            refill_every: ms(100),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        get_all(&client, &[1, 2]).await;
        // Ten refill intervals of silence: the bucket refills, but only up to `burst`.
        sleep(ms(1000)).await;
        let results = get_all(&client, &[3, 4, 5, 6, 7]).await;
        let sends = server.send_instants();
        assert_window_bound(
            &sends,
            2,
            ms(100),
            &[1, 2, 3],
            "after a quiet second the bucket holds burst = 2 tokens, not 10: tokens beyond burst \
             are not kept",
        );
        assert_eq!(
            show(sends.get(2..4).unwrap_or(&sends)),
            show(&[ms(1000), ms(1000)]),
            "after a quiet second the bucket is full again: the next burst = 2 requests go out \
             at once, at t=1000ms"
        );
        assert_eq!(
            results,
            (3..=7).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
    });
}

/// contract: "All waiting is done on tokio's clock (`tokio::time`), never `std::time::Instant` or `std::thread::sleep`"
#[test]
fn the_bucket_refills_on_tokios_clock_even_when_refill_every_is_long() {
    testkit::run(|| async {
        let server = Server::new();
        let config = Config {
            burst: 1,
            refill_every: secs(1),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        get_all(&client, &[1, 2, 3]).await;
        server.log().assert_eq(
            &[(0, "call 1 #1"), (1000, "call 2 #1"), (2000, "call 3 #1")],
            "with burst = 1 and refill_every = 1s the requests go out at 0s, 1s and 2s of \
             tokio's (virtual) clock",
        );
    });
}

/// contract: "Cloning is cheap, and **every clone shares the same api, the same token bucket and the same in-flight limit**"
#[test]
fn clones_of_a_client_share_one_bucket() {
    testkit::run(|| async {
        let server = Server::new();
        let config = Config {
            burst: 2,
            refill_every: ms(100),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let clones: Vec<_> = (0..4).map(|_| client.clone()).collect();
        // Each clone asks for two items, all at t = 0.
        let gets = clones
            .iter()
            .enumerate()
            .flat_map(|(i, c)| [c.get(2 * i as u64), c.get(2 * i as u64 + 1)]);
        let results = futures::future::join_all(gets).await;
        server.sends().assert_eq(
            &requests_at(&[0, 0, 100, 200, 300, 400, 500, 600]),
            "all clones of a client share one token bucket (burst = 2, one token per 100ms): \
             a limiter per clone lets every clone send its own burst",
        );
        assert_eq!(
            results,
            (0..8).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
    });
}

/// contract: "so they must hold however many clones and tasks the callers make"
/// contract: "The futures returned by [`get`](Self::get) and [`get_many`](Self::get_many) are `Send`, so callers can `tokio::spawn` them."
/// contract: "If you spawn a background task (to refill the bucket, say), it must end when the last clone is dropped"
#[test]
fn callers_on_many_tasks_share_one_bucket() {
    testkit::run(|| async {
        let server = Server::new();
        let config = Config {
            burst: 4,
            refill_every: ms(50),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let tasks: Vec<_> = (0..10)
            .map(|id| {
                let client = client.clone();
                testkit::spawn(async move { client.get(id).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("a task calling get panicked"));
        }
        server.sends().assert_eq(
            &requests_at(&[0, 0, 0, 0, 50, 100, 150, 200, 250, 300]),
            "ten tasks calling get at t=0 share one bucket (burst = 4, one token per 50ms)",
        );
        assert_eq!(
            results,
            (0..10).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
    });
}

/// contract: "Waiting requests are served **in FIFO order**: a request that started waiting earlier is sent no later than one that started waiting later."
#[test]
fn waiting_requests_are_sent_in_fifo_order() {
    testkit::run(|| async {
        let server = Server::new();
        let config = Config {
            burst: 1,
            refill_every: ms(100),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        // Request 1 empties the bucket at t=0; 2, 3 and 4 start waiting at t=10, 105 and 150;
        // 5 arrives at t=300, the very instant a token arrives for request 4.
        let start_at = |delay: u64, id: u64| {
            let client = client.clone();
            async move {
                sleep(ms(delay)).await;
                client.get(id).await
            }
        };
        // Listed latest first: a future that is polled earlier must not win for that reason.
        let mut results = futures::future::join_all([
            start_at(300, 5),
            start_at(150, 4),
            start_at(105, 3),
            start_at(10, 2),
            start_at(0, 1),
        ])
        .await;
        results.reverse();
        server.log().assert_eq(
            &[
                (0, "call 1 #1"),
                (100, "call 2 #1"),
                (200, "call 3 #1"),
                (300, "call 4 #1"),
                (400, "call 5 #1"),
            ],
            "waiting requests are served first come, first served, each as soon as a token \
             arrives: request 2 (waiting since t=10ms) gets the token of t=100ms, request 3 \
             (since t=105ms) the one of t=200ms, request 4 (since t=150ms) the one of t=300ms, \
             and request 5, arriving at t=300ms, must queue behind it. Checking for a token in \
             a loop (sleep, look, sleep again) lets a late-comer snatch a token",
        );
        assert_eq!(
            results,
            (1..=5).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
    });
}

/// A small deterministic pseudo-random generator (no `rand` crate).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// contract: "So in any window of length `W` (a multiple of `refill_every`) the server sees at most `burst + W / refill_every` requests."
/// contract: "**Wait for a token.** The bucket holds at most [`Config::burst`] tokens"
#[test]
fn in_any_window_the_server_sees_at_most_burst_plus_window_over_refill_every_requests() {
    testkit::run(|| async {
        let server = Server::new();
        let (burst, refill) = (3, ms(50));
        let config = Config {
            burst,
            refill_every: refill,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        // 60 requests arriving at pseudo-random instants (clusters and quiet spells), each
        // from its own future, with server delays of 0–40ms.
        let mut lcg = Lcg(2024);
        let mut t = 0;
        let mut arrivals = Vec::new();
        for id in 0..60 {
            t += match lcg.below(10) {
                0..=5 => 0,
                6..=8 => lcg.below(60),
                _ => 200 + lcg.below(300),
            };
            server.script(id, vec![ok_after(lcg.below(41), &format!("body {id}"))]);
            arrivals.push((t, id));
        }
        let gets = arrivals.iter().map(|&(at, id)| {
            let client = client.clone();
            async move {
                sleep(ms(at)).await;
                client.get(id).await
            }
        });
        let results = futures::future::join_all(gets).await;
        let sends = server.send_instants();
        assert_window_bound(
            &sends,
            burst,
            refill,
            &[1, 2, 3, 5, 10, 20],
            "every request takes a token when it is sent, from one bucket holding at most \
             burst = 3, refilled one token per 50ms",
        );
        assert_eq!(
            sends.len(),
            60,
            "each of the 60 requests reaches the server exactly once"
        );
        assert_eq!(
            results,
            (0..60).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
    });
}

/// contract: "`0` is treated as `1`."
/// contract: "`Duration::ZERO` means"
/// contract: "`concurrency` of `0` is treated as `1`."
#[test]
fn zero_burst_in_flight_and_concurrency_count_as_one_and_zero_refill_means_no_limit() {
    testkit::run(|| async {
        // burst = 0 is a bucket of one token.
        let server = Server::new();
        let config = Config {
            burst: 0,
            refill_every: ms(100),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        assert_eq!(
            get_all(&client, &[1, 2, 3]).await,
            (1..=3).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
        server.sends().assert_eq(
            &requests_at(&[0, 100, 200]),
            "burst = 0 is treated as 1: one request at once, then one per 100ms",
        );

        // max_in_flight = 0 is one request at a time.
        let server = Server::with_delay(ms(100));
        let config = Config {
            max_in_flight: 0,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        assert_eq!(
            get_all(&client, &[1, 2]).await,
            (1..=2).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
        server.sends().assert_eq(
            &requests_at(&[200, 300]),
            "max_in_flight = 0 is treated as 1: two 100ms requests go one after the other",
        );

        // refill_every = 0 is no rate limit at all.
        let server = Server::new();
        let config = Config {
            burst: 1,
            refill_every: Duration::ZERO,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        assert_eq!(
            get_all(&client, &[1, 2, 3, 4]).await,
            (1..=4).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
        server.sends().assert_eq(
            &requests_at(&[400, 400, 400, 400]),
            "refill_every = 0 means no rate limit: every request goes out at once",
        );

        // get_many with concurrency = 0 fetches one at a time.
        let server = Server::with_delay(ms(100));
        let client = RateLimitedClient::new(server.clone(), roomy());
        assert_eq!(
            client.get_many(&[1, 2], 0).await,
            (1..=2).map(ok).collect::<Vec<_>>(),
            "get_many with concurrency = 0 still fetches every id"
        );
        server.sends().assert_eq(
            &requests_at(&[400, 500]),
            "get_many's concurrency = 0 is treated as 1: one fetch at a time",
        );
    });
}

/// Whether a caught panic is a `todo!()` (the stub), which must be reported as such.
fn is_todo(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied());
    text.is_some_and(|t| t.contains("not yet implemented"))
}

const TEN_YEARS: Duration = Duration::from_secs(86_400 * 3652);

/// contract: "Every value of each field's type is allowed, up to its maximum"
#[test]
fn the_largest_limits_mean_no_cap_and_no_refill_and_never_overflow() {
    use futures::FutureExt;
    use std::panic::AssertUnwindSafe;
    // Ten virtual years: a token that comes back after days or months has been refilled.
    testkit::Test::new().virtual_limit(TEN_YEARS * 2).run(|| async {
        let server = Server::with_delay(ms(100));
        let config = Config {
            burst: u32::MAX,
            max_in_flight: usize::MAX,
            ..roomy()
        };
        let made = std::panic::catch_unwind(AssertUnwindSafe(|| {
            RateLimitedClient::new(server.clone(), config)
        }));
        let client = match made {
            Ok(client) => client,
            // A `todo!()` is reported as such, not as the flaw below.
            Err(payload) if is_todo(&*payload) => std::panic::resume_unwind(payload),
            Err(_) => panic!(
                "RateLimitedClient::new panicked with max_in_flight = usize::MAX and burst = \
                 u32::MAX: every value of a field's type is allowed — usize::MAX slots is no cap \
                 (a tokio Semaphore holds at most Semaphore::MAX_PERMITS: clamp to it)"
            ),
        };
        let ids: Vec<u64> = (1..=20).collect();
        assert_eq!(
            get_all(&client, &ids).await,
            ids.iter().map(|&id| ok(id)).collect::<Vec<_>>(),
            "every get succeeds"
        );
        assert_eq!(
            server.gauge().peak(),
            20,
            "with max_in_flight = usize::MAX (no cap) and a huge burst, 20 requests issued \
             together must all be outstanding at once"
        );

        let server = Server::new();
        let config = Config {
            burst: 1,
            refill_every: Duration::MAX,
            ..roomy()
        };
        let run = async {
            let client = RateLimitedClient::new(server.clone(), config);
            let first = client.get(1).await;
            let second = tokio::time::timeout(TEN_YEARS, client.get(2)).await;
            (first, second.is_err())
        };
        let outcome = match AssertUnwindSafe(run).catch_unwind().await {
            Err(payload) if is_todo(&*payload) => std::panic::resume_unwind(payload),
            outcome => outcome,
        };
        assert!(
            outcome.is_ok(),
            "a client with refill_every = Duration::MAX panicked: every value of a field's type \
             is allowed — the next token is so far away that it never comes (adding \
             Duration::MAX to an Instant overflows: saturate, or use a far-future instant)"
        );
        assert_eq!(
            (outcome.ok(), server.calls(2)),
            (Some((ok(1), true)), 0),
            "burst = 1 and refill_every = Duration::MAX: the first request takes the only token \
             at once, and the second still waits ten years later, never sent (a token \
             that comes back within years is a refill)"
        );
    });
}

// ------------------------------------------------------------------------------------------------
// The in-flight cap
// ------------------------------------------------------------------------------------------------

/// contract: "At most this many attempts are outstanding at the server at once."
/// contract: "**Release the slot** as soon as the attempt has an outcome."
#[test]
fn at_most_max_in_flight_requests_are_outstanding_and_the_cap_is_reached() {
    testkit::run(|| async {
        let server = Server::with_delay(ms(100));
        let config = Config {
            max_in_flight: 3,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let results = get_all(&client, &[1, 2, 3, 4, 5, 6, 7, 8, 9]).await;
        let peak = server.gauge().peak();
        assert!(
            peak <= 3,
            "{peak} requests were outstanding at the server at once, but max_in_flight = 3"
        );
        assert_eq!(
            peak, 3,
            "the in-flight cap was never reached: with 9 requests of 100ms each and tokens to \
             spare, 3 must be outstanding at once (peak 1 means the requests were sent one at a \
             time)"
        );
        server.sends().assert_eq(
            &requests_at(&[0, 0, 0, 100, 100, 100, 200, 200, 200]),
            "with max_in_flight = 3 and 100ms per request, 3 requests go out at t=0 and the next \
             ones as soon as slots free up",
        );
        assert_eq!(
            results,
            (1..=9).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
    });
}

/// contract: "**Wait for an in-flight slot.** At most [`Config::max_in_flight`] attempts are outstanding at the server at once, counting every clone and caller."
/// contract: "the same in-flight limit"
#[test]
fn clones_of_a_client_share_one_in_flight_limit() {
    testkit::run(|| async {
        let server = Server::with_delay(ms(100));
        let config = Config {
            max_in_flight: 2,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let (a, b, c) = (client.clone(), client.clone(), client.clone());
        let (ra, rb, rc) = tokio::join!(
            get_all(&a, &[1, 2]),
            get_all(&b, &[3, 4]),
            get_all(&c, &[5, 6])
        );
        let peak = server.gauge().peak();
        assert_eq!(
            peak, 2,
            "three clones sending two 100ms requests each must share max_in_flight = 2 \
             (a higher peak means each clone has its own limit)"
        );
        assert_eq!(
            testkit::now(),
            ms(300),
            "6 requests of 100ms, 2 at a time, take 300ms"
        );
        assert_eq!(
            [ra, rb, rc].concat(),
            (1..=6).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
    });
}

/// contract: "The slot is taken *before* the token"
/// contract: "Every attempt (the first one and each retry) goes through these steps, in this order:"
#[test]
fn a_request_takes_its_token_only_once_it_holds_an_in_flight_slot() {
    testkit::run(|| async {
        // Slow first requests that all finish together at t=1000ms, free 4 slots at once.
        let server = Server::new();
        server
            .script(1, vec![ok_after(1000, "body 1")])
            .script(2, vec![ok_after(900, "body 2")])
            .script(3, vec![ok_after(800, "body 3")])
            .script(4, vec![ok_after(700, "body 4")]);
        let (burst, refill) = (1, ms(100));
        let config = Config {
            burst,
            refill_every: refill,
            max_in_flight: 4,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let results = get_all(&client, &[1, 2, 3, 4, 5, 6, 7, 8]).await;
        let sends = server.send_instants();
        assert_window_bound(
            &sends,
            burst,
            refill,
            &[1, 2, 3],
            "requests 5-8 waited for an in-flight slot until t=1000ms, when 4 slots freed up at \
             once. A request that takes its token before it has a slot hoards it while it \
             queues, and then all of them are sent in a bunch: take the slot first, then the \
             token",
        );
        assert!(
            server.gauge().peak() <= 4,
            "{} requests were outstanding at once, but max_in_flight = 4",
            server.gauge().peak()
        );
        assert_eq!(
            results,
            (1..=8).map(ok).collect::<Vec<_>>(),
            "every get succeeds"
        );
    });
}

// ------------------------------------------------------------------------------------------------
// Timeouts
// ------------------------------------------------------------------------------------------------

/// contract: "An attempt that takes longer is dropped at exactly that instant (abandoning the request) and fails with [`Failure::TimedOut`]`(config.timeout)`"
/// contract: "dropping the future before it completes abandons the request"
#[test]
fn an_attempt_that_takes_longer_than_timeout_is_dropped_at_exactly_timeout() {
    testkit::run(|| async {
        let server = Server::new();
        server.script(1, vec![ok_after(1000, "too late")]);
        let config = Config {
            timeout: ms(250),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let result = client.get(1).await;
        assert_eq!(
            result,
            Err(ClientError::GaveUp {
                attempts: 1,
                last: Failure::TimedOut(ms(250)),
            }),
            "a 1000ms answer with timeout = 250ms and max_retries = 0 is one timed-out attempt"
        );
        let probe = server.probe(1, 1);
        assert_eq!(
            probe.cancelled_at(),
            Some(ms(250)),
            "the attempt must be dropped (abandoned) at exactly t=250ms, its timeout ({})",
            probe.describe()
        );
        assert_eq!(
            testkit::now(),
            ms(250),
            "get returns as soon as the attempt timed out"
        );
    });
}

/// contract: "one that answers at exactly `timeout` is in time"
#[test]
fn an_attempt_answered_at_exactly_timeout_is_in_time() {
    testkit::run(|| async {
        let server = Server::new();
        server.script(1, vec![ok_after(250, "just in time")]);
        let config = Config {
            timeout: ms(250),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let result = client.get(1).await;
        assert_eq!(
            result,
            Ok("just in time".to_owned()),
            "an answer at exactly t=250ms with timeout = 250ms is in time: only an attempt that \
             takes *longer* than timeout fails (poll the call before the timer, as \
             tokio::time::timeout does; an unbiased select! picks either at random)"
        );
        assert_eq!(
            testkit::now(),
            ms(250),
            "get returns the answer the moment it comes"
        );
    });
}

/// contract: "The server did not answer within the configured timeout, which is carried here (`Failure::TimedOut(config.timeout)`)."
/// contract: "[`ApiError::RateLimited`], [`ApiError::Unavailable`] and timeouts are transient: the request is tried again, up to [`Config::max_retries`] times."
/// contract: "When the retries run out, `get` returns [`ClientError::GaveUp`] with the number of attempts and the last failure."
/// contract: "`attempts` counts them all, the first one included (so `max_retries + 1`); `last` is the failure of the last one."
#[test]
fn a_timed_out_attempt_is_retried_like_a_transient_error() {
    testkit::run(|| async {
        let server = Server::new();
        server.script(
            1,
            vec![
                ok_after(1000, "too late"),
                ok_after(1000, "too late"),
                ok_after(10, "body 1"),
            ],
        );
        let config = Config {
            timeout: ms(250),
            max_retries: 3,
            initial_backoff: ms(100),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let result = client.get(1).await;
        server.log().assert_eq(
            &[(0, "call 1 #1"), (350, "call 1 #2"), (800, "call 1 #3")],
            "attempt 1 times out at t=250ms and is retried after 100ms (t=350ms); attempt 2 \
             times out at t=600ms and is retried after 200ms (t=800ms)",
        );
        assert_eq!(result, ok(1), "the third attempt answers in time");
        assert_eq!(
            testkit::now(),
            ms(810),
            "get returns when the third attempt answers"
        );
    });
}

/// contract: "How long one attempt may take, measured from the instant it is sent (the wait for a slot and a token does not count)."
/// contract: "and give the attempt [`Config::timeout`]"
#[test]
fn the_timeout_covers_the_attempt_not_the_wait_for_a_token() {
    testkit::run(|| async {
        let server = Server::with_delay(ms(100));
        let config = Config {
            burst: 1,
            refill_every: ms(500),
            timeout: ms(300),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let results = get_all(&client, &[1, 2, 3]).await;
        assert_eq!(
            results,
            (1..=3).map(ok).collect::<Vec<_>>(),
            "each request waits up to 1000ms for its token but its attempt takes only 100ms: \
             the 300ms timeout starts when the attempt is sent, not when get is called"
        );
        server.sends().assert_eq(
            &requests_at(&[0, 500, 1000]),
            "one token per 500ms: requests at 0, 500 and 1000ms",
        );
    });
}

// ------------------------------------------------------------------------------------------------
// Retries
// ------------------------------------------------------------------------------------------------

/// contract: "The wait before the first retry; it doubles before every further retry…"
/// contract: "With `initial_backoff = 100ms` and no hints, attempts are sent at `t = 0, 100, 300, 700ms`"
/// contract: "How many times a transiently failed request is tried again, so at most `max_retries + 1` attempts in all."
/// contract: "Returns the body from the first successful attempt"
#[test]
fn retries_wait_initial_backoff_doubling_after_every_failure() {
    testkit::run(|| async {
        let (server, result) = always_unavailable(3, ms(100), secs(10)).await;
        server.log().assert_eq(
            &[
                (0, "call 1 #1"),
                (100, "call 1 #2"),
                (300, "call 1 #3"),
                (700, "call 1 #4"),
            ],
            "the backoff starts at initial_backoff = 100ms and doubles after every failure: \
             waits of 100, 200 and 400ms",
        );
        assert_eq!(
            result,
            Err(ClientError::GaveUp {
                attempts: 4,
                last: Failure::Api(ApiError::Unavailable),
            }),
            "after max_retries = 3 retries get gives up, counting all 4 attempts"
        );
        assert_eq!(
            testkit::now(),
            ms(700),
            "get gives up right after the last attempt fails"
        );
    });
}

/// contract: "…but never exceeds `max_backoff`."
/// contract: "The wait before retry `n` (`n = 1, 2, …`) is `min(initial_backoff × 2^(n-1), max_backoff)`"
#[test]
fn the_backoff_never_exceeds_max_backoff() {
    testkit::run(|| async {
        let (server, result) = always_unavailable(5, ms(100), ms(300)).await;
        server.log().assert_eq(
            &[
                (0, "call 1 #1"),
                (100, "call 1 #2"),
                (300, "call 1 #3"),
                (600, "call 1 #4"),
                (900, "call 1 #5"),
                (1200, "call 1 #6"),
            ],
            "waits of 100, 200, then 300ms each: the doubling backoff is capped at max_backoff \
             = 300ms",
        );
        assert_eq!(
            result,
            Err(ClientError::GaveUp {
                attempts: 6,
                last: Failure::Api(ApiError::Unavailable),
            }),
            "after max_retries = 5 retries get gives up, counting all 6 attempts"
        );
    });
}

/// contract: "`retry_after` is the server's hint of how long to wait."
/// contract: "but never less than the server's `retry_after` hint when the failed attempt carried one: `max(backoff, retry_after)`"
#[test]
fn a_retry_waits_at_least_the_servers_retry_after_hint() {
    testkit::run(|| async {
        let server = Server::new();
        server.script(
            1,
            vec![
                fail(rate_limited(Some(500))),
                fail(rate_limited(None)),
                fail(rate_limited(Some(50))),
                ok_after(0, "body 1"),
            ],
        );
        let config = Config {
            max_retries: 5,
            initial_backoff: ms(100),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let result = client.get(1).await;
        server.log().assert_eq(
            &[
                (0, "call 1 #1"),
                (500, "call 1 #2"),
                (700, "call 1 #3"),
                (1100, "call 1 #4"),
            ],
            "the wait is max(backoff, retry_after): 500ms (hint 500 > backoff 100), then 200ms \
             (no hint), then 400ms (backoff 400 > hint 50). A hint never shortens the backoff, \
             and ignoring it retries too early",
        );
        assert_eq!(result, ok(1), "the fourth attempt succeeds");
    });
}

/// contract: "[`ApiError::NotFound`] and [`ApiError::Invalid`] are permanent: `get` returns [`ClientError::Permanent`] at once, with no retry."
/// contract: "The server answered with a permanent error ([`ApiError::is_transient`] is `false`)."
/// contract: "It is returned at once, without a retry."
/// contract: "No such item."
/// contract: "The request was malformed."
/// contract: "[`ClientError::Permanent`] as soon as the server answers with a permanent error"
#[test]
fn a_permanent_error_is_returned_at_once_without_retrying() {
    testkit::run(|| async {
        let server = Server::new();
        server
            .script(1, vec![fail(ApiError::NotFound), ok_after(0, "never")])
            .script(2, vec![fail_after(30, ApiError::Invalid("bad id".into()))]);
        let config = Config {
            max_retries: 5,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let (r1, r2) = tokio::join!(client.get(1), client.get(2));
        assert_eq!(
            (r1, r2),
            (
                Err(ClientError::Permanent(ApiError::NotFound)),
                Err(ClientError::Permanent(ApiError::Invalid("bad id".into()))),
            ),
            "NotFound and Invalid are permanent: returned as ClientError::Permanent"
        );
        assert_eq!(
            (server.calls(1), server.calls(2)),
            (1, 1),
            "a permanent error is never retried: one attempt per id"
        );
        assert_eq!(
            testkit::now(),
            ms(30),
            "get returns as soon as the permanent error arrives"
        );
    });
}

/// contract: "`true` for the errors that may go away if the request is tried again later"
/// contract: "Too many requests."
/// contract: "The server is overloaded or restarting."
#[test]
fn only_rate_limited_and_unavailable_are_transient() {
    testkit::run(|| async {
        let cases = [
            (rate_limited(None), true),
            (rate_limited(Some(5)), true),
            (ApiError::Unavailable, true),
            (ApiError::NotFound, false),
            (ApiError::Invalid("x".into()), false),
        ];
        for (error, transient) in cases {
            assert_eq!(error.is_transient(), transient, "{error:?}.is_transient()");
        }
    });
}

/// contract: "A retry waits for a slot and a token like any other request."
#[test]
fn retries_take_tokens_from_the_same_bucket() {
    testkit::run(|| async {
        let server = Server::new();
        server.script(1, vec![fail(ApiError::Unavailable), ok_after(0, "body 1")]);
        let config = Config {
            burst: 1,
            refill_every: ms(100),
            max_retries: 1,
            initial_backoff: ms(50),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        // Request 1 takes the only token at t=0 and fails; request 2 has been waiting for a
        // token since t=0; request 1's retry starts waiting at t=50ms.
        let (r1, r2) = tokio::join!(client.get(1), client.get(2));
        server.log().assert_eq(
            &[(0, "call 1 #1"), (100, "call 2 #1"), (200, "call 1 #2")],
            "a retry is a request like any other: it waits for a token (and behind the requests \
             that were waiting before it). Retries that skip the bucket let the server see more \
             requests than the rate allows",
        );
        assert_eq!((r1, r2), (ok(1), ok(2)), "both gets succeed");
    });
}

/// contract: "No slot is held while backing off before a retry."
#[test]
fn no_slot_is_held_while_backing_off_before_a_retry() {
    testkit::run(|| async {
        let server = Server::new();
        server.script(1, vec![fail(ApiError::Unavailable), ok_after(0, "body 1")]);
        let config = Config {
            max_in_flight: 1,
            max_retries: 1,
            initial_backoff: ms(100),
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let (r1, r2) = tokio::join!(client.get(1), client.get(2));
        server.log().assert_eq(
            &[(0, "call 1 #1"), (0, "call 2 #1"), (100, "call 1 #2")],
            "max_in_flight = 1: request 1 fails at t=0 and backs off 100ms; request 2, waiting \
             for the only slot, must get it the moment request 1's attempt fails (t=0) — no slot \
             is held while backing off, a slot is per attempt, not per request",
        );
        assert_eq!((r1, r2), (ok(1), ok(2)), "both gets succeed");
    });
}

/// contract: "a long run of retries never overflows the doubling"
/// contract: "…but never exceeds `max_backoff`."
#[test]
fn a_long_run_of_retries_stays_at_max_backoff_without_overflowing() {
    testkit::run(|| async {
        let (server, result) = always_unavailable(40, ms(1), ms(50)).await;
        assert_eq!(
            result,
            Err(ClientError::GaveUp {
                attempts: 41,
                last: Failure::Api(ApiError::Unavailable),
            }),
            "max_retries = 40 and every attempt Unavailable: get gives up after 41 attempts"
        );
        let sends = server.send_instants();
        assert_eq!(
            show(&sends[..8.min(sends.len())]),
            show(&[0, 1, 3, 7, 15, 31, 63, 113].map(ms)),
            "initial_backoff 1ms doubling up to max_backoff 50ms: attempts at 0, 1, 3, 7, 15, \
             31, 63, then every 50ms"
        );
        assert_eq!(
            testkit::now(),
            ms(63 + 34 * 50),
            "the 41st attempt is sent at t=1763ms (63ms, then 34 waits of max_backoff): the \
             doubling must stay at max_backoff for retry 33 and beyond, where 2^(n-1) no longer \
             fits in a u32 (saturate it; `2u32.pow(n - 1)` overflows)"
        );
    });
}

// ------------------------------------------------------------------------------------------------
// get_many
// ------------------------------------------------------------------------------------------------

/// contract: "and returns one result per id **in the order of `ids`**: errors are kept in their place, nothing is lost or duplicated."
/// contract: "An empty `ids` gives an empty `Vec`."
/// contract: "The server answered with an error."
/// contract: "Every attempt failed transiently."
#[test]
fn get_many_returns_one_result_per_id_in_input_order_errors_included() {
    testkit::run(|| async {
        let server = Server::new();
        server
            .script(5, vec![ok_after(300, "body 5")])
            .script(1, vec![ok_after(0, "body 1")])
            .script(9, vec![fail_after(50, ApiError::NotFound)])
            .script(3, vec![ok_after(100, "body 3")])
            .script(7, vec![fail_after(20, ApiError::Unavailable)]);
        let config = Config {
            max_retries: 0,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let results = client.get_many(&[5, 1, 9, 3, 7], 5).await;
        assert_eq!(
            results,
            vec![
                ok(5),
                ok(1),
                Err(ClientError::Permanent(ApiError::NotFound)),
                ok(3),
                Err(ClientError::GaveUp {
                    attempts: 1,
                    last: Failure::Api(ApiError::Unavailable),
                }),
            ],
            "get_many returns one result per id in the order of the ids (not in the order the \
             answers arrive), keeping each error in its place"
        );
        for id in [5, 1, 9, 3, 7] {
            assert_eq!(server.calls(id), 1, "id {id} must be fetched exactly once");
        }
        assert_eq!(
            testkit::now(),
            ms(300),
            "the five fetches run concurrently: get_many ends with the slowest (300ms)"
        );
        assert_eq!(client.get_many(&[], 3).await, vec![], "no ids, no results");
    });
}

/// contract: "Fetches every id in `ids`, with at most `concurrency` of these fetches in progress at once"
#[test]
fn get_many_keeps_at_most_concurrency_fetches_in_progress_and_reaches_it() {
    testkit::run(|| async {
        let server = Server::with_delay(ms(100));
        let client = RateLimitedClient::new(server.clone(), roomy());
        let ids: Vec<u64> = (1..=10).collect();
        let results = client.get_many(&ids, 3).await;
        let peak = server.gauge().peak();
        assert!(
            peak <= 3,
            "{peak} fetches were in progress at once, but get_many was given concurrency = 3"
        );
        assert_eq!(
            peak, 3,
            "get_many must run 3 fetches at once (concurrency = 3): peak 1 means it ran them \
             one at a time"
        );
        server.sends().assert_eq(
            &requests_at(&[0, 0, 0, 100, 100, 100, 200, 200, 200, 300]),
            "10 fetches of 100ms, 3 at a time: a new fetch starts as soon as one finishes",
        );
        assert_eq!(
            results,
            (1..=10).map(ok).collect::<Vec<_>>(),
            "every fetch succeeds"
        );
    });
}

/// contract: "(the client's own limits still apply on top)"
#[test]
fn get_many_still_obeys_the_clients_own_limits() {
    testkit::run(|| async {
        let server = Server::with_delay(ms(100));
        let config = Config {
            burst: 2,
            refill_every: ms(100),
            max_in_flight: 2,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        let ids: Vec<u64> = (1..=6).collect();
        // get_many runs on another task while a direct get competes for the same limits.
        let many = {
            let client = client.clone();
            testkit::spawn(async move { client.get_many(&ids, 6).await })
        };
        let single = client.get(7).await;
        let results = many.await.expect("the get_many task panicked");
        assert!(
            server.gauge().peak() <= 2,
            "{} requests were outstanding at once: get_many's concurrency = 6 does not lift the \
             client's max_in_flight = 2",
            server.gauge().peak()
        );
        let sends = server.send_instants();
        assert_window_bound(
            &sends,
            2,
            ms(100),
            &[1, 2, 5],
            "get_many's requests take tokens from the client's bucket like any other",
        );
        assert_eq!(
            results,
            (1..=6).map(ok).collect::<Vec<_>>(),
            "every fetch succeeds"
        );
        assert_eq!(single, ok(7), "the direct get succeeds");
    });
}

/// An api for the multi-thread test: counts the requests it receives and answers at once.
#[derive(Clone, Default)]
struct Counting(Arc<std::sync::atomic::AtomicUsize>);

impl Api for Counting {
    fn call(&self, _id: u64) -> impl Future<Output = Result<String, ApiError>> + Send {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { Ok("body".to_owned()) }
    }
}

/// contract: "An id listed twice is fetched twice, with a result in each of its places."
#[test]
fn get_many_fetches_an_id_listed_twice_twice() {
    testkit::run(|| async {
        let server = Server::new();
        server.script(5, vec![ok_after(0, "first 5"), ok_after(0, "second 5")]);
        let client = RateLimitedClient::new(server.clone(), roomy());
        let results = client.get_many(&[5, 7, 5], 1).await;
        assert_eq!(
            server.calls(5),
            2,
            "ids [5, 7, 5]: an id listed twice is fetched twice (the server may answer \
             differently the second time), not once with its result copied"
        );
        // Which fetch of 5 answers first is the order the fetches start in, which the docs
        // leave open: compare the two places of 5 as a set.
        let mut fives = vec![results[0].clone(), results[2].clone()];
        fives.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(
            (fives, results[1].clone()),
            (
                vec![Ok("first 5".to_owned()), Ok("second 5".to_owned())],
                ok(7)
            ),
            "ids [5, 7, 5]: one result in each place — each place of 5 gets the answer of one of \
             the two fetches of 5 (not the same one twice), and 7's stays in the middle"
        );
    });
}

/// contract: "Dropping the returned future (a caller's own timeout, say) cancels the request at that instant"
#[test]
fn dropping_a_get_cancels_it_wherever_it_waits() {
    testkit::run(|| async {
        use tokio::time::timeout;
        let server = Server::new();
        server
            .script(1, vec![ok_after(500, "body 1")])
            .script(3, vec![ok_after(500, "body 3")]);
        let config = Config {
            burst: 1,
            refill_every: ms(100),
            max_in_flight: 2,
            ..roomy()
        };
        let client = RateLimitedClient::new(server.clone(), config);
        // 1 is sent at t=0 and dropped in flight at 200ms; 2 holds the second slot and waits for
        // a token until it is dropped at 50ms; 3 waits for a slot from 10ms; 4 from 150ms.
        let (r1, r2, r3, r4) = tokio::join!(
            timeout(ms(200), client.get(1)),
            timeout(ms(50), client.get(2)),
            async {
                sleep(ms(10)).await;
                client.get(3).await
            },
            async {
                sleep(ms(150)).await;
                client.get(4).await
            },
        );
        server.log().assert_eq(
            &[(0, "call 1 #1"), (100, "call 3 #1"), (200, "call 4 #1")],
            "request 2, dropped at 50ms while it waited for a token, must leave the queue and \
             never be sent: 3 takes its slot and the token of t=100ms. Request 1, dropped at \
             200ms in flight, must free its slot then: 4 is sent at t=200ms. (A get that runs \
             its attempts on a spawned task keeps going after the caller dropped it.)",
        );
        assert_eq!(
            server.probe(1, 1).cancelled_at(),
            Some(ms(200)),
            "request 1 was dropped by its caller at t=200ms, in flight: its attempt must be \
             abandoned then ({})",
            server.probe(1, 1).describe()
        );
        assert_eq!(
            (r1.is_err(), r2.is_err(), r3, r4),
            (true, true, ok(3), ok(4)),
            "requests 1 and 2 were dropped by their callers' timeouts; 3 and 4 succeed"
        );
    });
}

/// contract: "the limits protect the server, so they must hold however many clones and tasks the callers make"
/// contract: "The futures returned by [`get`](Self::get) and [`get_many`](Self::get_many) are `Send`"
#[test]
fn callers_on_many_tasks_on_other_threads_share_one_bucket() {
    testkit::threads::on_threads(2, Duration::from_secs(30), || async {
        for round in 1..=20 {
            let api = Counting::default();
            let config = Config {
                burst: 3,
                refill_every: secs(3600),
                ..roomy()
            };
            let client = RateLimitedClient::new(api.clone(), config);
            // 40 callers on the runtime's worker threads, all at once, on clones of one client.
            let callers: Vec<_> = (0..40)
                .map(|id| {
                    let client = client.clone();
                    tokio::spawn(async move { client.get(id).await })
                })
                .collect();
            // Real time: until the 3 tokens are spent (however busy the machine), then a little
            // longer, for any request that should not be there to show up.
            let count = || api.0.load(std::sync::atomic::Ordering::SeqCst);
            let since = std::time::Instant::now();
            while count() < 3 && since.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let sent = count();
            for caller in &callers {
                caller.abort();
            }
            assert_eq!(
                sent, 3,
                "round {round} of 20: 40 callers on other threads share a fresh bucket of 3 tokens \
                 that refills once an hour: exactly 3 requests may reach the server — look for a \
                 token that is checked under one lock and taken under another (two threads both \
                 see the last token), or a bucket per clone"
            );
        }
    });
}

// ---- instructor only: tests against the reference
//
// Differential test: runs generated from a fixed seed — get() calls issued at multiples of
// 100 ms, a server whose n-th request (in arrival order) waits 0 to 500 ms and then answers with a
// body, a transient error (with or without a retry-after hint) or a permanent one, and every
// burst, in-flight cap, timeout, retry count and backoff, zeros included — each replayed on the
// reference and on the learner's crate. With `refill_every` = 100 ms every instant of the run
// lies on the 100 ms grid, where the two correct bucket designs (continuous, or ticks anchored at
// creation) agree; with `refill_every` = 0 (no rate limit) one caller may drop its get() at
// 100k + 25 ms, off that grid, so that nothing else happens at that instant.
//
// Compared: when requests were sent, answered or abandoned, and what each get() returned when —
// as multisets per instant. The requests are alike but for their id and the server answers by
// arrival order, so two requests that start waiting at one instant (which the docs leave in
// either order) are interchangeable and the multisets are the same either way.

use ex03_rate_limited_client_reference as reference;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use testkit::differential::proptest::prelude::*;
use testkit::differential::{Check, same_events};
use tokio::time::{Instant, sleep_until, timeout_at};

type Observed = Vec<(u64, String)>;
type Replayed = Pin<Box<dyn Future<Output = Observed>>>;

#[derive(Clone, Copy, Debug)]
enum Reply {
    Ok,
    RateLimited(Option<u64>),
    Unavailable,
    NotFound,
    Invalid,
}

#[derive(Clone, Debug)]
struct Run {
    burst: u32,
    refill: u64,
    max_in_flight: usize,
    timeout: u64,
    max_retries: u32,
    initial_backoff: u64,
    max_backoff: u64,
    /// When each get() is issued (ms).
    issued: Vec<u64>,
    /// The server's n-th request waits `.0` ms, then answers `.1` (past the end: at once, a body).
    answers: Vec<(u64, Reply)>,
    /// The caller of get() number `.0` drops it at `.1` ms (only without a rate limit).
    drop: Option<(usize, u64)>,
}

fn hundreds(most: u64) -> impl Strategy<Value = u64> {
    (0..=most).prop_map(|k| 100 * k)
}

fn runs() -> impl Strategy<Value = Run> {
    let reply = prop_oneof![
        4 => Just(Reply::Ok),
        2 => prop::option::of(hundreds(3)).prop_map(Reply::RateLimited),
        2 => Just(Reply::Unavailable),
        1 => Just(Reply::NotFound),
        1 => Just(Reply::Invalid),
    ];
    let limits = (
        0..=3u32,
        prop_oneof![3 => Just(100u64), 1 => Just(0u64)],
        0..=3usize,
        (1..=4u64).prop_map(|k| 100 * k),
        0..=3u32,
        (1..=2u64).prop_map(|k| 100 * k),
        (1..=4u64).prop_map(|k| 100 * k),
    );
    (
        limits,
        prop::collection::vec(hundreds(8), 1..=8),
        prop::collection::vec(
            (prop::sample::select(vec![0u64, 100, 200, 500]), reply),
            0..=12,
        ),
        (0..8usize, (0..=15u64).prop_map(|k| 100 * k + 25)),
    )
        .prop_map(|(limits, issued, answers, drop)| {
            let (burst, refill, max_in_flight, timeout, max_retries, initial_backoff, max_backoff) =
                limits;
            let drop = (refill == 0 && drop.0 < issued.len()).then_some(drop);
            Run {
                burst,
                refill,
                max_in_flight,
                timeout,
                max_retries,
                initial_backoff,
                max_backoff,
                issued,
                answers,
                drop,
            }
        })
}

/// The scripted server of one replay: answers by arrival order, logs every request's fate.
struct Script {
    answers: Vec<(u64, Reply)>,
    arrived: AtomicUsize,
    requests: Mutex<Vec<Probe>>,
}

impl Script {
    /// The next arrival's number (from 1), its delay and its reply, and a probe that watches it.
    fn arrive(&self) -> (u64, Reply, Probe) {
        let n = self.arrived.fetch_add(1, Ordering::SeqCst);
        let (delay, reply) = self.answers.get(n).copied().unwrap_or((0, Reply::Ok));
        let probe = Probe::new(format!("request #{}", n + 1));
        self.requests.lock().unwrap().push(probe.clone());
        (delay, reply, probe)
    }

    /// Each request's send, answer or abandonment, by instant.
    fn events(&self) -> Observed {
        let millis = |t: Duration| t.as_millis() as u64;
        let mut events = Vec::new();
        for probe in self.requests.lock().unwrap().iter() {
            let happened = [
                (probe.started_at(), "sent"),
                (probe.completed_at(), "answered"),
                (probe.cancelled_at(), "abandoned"),
            ];
            for (at, what) in happened {
                if let Some(t) = at {
                    events.push((millis(t), format!("{} {what}", probe.name())));
                }
            }
        }
        events
    }
}

macro_rules! scripted_api {
    ($krate:ident, $name:ident) => {
        #[derive(Clone)]
        struct $name(Arc<Script>);

        impl $krate::Api for $name {
            fn call(
                &self,
                _id: u64,
            ) -> impl Future<Output = Result<String, $krate::ApiError>> + Send {
                let script = self.0.clone();
                async move {
                    let (delay, reply, probe) = script.arrive();
                    probe.wrap(sleep(ms(delay))).await;
                    match reply {
                        Reply::Ok => Ok("body".to_owned()),
                        Reply::RateLimited(hint) => Err($krate::ApiError::RateLimited {
                            retry_after: hint.map(ms),
                        }),
                        Reply::Unavailable => Err($krate::ApiError::Unavailable),
                        Reply::NotFound => Err($krate::ApiError::NotFound),
                        Reply::Invalid => Err($krate::ApiError::Invalid("bad".to_owned())),
                    }
                }
            }
        }
    };
}

scripted_api!(ex03_rate_limited_client, YourApi);
scripted_api!(reference, ReferenceApi);

macro_rules! replay_run {
    ($krate:ident, $api:ident) => {
        |run: Run| -> Replayed {
            Box::pin(async move {
                let script = Arc::new(Script {
                    answers: run.answers.clone(),
                    arrived: AtomicUsize::new(0),
                    requests: Mutex::default(),
                });
                let config = $krate::Config {
                    burst: run.burst,
                    refill_every: ms(run.refill),
                    max_in_flight: run.max_in_flight,
                    timeout: ms(run.timeout),
                    max_retries: run.max_retries,
                    initial_backoff: ms(run.initial_backoff),
                    max_backoff: ms(run.max_backoff),
                };
                let client = $krate::RateLimitedClient::new($api(script.clone()), config);
                let start = Instant::now();
                let returned = Timeline::new();
                let callers: Vec<_> = run
                    .issued
                    .iter()
                    .enumerate()
                    .map(|(i, &at)| {
                        let (client, returned) = (client.clone(), returned.clone());
                        let drop_at = run.drop.filter(|d| d.0 == i).map(|d| start + ms(d.1));
                        testkit::spawn(async move {
                            sleep_until(start + ms(at)).await;
                            let never = start + secs(3600);
                            let result = timeout_at(drop_at.unwrap_or(never), client.get(i as u64));
                            let said = match result.await {
                                Err(_) => "a caller drops its get".to_owned(),
                                Ok(Ok(body)) => format!("get returns Ok({body:?})"),
                                Ok(Err($krate::ClientError::Permanent(e))) => {
                                    format!("get returns Permanent({e})")
                                }
                                Ok(Err($krate::ClientError::GaveUp { attempts, last })) => {
                                    let last = match last {
                                        $krate::Failure::Api(e) => format!("Api({e})"),
                                        $krate::Failure::TimedOut(d) => format!("TimedOut({d:?})"),
                                    };
                                    format!("get returns GaveUp {{ attempts: {attempts}, last: {last} }}")
                                }
                            };
                            returned.record(said);
                        })
                    })
                    .collect();
                for caller in callers {
                    caller.await.expect("a caller of get panicked");
                }
                drop(client);
                let mut events = script.events();
                let millis = |t: Duration| t.as_millis() as u64;
                events.extend(returned.entries().into_iter().map(|(t, e)| (millis(t), e)));
                events.sort();
                events
            })
        }
    };
}

/// contract: "Waiting requests are served **in FIFO order**"
/// contract: "The wait before retry `n` (`n = 1, 2, …`) is `min(initial_backoff × 2^(n-1), max_backoff)`"
/// contract: "An attempt that takes longer is dropped at exactly that instant"
/// contract: "A retry waits for a slot and a token like any other request."
/// contract: "returns one result per id **in the order of `ids`**"
#[test]
fn the_client_matches_the_reference_on_generated_runs_on_the_refill_grid() {
    Check::new("the_client_matches_the_reference_on_generated_runs_on_the_refill_grid")
        .cases(192)
        .run(
            runs(),
            replay_run!(ex03_rate_limited_client, YourApi),
            replay_run!(reference, ReferenceApi),
            |_, reference, yours| {
                same_events(
                    "when requests were sent, answered or abandoned, and what each get() returned \
                     when (per instant, in any order: requests that start waiting together may go \
                     in either order)",
                    reference,
                    yours,
                )
            },
        );
}
