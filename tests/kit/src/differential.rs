//! Differential tests: the learner's code and the reference, on the same generated scenarios.
//!
//! A hand-written scenario checks the instants its author thought of. A differential test
//! generates scenarios from a fixed seed — arrival instants, delays, failures, repeated inputs,
//! the moment a caller gives up — replays each one on a fresh paused-clock runtime against the
//! reference and against the learner's crate, and compares what a caller observes. When the two
//! differ, [proptest](https://docs.rs/proptest) shrinks the scenario to the smallest one that still
//! shows the difference, and the learner sees that scenario with both observations side by side.
//!
//! ```ignore
//! testkit::differential::Check::new("requests_are_sent_when_the_reference_sends_them")
//!     .run(
//!         scenarios(),                                  // a proptest Strategy
//!         |s| Box::pin(async move { observe!(ex03, s) }), // the learner's crate
//!         |s| Box::pin(async move { observe!(reference, s) }),
//!         |_, reference, yours| same_events(reference, yours),
//!     );
//! ```
//!
//! Each observation runs under the kit's runner, so a learner's `todo!()`, blocking call, endless
//! wait or leaked task is reported as such (on the scenario where it happened), never as a
//! mismatch. The seed comes from the check's name: every run, on every machine, explores the same
//! scenarios, so a grade is reproducible. Proptest's failure files are off (the grader's sandbox
//! is read-only) and so are its environment variables: `PROPTEST_CASES` on a learner's machine
//! cannot make the check weaker.

/// The property-testing crate, for the suites' scenario generators (`proptest::prelude::*`).
pub use proptest;

use crate::runner::{Failure, Test};
use crate::timeline;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one side's replay of a scenario returns: the observation, computed on the paused clock.
pub type Replay<V, O> = Arc<dyn Fn(V) -> Pin<Box<dyn Future<Output = O>>> + Send + Sync>;

/// How two observations of one scenario are compared: `Err` explains a difference the contract
/// does not allow.
type Judge<'a, V, O> = &'a dyn Fn(&V, &O, &O) -> Result<(), String>;

/// The tests (by thread name: a test's runtime thread carries its test's name) whose panics the
/// kit's hook does not print: a search replays failing scenarios dozens of times while shrinking,
/// and the learner needs the smallest one, once. Other tests running in parallel keep theirs.
static QUIET: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub(crate) fn is_quiet() -> bool {
    let name = std::thread::current().name().map(str::to_owned);
    name.is_some_and(|n| QUIET.lock().unwrap_or_else(|e| e.into_inner()).contains(&n))
}

/// Marks this test quiet for as long as it lives.
struct Quiet(String);

impl Quiet {
    fn new() -> Self {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        QUIET
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        Quiet(name)
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        let mut quiet = QUIET.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = quiet.iter().position(|n| *n == self.0) {
            quiet.swap_remove(i);
        }
    }
}

/// A differential check: its name (which fixes the seed), how many scenarios, and the limits of
/// each replay.
pub struct Check {
    name: String,
    cases: u32,
    test: Test,
}

/// Why a scenario failed, kept as text so that the smallest one can be reported after shrinking.
#[derive(Clone, Debug)]
enum Why {
    /// Both sides ran; the observations differ. The text explains how.
    Differs(String),
    /// The learner's side failed under the kit's runner (kind as the grader reports it).
    Failed { kind: &'static str, message: String },
    /// The reference failed: a bug in the suite, never the learner's fault.
    ReferenceFailed(String),
}

impl Check {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            cases: 64,
            // A scenario is short: a shorter watchdog keeps a hanging submission from spending
            // the grader's whole wall-time budget on its first case.
            test: Test::new().wall_limit(Duration::from_secs(5)),
        }
    }

    /// How many scenarios to generate (64 by default).
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// The limits each replay runs under (both sides).
    pub fn limits(mut self, test: Test) -> Self {
        self.test = test;
        self
    }

    /// The seed, from the name: 32 bytes of SipHash output over it.
    fn seed(&self) -> [u8; 32] {
        use std::hash::Hasher;
        let mut seed = [0u8; 32];
        for (i, chunk) in seed.chunks_mut(8).enumerate() {
            let mut h = siphasher::sip::SipHasher24::new_with_keys(i as u64, 0x5eed);
            h.write(self.name.as_bytes());
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        seed
    }

    /// Every proptest setting spelled out: `Config::default()` reads `PROPTEST_*` variables.
    fn config(&self) -> Config {
        Config {
            cases: self.cases,
            max_local_rejects: 1024,
            max_global_rejects: 1024,
            max_flat_map_regens: 1_000_000,
            failure_persistence: None,
            source_file: None,
            test_name: None,
            max_shrink_time: 10_000,
            max_shrink_iters: 400,
            max_default_size_range: 100,
            verbose: 0,
            ..Config::default()
        }
    }

    /// Runs the check: `cases` scenarios from `scenarios`, each replayed by `reference` and by
    /// `yours`, the observations compared by `judge` (which returns `Err(explanation)` when
    /// they differ in a way the contract does not allow). Panics with the smallest scenario that
    /// shows a difference.
    #[track_caller]
    pub fn run<S, O>(
        self,
        scenarios: S,
        yours: impl Fn(S::Value) -> Pin<Box<dyn Future<Output = O>>> + Send + Sync + 'static,
        reference: impl Fn(S::Value) -> Pin<Box<dyn Future<Output = O>>> + Send + Sync + 'static,
        judge: impl Fn(&S::Value, &O, &O) -> Result<(), String>,
    ) where
        S: Strategy,
        S::Value: Clone + Send + 'static,
        O: Send + 'static,
    {
        let yours: Replay<S::Value, O> = Arc::new(yours);
        let reference: Replay<S::Value, O> = Arc::new(reference);
        crate::verdict::arm();
        let outcome = self.search(scenarios, &yours, &reference, &judge);
        match outcome {
            None => crate::verdict::record("passed", ""),
            Some((kind, message)) => {
                crate::verdict::record(kind, &message);
                panic!("{message}");
            }
        }
    }

    /// The proptest search; `None` when every scenario agreed, else the outcome to report.
    fn search<S, O>(
        &self,
        scenarios: S,
        yours: &Replay<S::Value, O>,
        reference: &Replay<S::Value, O>,
        judge: Judge<'_, S::Value, O>,
    ) -> Option<(&'static str, String)>
    where
        S: Strategy,
        S::Value: Clone + Send + 'static,
        O: Send + 'static,
    {
        let seed = self.seed();
        let mut runner = TestRunner::new_with_rng(
            self.config(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
        );
        // Why each failing scenario failed, by its printed form: proptest reports the smallest
        // failing value, and this finds what happened on it.
        let whys: Mutex<HashMap<String, Why>> = Mutex::new(HashMap::new());
        // A failure that no smaller scenario can explain better — a todo!(), a hang, a suite bug —
        // stops the search: every later case fails at once, without running anything.
        let stop: Mutex<Option<Why>> = Mutex::new(None);
        let quiet = Quiet::new();
        let result = runner.run(&scenarios, |scenario| {
            if let Some(why) = stop.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                return Err(TestCaseError::fail(format!("{why:?}")));
            }
            let why = match self.replay(&scenario, yours, reference, judge) {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if matches!(
                &why,
                Why::ReferenceFailed(_)
                    | Why::Failed {
                        kind: "not-implemented" | "never-yielded" | "frozen-clock",
                        ..
                    }
            ) {
                *stop.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
            }
            whys.lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(format!("{scenario:?}"), why.clone());
            Err(TestCaseError::fail(format!("{why:?}")))
        });
        drop(quiet);
        let smallest = match result {
            Ok(()) => return None,
            Err(TestError::Fail(_, value)) => value,
            Err(TestError::Abort(reason)) => {
                return Some((
                    "failed",
                    format!("{}: the search gave up: {reason}", self.name),
                ));
            }
        };
        let printed = format!("{smallest:?}");
        let why = stop
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .or_else(|| {
                whys.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&printed)
            })
            .unwrap_or_else(|| Why::Differs("(no record of this scenario's run)".into()));
        Some(self.report(&printed, why, &seed))
    }

    /// Replays one scenario on both sides and judges the observations.
    fn replay<V: Clone + Send + 'static, O: Send + 'static>(
        &self,
        scenario: &V,
        yours: &Replay<V, O>,
        reference: &Replay<V, O>,
        judge: Judge<'_, V, O>,
    ) -> Result<(), Why> {
        let expected = observe(&self.test, reference, scenario)
            .map_err(|f| Why::ReferenceFailed(f.to_string()))?;
        let observed = observe(&self.test, yours, scenario).map_err(|f| Why::Failed {
            kind: f.kind(),
            message: f.to_string(),
        })?;
        judge(scenario, &expected, &observed).map_err(Why::Differs)
    }

    fn report(&self, scenario: &str, why: Why, seed: &[u8; 32]) -> (&'static str, String) {
        let seed: String = seed[..8].iter().map(|b| format!("{b:02x}")).collect();
        let origin = format!(
            "(differential check `{}`: {} scenarios generated from the fixed seed {seed}…, \
             compared with the reference; this is the smallest scenario that shows the \
             difference)",
            self.name, self.cases
        );
        match why {
            Why::Differs(how) => (
                "failed",
                format!("{how}\n  scenario: {scenario}\n  {origin}"),
            ),
            Why::Failed { kind, message } => (
                kind,
                format!("{message}\n  on the scenario: {scenario}\n  {origin}"),
            ),
            Why::ReferenceFailed(message) => (
                "failed",
                format!(
                    "a bug in the hidden suite, not in your code: the reference failed on \
                     {scenario}:\n{message}"
                ),
            ),
        }
    }
}

/// Replays `scenario` on one side under the kit's runner and returns its observation.
///
/// A replay judged "blocked" runs once more before the verdict stands. A replay is a function of
/// its scenario alone, so code that blocks the executor blocks it again; a machine so loaded that
/// it held the runtime thread for 200 ms (which the runner cannot always tell from blocking, e.g.
/// in the grader's jail without `/proc`) rarely does so twice in a row on the same scenario.
fn observe<V: Clone + Send + 'static, O: Send + 'static>(
    test: &Test,
    side: &Replay<V, O>,
    scenario: &V,
) -> Result<O, Failure> {
    match observe_once(test, side, scenario) {
        Err(failure) if failure.kind() == "blocked" => observe_once(test, side, scenario),
        result => result,
    }
}

fn observe_once<V: Clone + Send + 'static, O: Send + 'static>(
    test: &Test,
    side: &Replay<V, O>,
    scenario: &V,
) -> Result<O, Failure> {
    let slot: Arc<Mutex<Option<O>>> = Arc::new(Mutex::new(None));
    let (side, scenario, into) = (side.clone(), scenario.clone(), slot.clone());
    test.clone().try_run_unrecorded(Box::new(move || {
        Box::pin(async move {
            let observed = side(scenario).await;
            *into.lock().unwrap_or_else(|e| e.into_inner()) = Some(observed);
        })
    }))?;
    let observed = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok(observed.expect("testkit: a replay finished without an observation"))
}

/// The usual judge: the two event lists must be equal. On a difference, both are printed side by
/// side, the reference on the right (`expected`), each row marked `ok` or `XX`.
pub fn same_events(
    what: &str,
    reference: &[(u64, String)],
    yours: &[(u64, String)],
) -> Result<(), String> {
    if reference == yours {
        return Ok(());
    }
    let lines = |events: &[(u64, String)]| -> Vec<String> {
        events.iter().map(|(t, e)| timeline::at(*t, e)).collect()
    };
    Err(format!(
        "{what}: your code and the reference disagree on this scenario (left: yours, right: \
         the reference's)\n{}",
        timeline::side_by_side(&lines(yours), &lines(reference))
    ))
}
