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
use crate::grade::{Overlay, Variant, package_name};
use crate::manifest::{Manifest, Visibility};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
    /// Wall-clock time one test process may run before its process group is killed.
    pub per_test: Duration,
    /// Wall-clock time one exercise's build may take.
    pub build: Duration,
    /// Test processes run at once.
    pub jobs: usize,
    /// Run only these tests (the rest are reported as not run); `None` runs them all.
    pub only: Option<Vec<String>>,
    /// Address-space limit of one test process in bytes (applied with `prlimit` when it is
    /// installed): unbounded memory growth then ends in an allocation failure, not in the
    /// machine swapping.
    pub memory: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_test: Duration::from_secs(30),
            build: Duration::from_secs(600),
            jobs: 2,
            only: None,
            memory: Some(4 << 30),
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

    // The submissions that contain this exercise, and their `src/` directories.
    let mut present = Vec::new();
    for (i, (label, submitted)) in submissions.iter().enumerate() {
        match submitted.filter(|d| d.join("src").is_dir()) {
            Some(crate_dir) => {
                results[i].ignored = ignored_files(exercise, crate_dir);
                results[i].findings = static_findings(&crate_dir.join("src"));
                present.push((i, *label, crate_dir.join("src")));
            }
            None => results[i].tests = all(Outcome::NotRun, "the exercise was not submitted"),
        }
    }
    // Submissions whose sources are byte for byte the same (an exercise left untouched is the
    // stub, in every submission that skipped it) are graded once: one build, one run of the
    // tests, and the same results for each copy — identical code, identical grade.
    let mut first_with: HashMap<Sources, usize> = HashMap::new();
    let mut built_as = Vec::with_capacity(present.len());
    let mut variants: Vec<Variant<'_>> = Vec::new();
    for (_, label, src) in &present {
        let next = variants.len();
        let variant = match sources_of(src) {
            Some(files) => *first_with.entry(files).or_insert(next),
            None => next,
        };
        if variant == next {
            variants.push(Variant {
                label,
                src,
                replace: None,
            });
        }
        built_as.push(variant);
    }
    let building = Instant::now();
    let built = if variants.is_empty() {
        Ok(Vec::new())
    } else {
        overlay.build_many(exercise, &variants, limits.build)
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
                        Ok(exe) => (run_tests(exe, &expected, limits), None),
                        Err(errors) => (
                            all(Outcome::DidNotCompile, "the exercise does not compile"),
                            Some(errors.clone()),
                        ),
                    };
                    anonymous(tests, errors, &package_name(exercise, variant.label))
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
/// (`ex06_timeouts__alice/src/race.rs`), whose name holds the label of the submission that was
/// built. Copies share these messages and must not learn whose code they share: every message
/// says `src/race.rs`.
fn anonymous(
    mut tests: Vec<TestResult>,
    errors: Option<String>,
    package: &str,
) -> (Vec<TestResult>, Option<String>) {
    let prefix = format!("{package}/");
    for test in &mut tests {
        test.message = test.message.replace(&prefix, "");
    }
    (tests, errors.map(|e| e.replace(&prefix, "")))
}

/// A `src/` directory's files, by path relative to it, with their bytes.
type Sources = BTreeMap<PathBuf, Vec<u8>>;

/// Every file under `src` (compared in full, not hashed: a crafted collision must not borrow
/// another submission's build). `None` if anything is not a plain, readable file of a sane size
/// (a FIFO, a link to a device, a huge file): such a submission is simply built on its own.
fn sources_of(src: &Path) -> Option<Sources> {
    const MAX_FILE: u64 = 4 << 20;
    fn walk(dir: &Path, base: &Path, into: &mut Sources) -> Option<()> {
        for entry in std::fs::read_dir(dir).ok()? {
            let path = entry.ok()?.path();
            let meta = std::fs::metadata(&path).ok()?;
            if meta.is_dir() {
                walk(&path, base, into)?;
            } else if meta.is_file() && meta.len() <= MAX_FILE {
                let relative = path.strip_prefix(base).unwrap_or(&path).to_path_buf();
                into.insert(relative, std::fs::read(&path).ok()?);
            } else {
                return None;
            }
        }
        Some(())
    }
    let mut files = Sources::new();
    walk(src, src, &mut files)?;
    Some(files)
}

/// Runs every expected test in its own process, `limits.jobs` at a time; results in `expected`
/// order.
fn run_tests(executable: &Path, expected: &[String], limits: &Limits) -> Vec<TestResult> {
    let queue = std::sync::Mutex::new(expected.iter().enumerate());
    let results = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..limits.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((i, name)) = next else { break };
                    let result = run_one(executable, name, limits);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(i, result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_values()
        .collect()
}

/// Runs one test in a fresh process group and judges it by its signed verdict.
fn run_one(executable: &Path, name: &str, limits: &Limits) -> TestResult {
    let limit = limits.per_test;
    let started = Instant::now();
    let scratch = Scratch::new(name);
    let key = random_key();
    let key_hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let judged = (|| -> Result<(Outcome, String), String> {
        std::fs::write(&scratch.key_file, &key_hex).map_err(|e| e.to_string())?;
        let stdout = std::fs::File::create(&scratch.output).map_err(|e| e.to_string())?;
        let stderr = stdout.try_clone().map_err(|e| e.to_string())?;
        let mut command = limited(executable, limits.memory);
        command
            .args([
                "--exact",
                name,
                "--test-threads=1",
                "--nocapture",
                "--color=never",
            ])
            .env(verdict::KEY_FILE_VAR, &scratch.key_file)
            .env(verdict::VERDICT_FILE_VAR, &scratch.verdict_file)
            .env("RUST_BACKTRACE", "0")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        // Its own process group, so that a kill reaches every process the test started.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        let pid = child.id();
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
            Ok(status) => Some(status.map_err(|e| e.to_string())?),
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
        let output = read_capped(&scratch.output, 16 * 1024);
        let verdict = std::fs::read_to_string(&scratch.verdict_file)
            .ok()
            .and_then(|text| verdict::verify(&key, name, &text));
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

fn judge(
    status: Option<std::process::ExitStatus>,
    verdict: Option<(String, String)>,
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
    // "running": the kit started a run of this test that never finished (an exit in the middle of
    // it); that is no result at all.
    let verdict = verdict.filter(|(kind, _)| kind != "running");
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
            (outcome, crate::grade::strip_ansi(&message))
        }
        None => {
            let why = match (status.code(), status.signal()) {
                (_, Some(6)) => {
                    "aborted (std::process::abort, a panic while panicking, or a stack overflow)"
                        .to_owned()
                }
                (_, Some(11)) => "crashed with a segmentation fault (a stack overflow?)".to_owned(),
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
                    crate::grade::strip_ansi(output)
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
                let theirs = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let ours = std::fs::read_to_string(exercise.stub_dir().join("Cargo.toml"))
                    .unwrap_or_default();
                if theirs.trim() != ours.trim() {
                    ignored
                        .push("Cargo.toml (changed: the instructor's manifest is used)".to_owned());
                }
            }
            _ => ignored.push(format!("{name} (only src/ is graded)")),
        }
    }
    ignored.sort();
    ignored
}

/// Textual findings in the learner's source. They cost no points by themselves: the signed verdict
/// already makes `exit` useless as a cheat, and `unsafe` does not compile (the workspace forbids
/// it). They are reported so an instructor sees attempts and learners see why a test "crashed".
pub fn static_findings(src: &Path) -> Vec<String> {
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
    for file in rust_files(src) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let rel = file
            .strip_prefix(src)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (pattern, what) in PATTERNS {
                if code.contains(pattern) {
                    findings.push(format!("src/{rel}:{}: {what}", n + 1));
                }
            }
        }
    }
    findings
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Per-test scratch files in the system temp dir, removed on drop.
struct Scratch {
    dir: PathBuf,
    key_file: PathBuf,
    verdict_file: PathBuf,
    output: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Self {
        let unique: String = random_key()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = std::env::temp_dir().join(format!("workbook-grade-{test}-{unique}"));
        let _ = std::fs::create_dir_all(&dir);
        Self {
            key_file: dir.join("key"),
            verdict_file: dir.join("verdict"),
            output: dir.join("output"),
            dir,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A command for `executable`, under `prlimit --as=<memory>` when a limit is set and `prlimit`
/// (util-linux) is installed.
fn limited(executable: &Path, memory: Option<u64>) -> Command {
    let prlimit = ["/usr/bin/prlimit", "/bin/prlimit"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists());
    match (memory, prlimit) {
        (Some(bytes), Some(prlimit)) => {
            let mut command = Command::new(prlimit);
            command
                .arg(format!("--as={bytes}"))
                .arg("--core=0")
                .arg("--")
                .arg(executable);
            command
        }
        _ => Command::new(executable),
    }
}

/// 16 random bytes from the OS.
fn random_key() -> [u8; 16] {
    let mut key = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut key);
    }
    key
}

fn kill_group(pid: u32) {
    // `kill -KILL -- -<pgid>`: the whole group, including anything the test spawned.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn read_capped(path: &Path, cap: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(cap)]).into_owned();
    if bytes.len() > cap {
        format!("{text}\n… (output cut at {cap} bytes)")
    } else {
        text
    }
}
