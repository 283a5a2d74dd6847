//! The grader against a corpus of cheating and broken submissions. Each case starts from the
//! reference of exercise 06, plants one fault or cheat, and asserts the exact outcome the grader
//! reports — never "passed" — for the test that meets it. Nothing may hang the grader.

mod common;

use common::{Submission, default_limits, exercise, root};
use std::path::PathBuf;
use workbook::exercises::Exercise;
use workbook::grade::Overlay;
use workbook::grader::{self, Limits, Outcome, TestResult};
use workbook::manifest::Manifest;

/// Grades one test of exercise 06 in a submission with one planted fault.
fn grade_one(label: &str, file: &str, anchor: &str, code: &str, test: &str) -> TestResult {
    grade_one_with(default_limits(), label, file, anchor, code, test)
}

/// Grades one test of `exercise` in a submission with one planted fault.
fn grade_in(
    exercise_name: &str,
    label: &str,
    file: &str,
    anchor: &str,
    code: &str,
    test: &str,
) -> TestResult {
    let ex = exercise(exercise_name);
    let submission = Submission::new(label)
        .with_reference(&ex)
        .inject(&ex, file, anchor, code);
    let limits = Limits {
        only: Some(vec![test.to_owned()]),
        ..default_limits()
    };
    let result = grader::grade_exercise(
        &Overlay::new(&root()),
        &ex,
        &format!("corpus_{label}"),
        Some(&submission.crate_dir(&ex)),
        &limits,
        &Manifest::default(),
    );
    result.tests.into_iter().next().unwrap()
}

fn grade_one_with(
    limits: Limits,
    label: &str,
    file: &str,
    anchor: &str,
    code: &str,
    test: &str,
) -> TestResult {
    let ex = exercise("ex06_timeouts");
    let submission = Submission::new(label)
        .with_reference(&ex)
        .inject(&ex, file, anchor, code);
    let limits = Limits {
        only: Some(vec![test.to_owned()]),
        ..limits
    };
    let result = grader::grade_exercise(
        &Overlay::new(&root()),
        &ex,
        &format!("corpus_{label}"),
        Some(&submission.crate_dir(&ex)),
        &limits,
        &Manifest::default(),
    );
    assert_eq!(result.tests.len(), 1, "{result:#?}");
    result.tests.into_iter().next().unwrap()
}

fn assert_outcome(result: &TestResult, outcome: Outcome, says: &str) {
    assert_eq!(
        result.outcome, outcome,
        "{}: {}",
        result.name, result.message
    );
    assert_eq!(result.points, 0.0, "{result:?}");
    assert!(
        result.message.contains(says),
        "the message should say {says:?}:\n{}",
        result.message
    );
}

const FIRST_OK: &str = "    Fut: Future<Output = Result<T, E>>,\n{\n";
const EMPTY_ONLY: &str = "first_ok_of_nothing_is_an_empty_list_of_errors";

#[test]
fn exit_0_inside_a_test_is_not_a_pass() {
    let r = grade_one(
        "exit0",
        "race.rs",
        FIRST_OK,
        "if futures.is_empty() { std::process::exit(0); }",
        EMPTY_ONLY,
    );
    assert_outcome(&r, Outcome::Crashed, "std::process::exit");
}

#[test]
fn forged_test_ok_and_json_lines_on_stdout_change_nothing() {
    let forge = r#"if futures.is_empty() {
        println!("test first_ok_of_nothing_is_an_empty_list_of_errors ... ok");
        println!("{{\"type\":\"test\",\"event\":\"ok\",\"name\":\"first_ok_of_nothing_is_an_empty_list_of_errors\"}}");
        println!("test result: ok. 1 passed; 0 failed; 0 ignored");
        std::process::exit(0);
    }"#;
    let r = grade_one("forge", "race.rs", FIRST_OK, forge, EMPTY_ONLY);
    assert_outcome(&r, Outcome::Crashed, "without a result");
}

#[test]
fn exit_0_in_a_later_run_of_a_test_that_runs_many_scenarios_is_not_a_pass() {
    // The test runs the pipeline once per cancel instant, each in its own run of the kit; the
    // earlier runs pass, then the process exits in the middle of the fourth.
    let code = "static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);\n\
                if CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 3 { std::process::exit(0); }";
    let anchor = "    WFut: Future<Output = ()> + Send + 'static,\n{\n";
    let r = grade_in(
        "ex04_backpressure_pipeline",
        "exit0_later_run",
        "pipeline.rs",
        anchor,
        code,
        "no_record_is_lost_whenever_the_pipeline_is_cancelled",
    );
    assert_outcome(&r, Outcome::Crashed, "without a result");
}

#[test]
fn exit_1_and_abort_are_crashes() {
    let r = grade_one(
        "exit1",
        "race.rs",
        FIRST_OK,
        "if futures.is_empty() { std::process::exit(1); }",
        EMPTY_ONLY,
    );
    assert_outcome(&r, Outcome::Crashed, "exited with code 1");
    let r = grade_one(
        "abort",
        "race.rs",
        FIRST_OK,
        "if futures.is_empty() { std::process::abort(); }",
        EMPTY_ONLY,
    );
    assert_outcome(&r, Outcome::Crashed, "aborted");
}

#[test]
fn unbounded_memory_growth_ends_in_a_crash_not_in_swapping() {
    let code = "if futures.is_empty() { let mut hog: Vec<Vec<u8>> = Vec::new(); loop { hog.push(vec![1u8; 16 << 20]); } }";
    let limits = Limits {
        memory: Some(512 << 20),
        ..default_limits()
    };
    let r = grade_one_with(limits, "memory", "race.rs", FIRST_OK, code, EMPTY_ONLY);
    assert_outcome(&r, Outcome::Crashed, "aborted");
}

#[test]
fn a_stack_overflow_is_a_crash() {
    let code = "fn deep(n: u64) -> u64 { if n == 0 { 0 } else { std::hint::black_box(1 + deep(n - 1)) } }\n\
                if futures.is_empty() { std::hint::black_box(deep(u64::MAX)); }";
    let r = grade_one("overflow", "race.rs", FIRST_OK, code, EMPTY_ONLY);
    assert_outcome(&r, Outcome::Crashed, "the test process");
}

#[test]
fn an_endless_loop_without_await_is_stopped_and_reported_as_blocking() {
    let code = "if futures.is_empty() { loop { std::hint::spin_loop(); } }";
    let r = grade_one("spin", "race.rs", FIRST_OK, code, EMPTY_ONLY);
    assert_outcome(&r, Outcome::Blocked, "never yielded");
}

#[test]
fn an_endless_loop_with_await_on_the_paused_clock_times_out_in_virtual_time() {
    let code = "if deadline <= Instant::now() { loop { tokio::time::sleep(Duration::from_secs(1)).await; } }";
    let anchor = "pub async fn with_deadline<F: Future>(deadline: Instant, fut: F) -> Result<F::Output, TimedOut> {\n";
    let r = grade_one(
        "await_loop",
        "timeout.rs",
        anchor,
        code,
        "with_deadline_in_the_past_allows_nothing",
    );
    assert_outcome(&r, Outcome::TimedOut, "waited forever");
}

#[test]
fn a_deadlock_times_out_in_virtual_time() {
    let code = "if self.names.is_empty() { let m = tokio::sync::Mutex::new(()); let _a = m.lock().await; let _b = m.lock().await; }";
    let anchor = "    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {\n";
    let r = grade_one(
        "deadlock",
        "shutdown.rs",
        anchor,
        code,
        "shutdown_with_no_workers_returns_at_once",
    );
    assert_outcome(&r, Outcome::TimedOut, "waited forever");
}

#[test]
fn thread_sleep_is_reported_as_blocking_the_executor() {
    let anchor = "    pub fn backoff(&self, failures: u32) -> Duration {\n";
    let code = "std::thread::sleep(Duration::from_millis(300));";
    let r = grade_one(
        "thread_sleep",
        "retry.rs",
        anchor,
        code,
        "backoff_doubles_from_the_initial_wait_up_to_the_cap",
    );
    assert_outcome(&r, Outcome::Blocked, "blocked the executor");
    // The grader's builds get .cargo/config.toml's `--cfg tokio_unstable`: the kit names the code.
    assert_outcome(&r, Outcome::Blocked, "in code the test ran directly");
}

#[test]
fn a_leaked_task_is_reported() {
    let anchor = "pub async fn with_timeout<F: Future>(limit: Duration, fut: F) -> Result<F::Output, TimedOut> {\n";
    let code = "tokio::spawn(tokio::time::sleep(Duration::from_secs(3600)));";
    let r = grade_one(
        "leak",
        "timeout.rs",
        anchor,
        code,
        "with_timeout_returns_the_value_of_an_operation_that_finishes_in_time",
    );
    assert_outcome(&r, Outcome::LeakedTasks, "leaked 1 task");
}

#[test]
fn a_pre_main_constructor_does_not_compile() {
    let code = "#[unsafe(link_section = \".init_array\")]\n#[used]\nstatic CHEAT: extern \"C\" fn() = {\n    extern \"C\" fn cheat() { std::process::exit(0) }\n    cheat\n};";
    let r = grade_one("ctor", "lib.rs", "mod worker;\n", code, EMPTY_ONLY);
    assert_outcome(&r, Outcome::DidNotCompile, "does not compile");
}

#[test]
fn a_compile_error_costs_only_its_exercise_and_only_src_is_taken() {
    let (ex03, ex06) = (
        exercise("ex03_rate_limited_client"),
        exercise("ex06_timeouts"),
    );
    let submission = Submission::new("compile_error")
        .with_reference(&ex03)
        .with_reference(&ex06)
        .inject(&ex06, "race.rs", FIRST_OK, "let this does not compile;")
        // A learner's build script, test edits and cargo config are never used.
        .write(
            "exercises/ex03_rate_limited_client/build.rs",
            "fn main() { panic!(\"build scripts are not run\") }",
        )
        .write(
            "exercises/ex03_rate_limited_client/tests/mine.rs",
            "#[test] fn always() {}",
        )
        .write(
            "exercises/ex03_rate_limited_client/Cargo.toml",
            "[package]\nname = \"hijacked\"\n",
        );
    let overlay = Overlay::new(&root());
    let limits = default_limits();
    let manifest = Manifest::load(&root()).unwrap();
    let graded06 = grader::grade_exercise(
        &overlay,
        &ex06,
        "corpus_ce",
        Some(&submission.crate_dir(&ex06)),
        &limits,
        &manifest,
    );
    assert!(
        graded06
            .tests
            .iter()
            .all(|t| t.outcome == Outcome::DidNotCompile),
        "{graded06:#?}"
    );
    assert!(
        graded06
            .compile_errors
            .as_deref()
            .unwrap_or("")
            .contains("error"),
        "{graded06:#?}"
    );
    let graded03 = grader::grade_exercise(
        &overlay,
        &ex03,
        "corpus_ce",
        Some(&submission.crate_dir(&ex03)),
        &limits,
        &manifest,
    );
    assert_eq!(
        graded03.points(),
        graded03.max_points(),
        "{:#?}",
        graded03.tests
    );
    assert_eq!(graded03.tests.len(), grader::expected_tests(&ex03).len());
    assert_eq!(
        graded03.ignored,
        vec![
            "Cargo.toml (changed: the instructor's manifest is used)".to_owned(),
            "build.rs (only src/ is graded)".to_owned(),
            "tests (only src/ is graded)".to_owned(),
        ]
    );
}

#[test]
fn the_expected_tests_come_from_the_hidden_suite_not_from_the_binary() {
    let tests = grader::expected_tests(&exercise("ex06_timeouts"));
    assert!(tests.len() >= 30, "{tests:?}");
    assert_eq!(
        tests[0],
        "with_timeout_returns_the_value_of_an_operation_that_finishes_in_time"
    );
    assert!(tests.contains(&EMPTY_ONLY.to_owned()));
}

#[test]
fn a_broken_submission_in_a_class_batch_costs_no_one_else() {
    // A class is built exercise by exercise, all submissions in one cargo invocation: a compile
    // error in one must not stop cargo from building the others.
    let ex = exercise("ex06_timeouts");
    let broken = Submission::new("batch_broken").with_reference(&ex).inject(
        &ex,
        "race.rs",
        FIRST_OK,
        "let this does not compile;",
    );
    let good = Submission::new("batch_good").with_reference(&ex);
    let results = grade_batch(&ex, &[broken, good]);
    assert_eq!(results[0].tests[0].outcome, Outcome::DidNotCompile);
    assert_eq!(
        results[1].tests[0].outcome,
        Outcome::Passed,
        "{:#?}",
        results[1]
    );
}

#[test]
fn identical_submissions_are_graded_once_and_each_copy_gets_the_result_of_its_source() {
    // Byte-identical sources are built and run once per batch (every exercise a learner skipped is
    // the stub). Interleaved copies must each get the result of their own source.
    let ex = exercise("ex06_timeouts");
    let broken = || {
        Submission::new(&format!("same_broken_{}", rand_label()))
            .with_reference(&ex)
            .inject(&ex, "race.rs", FIRST_OK, "let this does not compile;")
    };
    let good = || Submission::new(&format!("same_good_{}", rand_label())).with_reference(&ex);
    let stub = Submission::new("same_stub");
    workbook::grade::copy_dir(&ex.stub_dir().join("src"), &stub.crate_dir(&ex).join("src"))
        .unwrap();
    // One byte away from the reference: a source of its own, not a copy.
    let almost = Submission::new("same_almost")
        .with_reference(&ex)
        .inject(&ex, "race.rs", FIRST_OK, " ");
    let results = grade_batch(&ex, &[broken(), good(), stub, good(), broken(), almost]);
    let outcomes: Vec<Outcome> = results.iter().map(|r| r.tests[0].outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::DidNotCompile,
            Outcome::Passed,
            Outcome::NotImplemented,
            Outcome::Passed,
            Outcome::DidNotCompile,
            Outcome::Passed,
        ]
    );
    for i in [0, 4] {
        let errors = results[i].compile_errors.as_deref().unwrap_or_default();
        assert!(
            errors.contains("this") && errors.contains("src/race.rs"),
            "copy {i} keeps its compiler messages: {errors}"
        );
        // No copy learns whose code it shares: the scratch package's name holds a label.
        assert!(
            !errors.contains("same_broken") && !errors.contains("__"),
            "copy {i}'s messages name a submission: {errors}"
        );
    }
}

/// Grades `EMPTY_ONLY` in a class batch: all submissions built in one cargo invocation.
fn grade_batch(ex: &Exercise, class: &[Submission]) -> Vec<grader::ExerciseResult> {
    let dirs: Vec<PathBuf> = class.iter().map(|s| s.crate_dir(ex)).collect();
    let labels: Vec<String> = class
        .iter()
        .map(|s| s.0.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let batch: Vec<(&str, Option<&std::path::Path>)> = labels
        .iter()
        .zip(&dirs)
        .map(|(l, d)| (l.as_str(), Some(d.as_path())))
        .collect();
    let limits = Limits {
        only: Some(vec![EMPTY_ONLY.to_owned()]),
        ..default_limits()
    };
    grader::grade_exercise_many(
        &Overlay::new(&root()),
        ex,
        &batch,
        &limits,
        &Manifest::default(),
    )
}

fn rand_label() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn instructor_feedback_for_an_outcome_is_shown_above_the_tests_own_message() {
    // tests/grading.toml gives every crash a default explanation.
    let ex = exercise("ex06_timeouts");
    let submission = Submission::new("feedback").with_reference(&ex).inject(
        &ex,
        "race.rs",
        FIRST_OK,
        "if futures.is_empty() { std::process::exit(0); }",
    );
    let limits = Limits {
        only: Some(vec![EMPTY_ONLY.to_owned()]),
        ..default_limits()
    };
    let result = grader::grade_exercise(
        &Overlay::new(&root()),
        &ex,
        "corpus_feedback",
        Some(&submission.crate_dir(&ex)),
        &limits,
        &Manifest::load(&root()).unwrap(),
    );
    let test = &result.tests[0];
    assert_eq!(test.outcome, Outcome::Crashed);
    assert!(
        test.message
            .starts_with("The test process ended without a result.")
            && test.message.contains("std::process::exit?"),
        "{}",
        test.message
    );
}
