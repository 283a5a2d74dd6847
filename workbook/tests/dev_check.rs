//! The dev check, as part of a plain `cargo test` at the root: the hidden suites must tell right
//! from wrong. Each test grades submissions in a scratch workspace under `target/workbook/` (see
//! `workbook::grade`), so the first run builds the dependencies once more; later runs reuse them.

use std::path::PathBuf;
use workbook::devcheck;
use workbook::exercises::{self, Exercise};
use workbook::grade::Overlay;

fn root() -> PathBuf {
    exercises::find_root(env!("CARGO_MANIFEST_DIR").as_ref()).expect("the workbook root")
}

fn exercises() -> Vec<Exercise> {
    let all = exercises::all(&root());
    assert!(
        !all.is_empty(),
        "no exercises found under {}",
        root().display()
    );
    all
}

fn report(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

/// Every untouched stub fails every hidden test as "not implemented yet", and every known-wrong
/// solution is rejected by the tests its header names, with a message naming its flaw.
#[test]
fn the_hidden_suites_tell_right_from_wrong() {
    let overlay = Overlay::new(&root());
    let mut problems = Vec::new();
    for ex in exercises() {
        let wrong = ex.wrong_solutions().len();
        if wrong < 3 {
            problems.push(format!(
                "{}: only {wrong} known-wrong solution(s); keep at least 3",
                ex.name
            ));
        }
        problems.extend(devcheck::check_exercise(&overlay, &ex));
    }
    report(problems);
}

#[test]
fn every_assertion_of_a_hidden_suite_says_what_it_checks() {
    report(
        exercises()
            .iter()
            .flat_map(devcheck::check_messages)
            .collect(),
    );
}

/// The same pub items and docs in stub and reference; in a traced suite, every sentence of those
/// docs checked by a test that cites it, and every test citing what it checks.
#[test]
fn every_stub_publishes_the_same_documented_api_as_its_reference() {
    report(exercises().iter().flat_map(devcheck::check_drift).collect());
}

/// The exercises whose suites trace their contract (see `workbook::contract`). Each one listed
/// here must stay traced: the list only grows.
const TRACED: &[&str] = &[
    "ex00_warmup",
    "ex01_async_files",
    "ex02_tcp_server",
    "ex03_rate_limited_client",
    "ex04_backpressure_pipeline",
    "ex05_chat_server",
    "ex06_timeouts",
    "ex07_stream_library",
    "ex08_web_crawler",
    "ex09_notifications",
    "ex10_http_server",
    "ex11_distributed_tasks",
];

#[test]
fn the_traced_exercises_stay_traced() {
    let untraced: Vec<String> = exercises()
        .iter()
        .filter(|ex| TRACED.contains(&ex.name.as_str()) && !workbook::contract::is_traced(ex))
        .map(|ex| {
            format!(
                "{}: its suite cites no sentence of the contract any more",
                ex.name
            )
        })
        .collect();
    report(untraced);
}

#[test]
fn every_exercise_has_a_reference_a_hidden_suite_and_a_chapter() {
    let root = root();
    let mut problems = Vec::new();
    for ex in exercises() {
        let chapter = root
            .join("curriculum/src")
            .join(format!("{}.md", ex.name.replace('_', "-")));
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        for member in [
            format!("\"exercises/{}\"", ex.name),
            format!("\"solutions/{}\"", ex.name),
        ] {
            if !manifest.contains(&member) {
                problems.push(format!(
                    "{}: {member} is not listed in the workspace's members",
                    ex.name
                ));
            }
        }
        for (what, path) in [
            ("reference", ex.solution_dir().join("Cargo.toml")),
            ("hidden suite", ex.hidden_suite()),
            ("chapter", chapter),
        ] {
            if !path.exists() {
                problems.push(format!("{}: no {what} at {}", ex.name, path.display()));
            }
        }
    }
    report(problems);
}

#[test]
fn the_grading_manifest_names_only_real_tests() {
    report(devcheck::check_manifest(&root()));
}
