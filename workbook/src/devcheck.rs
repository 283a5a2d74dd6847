//! The maintainers' dev check: the hidden suite can tell right from wrong.
//!
//! * every untouched stub compiles and fails **every** hidden test with "not implemented yet";
//! * every known-wrong solution in `tests/wrong/<exercise>/` is rejected by the tests its header
//!   names, with a message that names the flaw;
//! * stub and reference publish the same contract (see [`crate::drift`]).
//!
//! (That every hidden test *passes* on the reference is checked by the reference packages' own
//! `cargo test`.)

use crate::exercises::Exercise;
use crate::grade::{Graded, Outcome, Overlay};
use std::path::Path;
use std::time::Duration;

/// How long one grading run (build + suite) may take before it is stopped.
const LIMIT: Duration = Duration::from_secs(600);

/// Problems with the untouched stub; empty when every hidden test fails as "not implemented yet".
pub fn check_stub(overlay: &Overlay, exercise: &Exercise) -> Vec<String> {
    let graded = match overlay.grade(
        exercise,
        "stub",
        &exercise.stub_dir().join("src"),
        None,
        LIMIT,
    ) {
        Ok(graded) => graded,
        Err(e) => return vec![format!("{}: {e}", exercise.name)],
    };
    let outcomes = match graded {
        Graded::DidNotCompile(errors) => {
            return vec![format!(
                "{}: the untouched stub does not compile:\n{errors}",
                exercise.name
            )];
        }
        Graded::Ran(outcomes) => outcomes,
    };
    if outcomes.is_empty() {
        return vec![format!(
            "{}: the hidden suite ran no test against the stub",
            exercise.name
        )];
    }
    outcomes
        .iter()
        .filter_map(|(test, outcome)| match outcome {
            Outcome::Passed => Some(format!(
                "{}: `{test}` passes on the untouched stub",
                exercise.name
            )),
            Outcome::Failed(message) if !message.contains("not implemented yet") => Some(format!(
                "{}: `{test}` fails on the stub without saying \"not implemented yet\":\n{message}",
                exercise.name
            )),
            Outcome::Failed(_) => None,
        })
        .collect()
}

/// What a known-wrong solution's header promises: `//! expect: <test> — <text in the message>`,
/// and optionally `//! replaces: <file under src/>` (default `lib.rs`).
#[derive(Debug, PartialEq, Eq)]
pub struct WrongSolution {
    pub replaces: String,
    pub expectations: Vec<(String, String)>,
}

pub fn parse_header(text: &str) -> Result<WrongSolution, String> {
    let mut replaces = "lib.rs".to_owned();
    let mut expectations = Vec::new();
    for line in text
        .lines()
        .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
    {
        let line = line.trim_start_matches("//!").trim();
        if let Some(file) = line.strip_prefix("replaces:") {
            replaces = file.trim().to_owned();
        } else if let Some(rest) = line.strip_prefix("expect:") {
            let (test, text) = rest.split_once(" — ").ok_or_else(|| {
                format!("`expect:` line without \" — \" between test and text: {line}")
            })?;
            expectations.push((test.trim().to_owned(), text.trim().to_owned()));
        }
    }
    if expectations.is_empty() {
        return Err("the header names no `//! expect: <test> — <text>` line".to_owned());
    }
    Ok(WrongSolution {
        replaces,
        expectations,
    })
}

/// Problems with one known-wrong solution; empty when the suite rejects it as its header says.
pub fn check_wrong(overlay: &Overlay, exercise: &Exercise, file: &Path) -> Vec<String> {
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = format!("{}/{name}", exercise.name);
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return vec![format!("{label}: {e}")],
    };
    let wrong = match parse_header(&text) {
        Ok(wrong) => wrong,
        Err(e) => return vec![format!("{label}: {e}")],
    };
    let src = exercise.solution_dir().join("src");
    let graded = match overlay.grade(
        exercise,
        &format!("wrong_{name}"),
        &src,
        Some((&wrong.replaces, &text)),
        LIMIT,
    ) {
        Ok(graded) => graded,
        Err(e) => return vec![format!("{label}: {e}")],
    };
    let outcomes = match graded {
        Graded::DidNotCompile(errors) => {
            return vec![format!("{label}: does not compile:\n{errors}")];
        }
        Graded::Ran(outcomes) => outcomes,
    };
    wrong
        .expectations
        .iter()
        .filter_map(|(test, expected)| match outcomes.get(test) {
            None => Some(format!("{label}: the suite has no test `{test}`")),
            Some(Outcome::Passed) => Some(format!(
                "{label}: `{test}` passes, but it should reject this solution"
            )),
            Some(Outcome::Failed(message)) if !message.contains(expected.as_str()) => {
                Some(format!(
                    "{label}: `{test}` fails, but its message does not say {expected:?}:\n{message}"
                ))
            }
            Some(Outcome::Failed(_)) => None,
        })
        .collect()
}

/// Problems with stub/reference drift.
pub fn check_drift(exercise: &Exercise) -> Vec<String> {
    crate::drift::compare(
        &exercise.stub_dir().join("src"),
        &exercise.solution_dir().join("src"),
    )
    .into_iter()
    .map(|p| format!("{}: {p}", exercise.name))
    .collect()
}

/// Problems with the grading manifest: it must parse, and every entry must name a real test.
pub fn check_manifest(root: &Path) -> Vec<String> {
    let manifest = match crate::manifest::Manifest::load(root) {
        Ok(m) => m,
        Err(e) => return vec![format!("tests/grading.toml: {e}")],
    };
    manifest
        .entries()
        .filter_map(
            |(exercise, test)| match crate::exercises::find(root, exercise) {
                Err(_) => Some(format!("tests/grading.toml: no exercise {exercise}")),
                Ok(ex) if !crate::grader::expected_tests(&ex).contains(test) => Some(format!(
                    "tests/grading.toml: {exercise} has no hidden test {test}"
                )),
                Ok(_) => None,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_file_and_the_expectations() {
        let text = "//! Wrong solution: sleeps.\n//! replaces: retry.rs\n//! expect: a_test — blocked the executor\n\nuse x;\n//! expect: ignored — after code";
        assert_eq!(
            parse_header(text),
            Ok(WrongSolution {
                replaces: "retry.rs".into(),
                expectations: vec![("a_test".into(), "blocked the executor".into())],
            })
        );
        assert!(parse_header("//! Wrong solution: nothing expected\n").is_err());
    }
}
