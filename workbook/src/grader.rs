//! The grader: a submission graded test by test, each test in its own process, each result taken
//! only from the test kit's signed verdict.
//!
//! * **Trusted inputs.** Only `exercises/<exercise>/src/` is taken from a submission; manifests,
//!   hidden tests, the kit and the lock file are the instructor's ([`crate::grade::Overlay`]).
//!   Anything else the submission changed is listed as ignored.
//! * **Isolation.** Each exercise is built on its own: a compile error costs that exercise only.
//!   Each test runs in its own process group with a wall-clock limit, killed whole when it runs
//!   over; the other tests keep their results.
//! * **Missing is not passed.** The expected tests come from the instructor's hidden suite, not
//!   from what the binary prints. A test passes only if the kit wrote a verdict signed with the key
//!   the grader handed it ([`testkit::verdict`]) *and* the process exited cleanly. `exit(0)`,
//!   forged `test … ok` lines, a vanished or renamed test: none of them leaves a signed verdict.

use crate::exercises::Exercise;
use crate::grade::{Built, Overlay, Sources, Variant, read_sources};
use crate::manifest::{Manifest, Visibility};
use crate::sandbox::{Jail, Rlimits, Sandbox};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use testkit::verdict;

/// Wall time this process spent building submissions and running their tests, in nanoseconds:
/// the split the class-grading benchmark reports.
static BUILD_NANOS: AtomicU64 = AtomicU64::new(0);
static RUN_NANOS: AtomicU64 = AtomicU64::new(0);

/// (building, running tests) so far in this process.
pub fn time_spent() -> (Duration, Duration) {
    (
        Duration::from_nanos(BUILD_NANOS.load(Ordering::Relaxed)),
        Duration::from_nanos(RUN_NANOS.load(Ordering::Relaxed)),
    )
}

fn add_time(counter: &AtomicU64, since: Instant) {
    counter.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

/// How one test ended, each with a cause a learner can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Passed,
    /// An assertion failed (the message has the diff).
    Failed,
    /// The test reached a `todo!()`.
    NotImplemented,
    /// The test waited forever in virtual time, or ran past its wall-clock limit and was killed.
    TimedOut,
    /// Code held the executor without yielding (blocking call or busy loop).
    Blocked,
    /// Tasks were still alive after the operation returned.
    LeakedTasks,
    /// The test process died without a verdict: a signal, an abort, a stack overflow, an `exit`.
    Crashed,
    /// The exercise did not compile.
    DidNotCompile,
    /// The test was not run (the exercise was not submitted).
    NotRun,
}

impl Outcome {
    /// Every outcome, best first.
    pub const ALL: [Outcome; 9] = [
        Outcome::Passed,
        Outcome::Failed,
        Outcome::NotImplemented,
        Outcome::TimedOut,
        Outcome::Blocked,
        Outcome::LeakedTasks,
        Outcome::Crashed,
        Outcome::DidNotCompile,
        Outcome::NotRun,
    ];

    /// The outcome's name in `tests/grading.toml` feedback tables.
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotImplemented => "not_implemented",
            Outcome::TimedOut => "timed_out",
            Outcome::Blocked => "blocked",
            Outcome::LeakedTasks => "leaked_tasks",
            Outcome::Crashed => "crashed",
            Outcome::DidNotCompile => "did_not_compile",
            Outcome::NotRun => "not_run",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotImplemented => "not implemented",
            Outcome::TimedOut => "timed out",
            Outcome::Blocked => "blocked the executor",
            Outcome::LeakedTasks => "leaked tasks",
            Outcome::Crashed => "crashed",
            Outcome::DidNotCompile => "did not compile",
            Outcome::NotRun => "not run",
        }
    }
}

/// One hidden test's result.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub name: String,
    pub outcome: Outcome,
    /// What went wrong, written for the learner (empty when passed).
    pub message: String,
    pub points: f64,
    pub max_points: f64,
    pub visibility: Visibility,
    pub duration: Duration,
}

/// One exercise's results.
#[derive(Debug, Clone)]
pub struct ExerciseResult {
    pub exercise: String,
    pub tests: Vec<TestResult>,
    /// The compiler's messages, when the exercise did not compile.
    pub compile_errors: Option<String>,
    /// Files of the submission that were not used (only `src/` is graded).
    pub ignored: Vec<String>,
    /// Static findings: things in the source that the grader flags.
    pub findings: Vec<String>,
}

impl ExerciseResult {
    pub fn points(&self) -> f64 {
        self.tests.iter().map(|t| t.points).sum()
    }
    pub fn max_points(&self) -> f64 {
        self.tests.iter().map(|t| t.max_points).sum()
    }
}

/// Limits for one grading run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time one test process may run before it is killed with everything it started.
    pub per_test: Duration,
    /// Wall-clock time one exercise's build may take (all its submissions together), besides
    /// what their compile limits allow.
    pub build: Duration,
    /// Wall-clock time the compile of one submission's crate (or of the hidden suite against it)
    /// may take: an endless compile costs that submission only.
    pub compile: Duration,
    /// Test processes run at once.
    pub jobs: usize,
    /// Run only these tests (the rest are reported as not run); `None` runs them all.
    pub only: Option<Vec<String>>,
    /// Address-space limit of one test process in bytes: unbounded memory growth ends in an
    /// allocation failure, not in the machine swapping.
    pub memory: Option<u64>,
    /// Where learner code is compiled and run.
    pub sandbox: Arc<Sandbox>,
}

impl Limits {
    /// The default limits, in `sandbox`.
    pub fn new(sandbox: Arc<Sandbox>) -> Self {
        Self {
            per_test: Duration::from_secs(30),
            build: Duration::from_secs(600),
            compile: Duration::from_secs(120),
            jobs: 2,
            only: None,
            memory: Some(4 << 30),
            sandbox,
        }
    }
}

/// The hidden tests of an exercise, read from the instructor's suite: every `#[test]` fn, in file
/// order. This list — not what the test binary reports — decides what is expected.
pub fn expected_tests(exercise: &Exercise) -> Vec<String> {
    let text = std::fs::read_to_string(exercise.hidden_suite()).unwrap_or_default();
    let mut tests = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == "#[test]" {
            for next in lines.by_ref() {
                if let Some(rest) = next.strip_prefix("fn ") {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    tests.push(name);
                    break;
                }
                if !next.starts_with("#[") && !next.starts_with("//") {
                    break;
                }
            }
        }
    }
    tests
}

/// Grades one exercise of a submission. `label` names the submission (it keeps the scratch packages
/// of different submissions apart); `src` is the submission's `exercises/<exercise>/src`, if any.
pub fn grade_exercise(
    overlay: &Overlay,
    exercise: &Exercise,
    label: &str,
    submitted: Option<&Path>,
    limits: &Limits,
    manifest: &Manifest,
) -> ExerciseResult {
    let mut results =
        grade_exercise_many(overlay, exercise, &[(label, submitted)], limits, manifest);
    results.pop().expect("one result per submission")
}

/// Grades one exercise of many submissions: every submitted crate is built in one cargo
/// invocation (cargo compiles them in parallel, and the dependencies once), then each
/// submission's tests run. Returns one result per submission, in order.
pub fn grade_exercise_many(
    overlay: &Overlay,
    exercise: &Exercise,
    submissions: &[(&str, Option<&Path>)],
    limits: &Limits,
    manifest: &Manifest,
) -> Vec<ExerciseResult> {
    let mut expected = expected_tests(exercise);
    if let Some(only) = &limits.only {
        expected.retain(|t| only.contains(t));
    }
    let all = |outcome: Outcome, message: &str| -> Vec<TestResult> {
        expected
            .iter()
            .map(|name| TestResult {
                name: name.clone(),
                outcome,
                message: message.to_owned(),
                points: 0.0,
                max_points: 1.0,
                visibility: Visibility::Visible,
                duration: Duration::ZERO,
            })
            .collect()
    };
    let mut results: Vec<ExerciseResult> = submissions
        .iter()
        .map(|_| ExerciseResult {
            exercise: exercise.name.clone(),
            tests: Vec::new(),
            compile_errors: None,
            ignored: Vec::new(),
            findings: Vec::new(),
        })
        .collect();

    // The submissions that contain this exercise, and their `src/` files. Only regular files are
    // taken; what is left out (a symbolic link, a FIFO, a file over the caps) is listed for that
    // submission alone, and costs no one else anything.
    let mut present: Vec<(usize, &str, Sources)> = Vec::new();
    for (i, (label, submitted)) in submissions.iter().enumerate() {
        let Some(crate_dir) =
            submitted.filter(|d| std::fs::symlink_metadata(d.join("src")).is_ok())
        else {
            results[i].tests = all(Outcome::NotRun, "the exercise was not submitted");
            continue;
        };
        let linked = std::fs::symlink_metadata(crate_dir).is_ok_and(|m| !m.is_dir());
        let sources = if linked {
            Err(format!(
                "exercises/{}: a symbolic link (only regular files and directories are graded)",
                exercise.name
            ))
        } else {
            read_sources(&crate_dir.join("src"))
        };
        match sources {
            Ok((files, refused)) => {
                results[i].ignored = ignored_files(exercise, crate_dir);
                results[i].ignored.extend(refused);
                results[i].findings = static_findings(&files);
                present.push((i, *label, files));
            }
            Err(e) => {
                results[i].ignored = vec![e.clone()];
                results[i].tests =
                    all(Outcome::NotRun, &format!("the exercise was not taken: {e}"));
            }
        }
    }
    // Submissions whose sources are byte for byte the same (an exercise left untouched is the
    // stub, in every submission that skipped it) are graded once: one build, one run of the
    // tests, and the same results for each copy — identical code, identical grade. (Compared in
    // full, not hashed: a crafted collision must not borrow another submission's build.)
    let mut first_with: HashMap<&Sources, usize> = HashMap::new();
    let mut built_as = Vec::with_capacity(present.len());
    let mut variants: Vec<Variant<'_>> = Vec::new();
    for (_, label, files) in &present {
        let next = variants.len();
        let variant = *first_with.entry(files).or_insert(next);
        if variant == next {
            variants.push(Variant {
                label,
                sources: files,
            });
        }
        built_as.push(variant);
    }
    // When some tests are withheld from learners, the visible ones run from a binary of their
    // own: the learner's code runs inside whatever binary it is tested in, and can print any text
    // that binary holds (or run it with `--list`) into a message the learner sees.
    let shown = |test: &str| {
        manifest
            .weight(&exercise.name, test)
            .visibility
            .shown_to_learner()
    };
    let every_test = expected_tests(exercise);
    let visible_suite = (every_test.iter().any(|t| shown(t))
        && !every_test.iter().all(|t| shown(t)))
    .then(|| std::fs::read_to_string(exercise.hidden_suite()).ok())
    .flatten()
    .map(|suite| crate::export::visible_suite(&suite, shown).0);
    let building = Instant::now();
    let built = if variants.is_empty() {
        Ok(Vec::new())
    } else {
        // Each submission may use its compile limit twice (its crate, then the suite against it),
        // cargo compiling as many at once as there are cores.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let batch = limits.build + limits.compile * (2 * variants.len() as u32).div_ceil(cores);
        overlay.build_many(
            exercise,
            &variants,
            batch,
            Some(crate::grade::Confined {
                sandbox: &limits.sandbox,
                compile: limits.compile,
                visible_suite: visible_suite.as_deref(),
            }),
        )
    };
    add_time(&BUILD_NANOS, building);
    let running = Instant::now();
    match built {
        Err(e) => {
            for (i, _, _) in &present {
                results[*i].tests = all(
                    Outcome::NotRun,
                    &format!("the grader could not build it: {e}"),
                );
            }
        }
        Ok(built) => {
            let graded: Vec<(Vec<TestResult>, Option<String>)> = built
                .iter()
                .zip(&variants)
                .map(|(build, variant)| {
                    let (tests, errors) = match build {
                        Ok(built) => {
                            let tests = run_tests(built, &expected, limits, &shown);
                            // A class leaves thousands of test binaries of a few MB each: each
                            // goes once its tests have run.
                            for exe in built.suite.iter().chain(&built.visible) {
                                limits.sandbox.unstage(exe);
                            }
                            for file in &built.artifacts {
                                let _ = std::fs::remove_file(file);
                            }
                            (tests, None)
                        }
                        Err(errors) => (
                            all(Outcome::DidNotCompile, "the exercise does not compile"),
                            Some(errors.clone()),
                        ),
                    };
                    let _ = variant;
                    anonymous(tests, errors, &exercise.name)
                })
                .collect();
            for ((i, _, _), &variant) in present.iter().zip(&built_as) {
                let (tests, errors) = &graded[variant];
                results[*i].tests = tests.clone();
                results[*i].compile_errors = errors.clone();
            }
        }
    }
    add_time(&RUN_NANOS, running);
    for result in &mut results {
        for test in &mut result.tests {
            let weight = manifest.weight(&exercise.name, &test.name);
            test.max_points = weight.points;
            test.points = if test.outcome == Outcome::Passed {
                weight.points
            } else {
                0.0
            };
            test.visibility = weight.visibility;
            if let Some(feedback) = weight.feedback.get(test.outcome.key()) {
                test.message = if test.message.is_empty() {
                    feedback.clone()
                } else {
                    format!("{feedback}\n\n{}", test.message)
                };
            }
        }
    }
    results
}

/// Compiler messages and panic locations name files through the scratch package
/// (`ex06_timeouts__alice_1f2e3d4c/src/race.rs`), whose name holds the label of the submission
/// that was built. Copies share these messages and must not learn whose code they share: every
/// message says `src/race.rs`.
fn anonymous(
    mut tests: Vec<TestResult>,
    errors: Option<String>,
    exercise: &str,
) -> (Vec<TestResult>, Option<String>) {
    for test in &mut tests {
        test.message = without_package(&test.message, exercise);
    }
    (tests, errors.map(|e| without_package(&e, exercise)))
}

/// `text` without any `<exercise>__<label>/` path prefix.
fn without_package(text: &str, exercise: &str) -> String {
    let marker = format!("{exercise}__");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&marker) {
        let after = &rest[at + marker.len()..];
        let label_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if after[label_len..].starts_with('/') {
            out.push_str(&rest[..at]);
            rest = &after[label_len + 1..];
        } else {
            out.push_str(&rest[..at + marker.len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Runs every expected test in its own process, `limits.jobs` at a time; results in `expected`
/// order. A test learners see runs from the visible tests' binary when there is one. The tests
/// learners see run first, and the hidden ones only once they have all ended: a hidden test never
/// runs beside a visible one, to hand it what it knows.
fn run_tests(
    built: &Built,
    expected: &[String],
    limits: &Limits,
    shown: &(dyn Fn(&str) -> bool + Sync),
) -> Vec<TestResult> {
    let results = std::sync::Mutex::new(BTreeMap::new());
    let (visible, hidden): (Vec<_>, Vec<_>) = expected
        .iter()
        .enumerate()
        .partition(|(_, name)| shown(name));
    for phase in [visible, hidden] {
        let queue = std::sync::Mutex::new(phase.into_iter());
        std::thread::scope(|scope| {
            for _ in 0..limits.jobs.max(1) {
                scope.spawn(|| {
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((i, name)) = next else { break };
                        let result = run_from(built, name, limits, shown(name));
                        results
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(i, result);
                    }
                });
            }
        });
    }
    results
        .into_inner()
        .unwrap_or_default()
        .into_values()
        .collect()
}

/// Runs one test from the binary it belongs in.
fn run_from(built: &Built, name: &str, limits: &Limits, shown: bool) -> TestResult {
    let binary = match (&built.visible, &built.suite) {
        (Some(visible), _) if shown => Ok(visible),
        (_, suite) => suite.as_ref(),
    };
    match binary {
        Ok(executable) => run_one(executable, name, limits),
        // The hidden suite alone did not compile against this crate: its messages quote it, so
        // they go to the instructor (a hidden test's message is never shown to a learner).
        Err(errors) => TestResult {
            name: name.to_owned(),
            outcome: Outcome::DidNotCompile,
            message: format!(
                "the hidden tests do not compile against this crate (is its public API the \
                 stub's?):\n{errors}"
            ),
            points: 0.0,
            max_points: 1.0,
            visibility: Visibility::Visible,
            duration: Duration::ZERO,
        },
    }
}

/// Runs one test in its own sandboxed process and judges it by its signed verdict.
fn run_one(executable: &Path, name: &str, limits: &Limits) -> TestResult {
    let limit = limits.per_test;
    let started = Instant::now();
    let (key, nonce) = (random16(), random16());
    let judged = (|| -> Result<(Outcome, String), String> {
        let sandbox = &limits.sandbox;
        let executable = sandbox.stage(executable)?;
        let mut prepared = sandbox.command(&test_jail(&executable, name, limits))?;
        let command = &mut prepared.command;
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so that a kill reaches the sandbox and, without namespaces, what
        // the test started.
        std::os::unix::process::CommandExt::process_group(command, 0);
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        let pid = child.id();
        // The key and nonce: the sandbox helper hands them to the kit on a pipe of their own.
        if let Some(mut stdin) = child.stdin.take() {
            let _ = writeln!(stdin, "{} {}", hex(&key), hex(&nonce));
        }
        // Both pipes are read while the test runs, through a cap: a test that prints a gigabyte
        // costs the grader a few kilobytes.
        let output = Capped::read(child.stdout.take(), OUTPUT_HEAD, OUTPUT_TAIL);
        let channel = Capped::read(child.stderr.take(), VERDICT_BYTES, 0);
        // Wait on a thread of its own, so the end is seen the moment it happens: a polling
        // interval would be added to every one of the thousands of tests a class runs.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("wait {pid}"))
            .spawn(move || {
                let _ = tx.send(child.wait());
            })
            .map_err(|e| {
                kill_group(pid);
                format!("could not start a thread to wait for it: {e}")
            })?;
        let status = match rx.recv_timeout(limit.saturating_sub(started.elapsed())) {
            Ok(status) => {
                // Whatever it left in its process group goes with it (in a PID namespace, it
                // already has).
                kill_group(pid);
                Some(status.map_err(|e| e.to_string())?)
            }
            Err(_) => {
                // The group may have ended (and been reaped) a moment ago; a group id is only
                // reused once no process of the group is left, so the kill is harmless then.
                // If a kill cannot be delivered at all, give up on the process rather than hang
                // the grader: the waiting thread stays behind.
                kill_group(pid);
                if rx.recv_timeout(Duration::from_secs(5)).is_err() {
                    kill_group(pid);
                    let _ = rx.recv_timeout(Duration::from_secs(5));
                }
                None
            }
        };
        // In a PID namespace everything the test started is gone with it; without one, a process
        // it left behind may still hold the pipes: take what they hold and move on.
        sandbox.clean_up(&prepared);
        let output = output.finish(Duration::from_secs(2)).text();
        let channel = channel.finish(Duration::from_secs(2));
        if status.is_some_and(|s| s.code() == Some(i32::from(crate::sandbox::SETUP_FAILED)))
            && channel.head.starts_with(b"workbook sandbox:")
        {
            return Err(String::from_utf8_lossy(&channel.head).trim().to_owned());
        }
        let verdict = verdict::last_record(&key, &nonce, name, &channel.head);
        Ok(judge(status, verdict, &output, limit))
    })();
    let (outcome, message) =
        judged.unwrap_or_else(|e| (Outcome::NotRun, format!("the grader could not run it: {e}")));
    TestResult {
        name: name.to_owned(),
        points: if outcome == Outcome::Passed { 1.0 } else { 0.0 },
        max_points: 1.0,
        visibility: Visibility::Visible,
        outcome,
        message,
        duration: started.elapsed(),
    }
}

/// Output kept of a test process: its beginning and its end.
const OUTPUT_HEAD: usize = 12 * 1024;
const OUTPUT_TAIL: usize = 4 * 1024;
/// The verdict channel: the kit cuts each message at 64 KiB, and a test writes a few records.
const VERDICT_BYTES: usize = 1 << 20;

/// What one hidden test may see and use: its own binary and the shared libraries, a private
/// `/tmp`, loopback, the channel, an environment of a few fixed values.
fn test_jail(executable: &Path, name: &str, limits: &Limits) -> Jail {
    let env = [
        ("RUST_BACKTRACE", "0"),
        ("NO_COLOR", "1"),
        ("PATH", "/usr/bin:/bin"),
        ("TMPDIR", "/tmp"),
        ("HOME", "/tmp"),
        ("LANG", "C.UTF-8"),
        (verdict::CHANNEL_VAR, "1"),
    ];
    let mut read = vec![executable.to_path_buf()];
    read.extend(limits.sandbox.runtime_files().iter().cloned());
    Jail {
        program: executable.to_path_buf(),
        args: [
            "--exact",
            name,
            "--test-threads=1",
            "--nocapture",
            "--color=never",
        ]
        .into_iter()
        .map(Into::into)
        .collect(),
        read,
        cwd: "/tmp".into(),
        env: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        limits: Rlimits {
            address_space: limits.memory,
            // Two cores' worth of the wall limit: a busy loop ends even if nothing else stops it.
            cpu_seconds: Some(2 * limits.per_test.as_secs() + 10),
            file_size: Some(256 << 20),
            processes: Some(512),
            open_files: Some(4096),
        },
        unprivileged: true,
        channel: true,
        tmp_size: 512 << 20,
        ..Jail::default()
    }
}

fn judge(
    status: Option<std::process::ExitStatus>,
    verdict: Result<Option<(String, String)>, String>,
    output: &str,
    limit: Duration,
) -> (Outcome, String) {
    use std::os::unix::process::ExitStatusExt;
    let Some(status) = status else {
        return (
            Outcome::TimedOut,
            format!(
                "did not finish within {limit:?} of real time and was killed (an endless loop that never yields?)"
            ),
        );
    };
    // A channel whose records do not verify holds no result: something other than the kit wrote
    // to it.
    let forged = verdict.as_ref().err().cloned();
    // "running": the kit started a run of this test that never finished (an exit in the middle of
    // it); that is no result at all.
    let verdict = verdict.ok().flatten().filter(|(kind, _)| kind != "running");
    match verdict {
        Some((kind, message)) => {
            let outcome = match kind.as_str() {
                "passed" if status.success() => return (Outcome::Passed, String::new()),
                "passed" => {
                    return (
                        Outcome::Failed,
                        format!("the test failed after its body finished:\n{output}"),
                    );
                }
                "not-implemented" => Outcome::NotImplemented,
                "waited-forever" => Outcome::TimedOut,
                "blocked" | "never-yielded" | "frozen-clock" => Outcome::Blocked,
                "leaked-tasks" => Outcome::LeakedTasks,
                _ => Outcome::Failed,
            };
            (outcome, crate::grade::printable(&message))
        }
        None => {
            // bubblewrap reports a program killed by signal N as exit code 128 + N.
            let signal = status.signal().or(status
                .code()
                .filter(|c| (129..=192).contains(c))
                .map(|c| c - 128));
            let code = status.code().filter(|_| signal.is_none());
            let why = match (code, signal) {
                _ if forged.is_some() => format!(
                    "ended without a valid result: its verdict channel held {}",
                    forged.as_deref().unwrap_or_default()
                ),
                (_, Some(6)) => {
                    "aborted (std::process::abort, a panic while panicking, or a stack overflow)"
                        .to_owned()
                }
                (_, Some(11)) => "crashed with a segmentation fault (a stack overflow?)".to_owned(),
                (_, Some(24)) => "used up its CPU time limit (SIGXCPU)".to_owned(),
                (_, Some(25)) => "wrote a file larger than the limit (SIGXFSZ)".to_owned(),
                (_, Some(signal)) => format!("was killed by signal {signal}"),
                (Some(0), _) => {
                    "exited before the test finished, without a result (std::process::exit?)"
                        .to_owned()
                }
                (Some(code), _) => format!("exited with code {code} before the test finished"),
                (None, None) => "ended without a result".to_owned(),
            };
            (
                Outcome::Crashed,
                format!(
                    "the test process {why}.\n{}",
                    crate::grade::printable(output)
                ),
            )
        }
    }
}

/// The files of a submitted exercise that grading ignores: only `src/` is used, the rest comes from
/// the instructor's copy.
fn ignored_files(exercise: &Exercise, crate_dir: &Path) -> Vec<String> {
    let mut ignored = Vec::new();
    let Ok(entries) = std::fs::read_dir(crate_dir) else {
        return ignored;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        match name.as_str() {
            "src" | "target" => {}
            "Cargo.toml" => {
                // Untrusted: never follow a link or open a FIFO to read it.
                let theirs = crate::grade::read_regular(&entry.path())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let ours = std::fs::read_to_string(exercise.stub_dir().join("Cargo.toml"))
                    .unwrap_or_default();
                if theirs.trim() != ours.trim() {
                    ignored
                        .push("Cargo.toml (changed: the instructor's manifest is used)".to_owned());
                }
            }
            _ => ignored.push(format!(
                "{} (only src/ is graded)",
                crate::grade::printable(&name)
            )),
        }
    }
    ignored.sort();
    ignored
}

/// Textual findings in the learner's source. They cost no points by themselves: the signed verdict
/// already makes `exit` useless as a cheat, and `unsafe` does not compile (the workspace forbids
/// it). They are reported so an instructor sees attempts and learners see why a test "crashed".
pub fn static_findings(files: &Sources) -> Vec<String> {
    const PATTERNS: &[(&str, &str)] = &[
        (
            "process::exit",
            "calls std::process::exit: a test that exits early is not passed",
        ),
        ("process::abort", "calls std::process::abort"),
        (
            "thread::sleep",
            "calls std::thread::sleep: it blocks the executor",
        ),
        ("unsafe", "uses `unsafe` (forbidden in this workbook)"),
    ];
    let mut findings = Vec::new();
    for (rel, bytes) in files {
        if rel.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (pattern, what) in PATTERNS {
                if code.contains(pattern) {
                    findings.push(format!("src/{}:{}: {what}", rel.display(), n + 1));
                }
            }
        }
    }
    findings
}

fn random16() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut bytes);
    }
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn kill_group(pid: u32) {
    // The whole group, including anything the test started in it.
    if let Some(group) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// A pipe read on a thread of its own while the process runs, keeping its first `head` and last
/// `tail` bytes and counting the rest.
struct Capped {
    kept: Arc<std::sync::Mutex<Kept>>,
    done: std::sync::mpsc::Receiver<()>,
}

#[derive(Default)]
struct Kept {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: u64,
}

impl Kept {
    /// The output as text, with a note where bytes were left out.
    fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        let kept = (self.head.len() + self.tail.len()) as u64;
        if self.total > kept {
            text.push_str(&format!(
                "\n… ({} bytes of output left out) …\n",
                self.total - kept
            ));
        }
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        text.push_str(&String::from_utf8_lossy(&tail));
        text
    }
}

impl Capped {
    fn read(pipe: Option<impl Read + Send + 'static>, head: usize, tail: usize) -> Capped {
        let kept = Arc::new(std::sync::Mutex::new(Kept::default()));
        let (tx, done) = std::sync::mpsc::channel();
        let shared = kept.clone();
        let reader = move || {
            let Some(mut pipe) = pipe else { return };
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut kept = shared.lock().unwrap_or_else(|e| e.into_inner());
                kept.total += n as u64;
                let room = head.saturating_sub(kept.head.len()).min(n);
                kept.head.extend_from_slice(&buf[..room]);
                if tail > 0 {
                    kept.tail.extend(&buf[room..n]);
                    let excess = kept.tail.len().saturating_sub(tail);
                    kept.tail.drain(..excess);
                }
            }
            let _ = tx.send(());
        };
        if std::thread::Builder::new()
            .name("test output".into())
            .spawn(reader)
            .is_err()
        {
            // Without a reader the pipe fills and the test blocks until its time limit: a
            // timeout, which is what a grader that cannot read its output should report.
        }
        Capped { kept, done }
    }

    /// What was read, once the pipe is closed or `wait` has passed.
    fn finish(self, wait: Duration) -> Kept {
        let _ = self.done.recv_timeout(wait);
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
