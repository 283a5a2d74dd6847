//! The paused-clock runner: one fresh current-thread runtime per test, with a virtual-time limit, a
//! wall-clock watchdog, a blocking detector and a leaked-task check around the body.

use crate::culprit::{self, Culprit, Tally};
use crate::{clock, fmt_duration, verdict};
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant as WallInstant};

/// A test body with its types erased. Every test's closure and future are types of their own, so
/// a runner generic over them would be compiled again for each test: the runtime, `block_on`, the
/// watchdog, the judging — once per `#[test]`, in every hidden suite, on every save. Boxing the
/// body at the door leaves one small shim per test ([`erase`]) and compiles the runner once, here.
pub(crate) type Body = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

fn erase<F, Fut>(body: F) -> Body
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    Box::new(move || Box::pin(body()))
}

/// How a test is run. [`run`] uses the defaults; build a `Test` to change a limit:
///
/// ```
/// use testkit::{Test, secs};
/// Test::new().virtual_limit(secs(3600)).run(|| async {
///     tokio::time::sleep(secs(1800)).await; // half an hour of virtual time, in microseconds
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Test {
    virtual_limit: Duration,
    wall_limit: Duration,
    block_limit: Duration,
    check_leaks: bool,
}

impl Default for Test {
    fn default() -> Self {
        Self {
            virtual_limit: Duration::from_secs(600),
            wall_limit: Duration::from_secs(10),
            block_limit: Duration::from_millis(200),
            check_leaks: true,
        }
    }
}

/// Runs `body` on a paused-clock runtime with the default limits (10 min virtual, 10 s wall,
/// 200 ms of blocking, no leaked tasks). The closure builds the future on the runtime's own
/// thread, so the future itself need not be `Send`.
#[track_caller]
pub fn run<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    Test::new().run(body)
}

impl Test {
    pub fn new() -> Self {
        Self::default()
    }

    /// Virtual time after which the body is considered to wait forever.
    pub fn virtual_limit(mut self, limit: Duration) -> Self {
        self.virtual_limit = limit;
        self
    }

    /// Real time after which the body is considered stuck (it never lets the runtime go idle).
    pub fn wall_limit(mut self, limit: Duration) -> Self {
        self.wall_limit = limit;
        self
    }

    /// The longest stretch of real time the runtime may run without going idle.
    pub fn block_limit(mut self, limit: Duration) -> Self {
        self.block_limit = limit;
        self
    }

    /// Tasks left alive after the body returns are allowed (the default is to fail the test).
    pub fn allow_leaks(mut self) -> Self {
        self.check_leaks = false;
        self
    }

    /// Runs the body; panics with a message for the learner if anything went wrong.
    #[track_caller]
    pub fn run<F, Fut>(self, body: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.run_erased(erase(body))
    }

    // The work of `run`, compiled once in the kit instead of once per test (see [`Body`]).
    #[track_caller]
    fn run_erased(self, body: Body) {
        let result = self.try_run_erased(body);
        if let Err(failure) = result {
            // `resume_unwind` keeps an assertion's own message (and its pretty diff) intact; it was
            // already printed by the panic hook on the runtime thread, where it happened.
            match failure {
                Failure::Panicked(payload) => std::panic::resume_unwind(payload),
                other => panic!("{other}"),
            }
        }
    }

    /// Runs the body and returns what went wrong instead of panicking. The kit's own tests use it.
    pub fn try_run<F, Fut>(self, body: F) -> Result<Report, Failure>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.try_run_erased(erase(body))
    }

    fn try_run_erased(self, body: Body) -> Result<Report, Failure> {
        // Under the grader, take the verdict channel (first run) and mark this run as started;
        // report its outcome through the signed channel when it is over.
        verdict::arm();
        let result = self.run_and_judge(body);
        match &result {
            Ok(_) => verdict::record("passed", ""),
            Err(failure) => verdict::record(failure.kind(), &failure.to_string()),
        }
        result
    }

    /// A run whose outcome the caller reports itself (a differential check runs many).
    #[cfg(feature = "differential")]
    pub(crate) fn try_run_unrecorded(self, body: Body) -> Result<Report, Failure> {
        self.run_and_judge(body)
    }

    fn run_and_judge(self, body: Body) -> Result<Report, Failure> {
        // Colour in diffs only when a person is watching a terminal.
        if !std::io::IsTerminal::is_terminal(&std::io::stdout())
            || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        {
            yansi::disable();
        }
        let stats = Arc::new(BusyStats::new());
        let (tx, rx) = mpsc::channel();
        let thread_name = std::thread::current().name().unwrap_or("test").to_owned();
        let config = self.clone();
        let runtime_stats = stats.clone();
        let worker = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_on_paused_runtime(&config, runtime_stats.clone(), body)
                }));
                // The stretch in progress when the body returned (or panicked) counts too: a body
                // that blocked and then finished never parked again to close it.
                runtime_stats.park();
                match result {
                    Ok(outcome) => {
                        let _ = tx.send(outcome);
                    }
                    Err(payload) => std::panic::resume_unwind(payload),
                }
            })
            .expect("testkit: could not start the runtime thread");

        let wall = WallInstant::now();
        match rx.recv_timeout(self.wall_limit) {
            Ok(outcome) => {
                let _ = worker.join();
                if let BodyOutcome::Finished {
                    virtual_elapsed, ..
                } = &outcome
                {
                    record_timing(*virtual_elapsed, wall.elapsed());
                }
                self.judge(outcome, &stats)
            }
            // The runtime thread panicked: the body (or a `todo!()`) panicked.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let payload = match worker.join() {
                    Err(payload) => payload,
                    Ok(()) => Box::new("the test body ended without a result"),
                };
                Err(self.explain_panic(payload, &stats))
            }
            // A thread cannot be killed: it keeps spinning until the test process exits. The other
            // tests keep their results; the grader runs each test in its own process anyway.
            Err(mpsc::RecvTimeoutError::Timeout) => Err(self.explain_stuck(&stats)),
        }
    }

    fn judge(&self, outcome: BodyOutcome, stats: &BusyStats) -> Result<Report, Failure> {
        let (longest, longest_at) = stats.longest();
        if longest >= self.block_limit {
            return Err(Failure::Blocked {
                wall: longest,
                at: longest_at,
                culprit: stats.longest_culprit(),
                then: None,
            });
        }
        match outcome {
            BodyOutcome::Finished {
                virtual_elapsed,
                alive_tasks,
            } => {
                if self.check_leaks && alive_tasks > 0 {
                    return Err(Failure::LeakedTasks {
                        alive: alive_tasks,
                        at: virtual_elapsed,
                    });
                }
                Ok(Report {
                    virtual_elapsed,
                    longest_busy: longest,
                    alive_tasks,
                })
            }
            BodyOutcome::WaitedForever { virtual_elapsed } => Err(Failure::WaitedForever {
                limit: self.virtual_limit,
                at: virtual_elapsed,
            }),
        }
    }

    fn explain_panic(&self, payload: Box<dyn Any + Send>, stats: &BusyStats) -> Failure {
        let message = panic_message(payload.as_ref());
        if let Some(what) = not_implemented(&message) {
            return Failure::NotImplemented(what);
        }
        // An assertion about timing that failed *because* the code blocked: name the cause first.
        let (longest, longest_at) = stats.longest();
        if longest >= self.block_limit {
            return Failure::Blocked {
                wall: longest,
                at: longest_at,
                culprit: stats.longest_culprit(),
                then: Some(message),
            };
        }
        Failure::Panicked(payload)
    }

    fn explain_stuck(&self, stats: &BusyStats) -> Failure {
        match stats.current_stretch() {
            Some((busy, at)) if busy >= self.wall_limit / 2 => Failure::NeverYielded {
                wall: busy,
                at,
                culprit: stats.tally.in_progress(),
            },
            // Virtual time kept moving: a loop that keeps waiting on timers and never ends.
            _ if stats.last_virtual() > Duration::ZERO => Failure::KeptWaiting {
                wall: self.wall_limit,
                at: stats.last_virtual(),
            },
            _ => Failure::FrozenClock {
                wall: self.wall_limit,
            },
        }
    }
}

/// What a finished test measured (the kit's own tests and the benchmarks read it).
#[derive(Debug, Clone)]
pub struct Report {
    /// Virtual time the body took.
    pub virtual_elapsed: Duration,
    /// The longest stretch of real time the runtime ran without going idle.
    pub longest_busy: Duration,
    /// Tasks alive after the body returned (only non-zero when leaks are allowed).
    pub alive_tasks: usize,
}

/// Why a test failed, each with a message written for the learner.
pub enum Failure {
    /// The body panicked (an assertion failed); the payload is re-raised unchanged.
    Panicked(Box<dyn Any + Send>),
    /// A `todo!()` was reached; the string is what it says is missing.
    NotImplemented(String),
    /// Still waiting when the virtual-time limit passed.
    WaitedForever { limit: Duration, at: Duration },
    /// One stretch of real time without the runtime going idle was longer than the limit;
    /// `culprit` is the code that held most of it.
    Blocked {
        wall: Duration,
        at: Duration,
        culprit: Culprit,
        then: Option<String>,
    },
    /// The wall-clock watchdog fired while the runtime was busy: code that never yields
    /// (`culprit`, the code running when it fired).
    NeverYielded {
        wall: Duration,
        at: Duration,
        culprit: Culprit,
    },
    /// The watchdog fired while the runtime was idle with no timer able to fire.
    FrozenClock { wall: Duration },
    /// The watchdog fired while virtual time was still moving: an endless loop of short waits.
    KeptWaiting { wall: Duration, at: Duration },
    /// Tasks were still alive after the body returned.
    LeakedTasks { alive: usize, at: Duration },
}

impl Failure {
    /// A stable name for the kind of failure, as the grader reports it.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Panicked(_) => "failed",
            Failure::NotImplemented(_) => "not-implemented",
            Failure::WaitedForever { .. } => "waited-forever",
            Failure::Blocked { .. } => "blocked",
            Failure::NeverYielded { .. } => "never-yielded",
            Failure::FrozenClock { .. } => "frozen-clock",
            Failure::KeptWaiting { .. } => "waited-forever",
            Failure::LeakedTasks { .. } => "leaked-tasks",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = |d: &Duration| fmt_duration(*d);
        match self {
            Failure::Panicked(p) => write!(f, "{}", panic_message(p.as_ref())),
            Failure::NotImplemented(what) => write!(
                f,
                "not implemented yet: {what}\n  (this test reached a todo!() in the exercise: \
                 replace it with your implementation)"
            ),
            Failure::WaitedForever { limit, at } => write!(
                f,
                "waited forever: the test was still waiting after {} of virtual time (t = {}).\n  \
                 Something the test awaits never completes: a value never sent, a lock or permit \
                 never released, a task never woken, or a wait measured with \
                 std::time::Instant (it does not move on tokio's paused clock: use \
                 tokio::time::Instant and tokio::time::sleep).",
                d(limit),
                d(at)
            ),
            Failure::Blocked {
                wall,
                at,
                culprit,
                then,
            } => {
                write!(
                    f,
                    "blocked the executor for {} of real time in one stretch (virtual clock \
                     stopped at t = {}), {culprit}.\n  Async code must not block the thread. Use \
                     tokio::time::sleep instead of std::thread::sleep, tokio::sync instead of \
                     std::sync locks held while waiting, and spawn_blocking for heavy or \
                     blocking work.",
                    d(wall),
                    d(at)
                )?;
                if let Some(then) = then {
                    write!(f, "\n  The test then failed with:\n{then}")?;
                }
                Ok(())
            }
            Failure::NeverYielded { wall, at, culprit } => write!(
                f,
                "never yielded: the executor has been running for {} of real time without \
                 going idle once (virtual clock stuck at t = {}), {culprit}.\n  A loop with no \
                 .await in it, \
                 or one that only polls (yield_now / try_recv in a loop), starves every other \
                 task and the timer.",
                d(wall),
                d(at)
            ),
            Failure::FrozenClock { wall } => write!(
                f,
                "made no progress for {} of real time while the virtual clock was frozen: a \
                 spawn_blocking or tokio::fs task that never finishes (for example one waiting \
                 for something that needs virtual time to pass) stops the paused clock.",
                d(wall)
            ),
            Failure::KeptWaiting { wall, at } => write!(
                f,
                "waited forever: still running after {} of real time, at t = {} of virtual time. \
                 A loop that keeps waiting on short timers and never reaches its end condition?",
                d(wall),
                d(at)
            ),
            Failure::LeakedTasks { alive, at } => write!(
                f,
                "leaked {alive} task(s): still alive after the operation returned at t = {}. \
                 Every task you spawn must finish, be awaited, or be aborted (JoinSet, \
                 JoinHandle::abort, a CancellationToken) before you return.",
                d(at)
            ),
        }
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

enum BodyOutcome {
    Finished {
        virtual_elapsed: Duration,
        alive_tasks: usize,
    },
    WaitedForever {
        virtual_elapsed: Duration,
    },
}

thread_local! {
    /// The stretch meter of the runtime this thread drives, while it drives one.
    static RUNTIME_STATS: std::cell::RefCell<Option<Arc<BusyStats>>> =
        const { std::cell::RefCell::new(None) };
}

/// Time spent printing a panic is not time the code held the executor: with `RUST_BACKTRACE=1`
/// (a common setting on learners' machines) the standard hook resolves a backtrace, 100–300 ms the
/// first time, and a correct solution whose task panics on purpose would be "blocked". The kit's
/// hook closes the stretch before the previous hook prints and opens a new one after.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let stats = RUNTIME_STATS
                .try_with(|s| s.borrow().clone())
                .ok()
                .flatten();
            if let Some(stats) = &stats {
                stats.park();
            }
            if !quiet() {
                previous(info);
            }
            if let Some(stats) = &stats {
                stats.unpark();
            }
        }));
    });
}

/// A differential check's search replays failing scenarios quietly (it reports the smallest).
fn quiet() -> bool {
    #[cfg(feature = "differential")]
    return crate::differential::is_quiet();
    #[cfg(not(feature = "differential"))]
    false
}

/// Sets [`RUNTIME_STATS`] for as long as it lives.
struct DrivingRuntime;

impl DrivingRuntime {
    fn new(stats: &Arc<BusyStats>) -> Self {
        RUNTIME_STATS.with(|s| *s.borrow_mut() = Some(stats.clone()));
        DrivingRuntime
    }
}

impl Drop for DrivingRuntime {
    fn drop(&mut self) {
        let _ = RUNTIME_STATS.try_with(|s| s.borrow_mut().take());
    }
}

fn run_on_paused_runtime(config: &Test, stats: Arc<BusyStats>, body: Body) -> BodyOutcome {
    install_panic_hook();
    let _driving = DrivingRuntime::new(&stats);
    let (parked, unparked) = (stats.clone(), stats.clone());
    let mut builder = tokio::runtime::Builder::new_current_thread();
    // Which task is being polled, for the "blocked" message (see `culprit`).
    culprit::install(&mut builder, &stats.tally);
    let runtime = builder
        .enable_all()
        // `TESTKIT_REAL_CLOCK=1` runs the same scenarios on a real clock: the benchmark's baseline.
        .start_paused(std::env::var_os("TESTKIT_REAL_CLOCK").is_none())
        // A current-thread runtime "parks" exactly when it has nothing to run; that is also the
        // only moment the paused clock can jump. So the wall time between an unpark and the next
        // park is a stretch in which virtual time stood still: a long one means some code (any
        // task's) held the thread without yielding.
        .on_thread_park(move || parked.park())
        .on_thread_unpark(move || unparked.unpark())
        .build()
        .expect("testkit: could not build the paused runtime");

    let outcome = runtime.block_on(async {
        let start = tokio::time::Instant::now();
        clock::set_origin(start);
        stats.unpark();
        match tokio::time::timeout(config.virtual_limit, body()).await {
            Err(_) => BodyOutcome::WaitedForever {
                virtual_elapsed: start.elapsed(),
            },
            Ok(()) => {
                let virtual_elapsed = start.elapsed();
                // Aborted or finishing tasks leave the count only after they are polled once more.
                for _ in 0..8 {
                    tokio::task::yield_now().await;
                }
                let alive_tasks = tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks();
                BodyOutcome::Finished {
                    virtual_elapsed,
                    alive_tasks,
                }
            }
        }
    });
    // Do not wait for blocking-pool threads a learner may have left running.
    runtime.shutdown_background();
    outcome
}

/// Busy stretches of the runtime thread, in wall time, and the virtual instant of the longest.
///
/// A stretch does not count the time the thread spent *ready to run but without a CPU*: on a
/// machine busier than it has cores (a class graded two at a time, a CI runner building in
/// parallel) the OS can leave the runtime thread waiting 200 ms between two instructions, and a
/// correct solution would be called blocked. Linux counts that wait per thread
/// (`/proc/thread-self/schedstat`, "time spent waiting on a runqueue"); it is subtracted. Time the
/// code *chose* to block — `std::thread::sleep`, a blocking read, a busy loop — is not a runqueue
/// wait and still counts in full. Without that file the stretch is plain wall time.
struct BusyStats {
    base: WallInstant,
    /// Wall nanoseconds since `base` at the last unpark, plus one; 0 while parked.
    busy_since: AtomicU64,
    /// The runtime thread's runqueue wait (ns) at the last unpark.
    waited_since: AtomicU64,
    /// The runtime thread's own schedstat file, opened by that thread on its first unpark.
    schedstat: std::sync::OnceLock<Option<std::fs::File>>,
    /// Virtual nanoseconds at the last unpark: the clock cannot move until the next park.
    busy_since_virtual: AtomicU64,
    longest: AtomicU64,
    longest_at: AtomicU64,
    /// Which code held each stretch; `longest_culprit` is the one that held the longest.
    tally: Arc<Tally>,
    longest_culprit: std::sync::Mutex<Culprit>,
}

impl BusyStats {
    fn new() -> Self {
        Self {
            base: WallInstant::now(),
            busy_since: AtomicU64::new(0),
            waited_since: AtomicU64::new(0),
            schedstat: std::sync::OnceLock::new(),
            busy_since_virtual: AtomicU64::new(0),
            longest: AtomicU64::new(0),
            longest_at: AtomicU64::new(0),
            tally: Arc::default(),
            longest_culprit: std::sync::Mutex::new(Culprit::Unknown),
        }
    }

    fn wall_nanos(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64 + 1
    }

    /// How long the runtime thread has waited for a CPU so far (0 where Linux does not say).
    fn waited(&self) -> u64 {
        use std::os::unix::fs::FileExt;
        let file = self
            .schedstat
            .get_or_init(|| std::fs::File::open("/proc/thread-self/schedstat").ok());
        let Some(file) = file else { return 0 };
        // "<ns on a CPU> <ns waiting on a runqueue> <timeslices>\n"
        let mut buf = [0u8; 96];
        let len = file.read_at(&mut buf, 0).unwrap_or(0);
        std::str::from_utf8(&buf[..len])
            .ok()
            .and_then(|text| text.split_whitespace().nth(1))
            .and_then(|waited| waited.parse().ok())
            .unwrap_or(0)
    }

    fn unpark(&self) {
        self.busy_since_virtual
            .store(clock::now().as_nanos() as u64, Ordering::SeqCst);
        self.waited_since.store(self.waited(), Ordering::SeqCst);
        self.busy_since.store(self.wall_nanos(), Ordering::SeqCst);
        self.tally.open();
    }

    fn park(&self) {
        let since = self.busy_since.swap(0, Ordering::SeqCst);
        if since == 0 {
            return;
        }
        let waited = self
            .waited()
            .saturating_sub(self.waited_since.load(Ordering::SeqCst));
        let stretch = (self.wall_nanos() - since).saturating_sub(waited);
        let culprit = self.tally.close();
        if stretch > self.longest.load(Ordering::SeqCst) {
            self.longest.store(stretch, Ordering::SeqCst);
            let at = self.busy_since_virtual.load(Ordering::SeqCst);
            self.longest_at.store(at, Ordering::SeqCst);
            *self
                .longest_culprit
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = culprit;
        }
    }

    /// The code that held the longest stretch.
    fn longest_culprit(&self) -> Culprit {
        *self
            .longest_culprit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn longest(&self) -> (Duration, Duration) {
        (
            Duration::from_nanos(self.longest.load(Ordering::SeqCst)),
            Duration::from_nanos(self.longest_at.load(Ordering::SeqCst)),
        )
    }

    /// The virtual instant of the last unpark: how far the clock had got.
    fn last_virtual(&self) -> Duration {
        Duration::from_nanos(self.busy_since_virtual.load(Ordering::SeqCst))
    }

    /// The stretch in progress, if the runtime is busy right now (read by the watchdog).
    fn current_stretch(&self) -> Option<(Duration, Duration)> {
        let since = self.busy_since.load(Ordering::SeqCst);
        (since != 0).then(|| {
            let busy = Duration::from_nanos(self.wall_nanos() - since);
            (
                busy,
                Duration::from_nanos(self.busy_since_virtual.load(Ordering::SeqCst)),
            )
        })
    }
}

/// With `TESTKIT_TIMINGS=<file>` set, every finished test appends `name<TAB>virtual ns<TAB>wall ns`
/// to that file: how the suite's benchmark adds up the virtual time a suite covers.
fn record_timing(virtual_elapsed: Duration, wall: Duration) {
    use std::io::Write;
    let Some(path) = std::env::var_os("TESTKIT_TIMINGS") else {
        return;
    };
    let name = std::thread::current().name().unwrap_or("test").to_owned();
    let line = format!(
        "{name}\t{}\t{}\n",
        virtual_elapsed.as_nanos(),
        wall.as_nanos()
    );
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Records a run's outcome in the grader's channel, then fails the test the way [`run`] does:
/// an assertion's own panic is resumed (its message and diff intact), any other failure panics
/// with the kit's explanation.
#[track_caller]
pub(crate) fn record_and_conclude(result: Result<(), Failure>) {
    match result {
        Ok(()) => verdict::record("passed", ""),
        Err(failure) => {
            verdict::record(failure.kind(), &failure.to_string());
            match failure {
                Failure::Panicked(payload) => std::panic::resume_unwind(payload),
                other => panic!("{other}"),
            }
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "the test panicked with a non-string payload".to_owned()
    }
}

/// `todo!("x")` panics with "not yet implemented: x"; it may also arrive wrapped, for example in a
/// `JoinError` that was unwrapped. Returns the "x".
pub(crate) fn not_implemented(message: &str) -> Option<String> {
    const MARK: &str = "not yet implemented";
    let rest = &message[message.find(MARK)? + MARK.len()..];
    let what = rest.strip_prefix(": ").unwrap_or("");
    let end = what.find(['"', '\n']).unwrap_or(what.len());
    let what = what[..end].trim();
    Some(if what.is_empty() {
        "a todo!() without a message".to_owned()
    } else {
        what.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::not_implemented;

    #[test]
    fn todo_messages_are_recognised_even_when_wrapped() {
        assert_eq!(
            not_implemented("not yet implemented: retry").as_deref(),
            Some("retry")
        );
        assert_eq!(
            not_implemented(
                "called `Result::unwrap()` on an `Err` value: JoinError::Panic(Id(3), \
                 \"not yet implemented: spawn the workers\", ..)"
            )
            .as_deref(),
            Some("spawn the workers")
        );
        assert_eq!(
            not_implemented("not yet implemented").as_deref(),
            Some("a todo!() without a message")
        );
        assert_eq!(not_implemented("assertion failed"), None);
    }
}
