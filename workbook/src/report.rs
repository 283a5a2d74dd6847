//! Reports from one result model: a terminal scorecard, the workbook's own JSON, Gradescope's and
//! Exercism's `results.json`, JUnit XML for GitLab/Jenkins, a Markdown summary for GitHub's step
//! summary, and a CSV gradebook row.
//!
//! Learner-facing reports (`Audience::Learner`) withhold the name and message of every test that
//! is not `visible`; they still count in the score. Instructor reports show everything.

use crate::grader::{ExerciseResult, Outcome, TestResult};
use crate::sandbox::Status;
use serde_json::{Value, json};

/// Who reads the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Instructor,
    Learner,
}

/// A test as a given audience may see it. A hidden test, for a learner, is "hidden test N",
/// passed or failed — no message, no finer outcome, no duration: a learner's code runs inside the
/// hidden test and could signal through any of them (a delay per letter of a name).
fn view(t: &TestResult, index: usize, audience: Audience) -> TestResult {
    if audience == Audience::Learner && !t.visibility.shown_to_learner() {
        TestResult {
            name: format!("hidden test {}", index + 1),
            outcome: if t.outcome == Outcome::Passed {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            message: String::new(),
            duration: std::time::Duration::ZERO,
            ..t.clone()
        }
    } else {
        t.clone()
    }
}

/// An exercise's tests as `audience` may see them.
fn views(ex: &ExerciseResult, audience: Audience) -> Vec<TestResult> {
    ex.tests
        .iter()
        .enumerate()
        .map(|(i, t)| view(t, i, audience))
        .collect()
}

/// The sandbox's status as one line; loud when a protection was missing.
fn sandbox_line(sandbox: &Status) -> String {
    if sandbox.missing.is_empty() {
        sandbox.summary()
    } else {
        format!(
            "WARNING: learner code ran without full isolation. {}",
            sandbox.summary()
        )
    }
}

fn total(results: &[ExerciseResult]) -> (f64, f64) {
    (
        results.iter().map(ExerciseResult::points).sum(),
        results.iter().map(ExerciseResult::max_points).sum(),
    )
}

/// A plain-text scorecard, one block per exercise, under the sandbox's status.
pub fn scorecard(results: &[ExerciseResult], audience: Audience, sandbox: &Status) -> String {
    let mut out = sandbox_line(sandbox);
    out.push('\n');
    for ex in results {
        out.push_str(&format!(
            "\n{} — {}/{} points\n",
            ex.exercise,
            ex.points(),
            ex.max_points()
        ));
        for ignored in &ex.ignored {
            out.push_str(&format!("  (ignored: {ignored})\n"));
        }
        for finding in &ex.findings {
            out.push_str(&format!("  (note: {finding})\n"));
        }
        if let Some(errors) = &ex.compile_errors {
            out.push_str("  did not compile:\n");
            for line in errors.lines().take(40) {
                out.push_str(&format!("    {line}\n"));
            }
            continue;
        }
        for t in &views(ex, audience) {
            let (name, message) = (&t.name, &t.message);
            let mark = if t.outcome == Outcome::Passed {
                "✓"
            } else {
                "✗"
            };
            out.push_str(&format!(
                "  {mark} {name} [{}] {}/{}\n",
                t.outcome.label(),
                t.points,
                t.max_points
            ));
            if t.outcome != Outcome::Passed && t.outcome != Outcome::NotRun {
                for line in message.lines().filter(|l| !l.trim().is_empty()).take(8) {
                    out.push_str(&format!("      {line}\n"));
                }
            }
        }
    }
    let (points, max) = total(results);
    out.push_str(&format!("\ntotal: {points}/{max} points\n"));
    out
}

/// The workbook's own JSON: everything the grader knows.
pub fn to_json(
    submission: &str,
    results: &[ExerciseResult],
    audience: Audience,
    sandbox: &Status,
) -> Value {
    let (score, max_score) = total(results);
    json!({
        "submission": submission,
        "score": score,
        "max_score": max_score,
        "sandbox": { "backend": sandbox.backend, "missing": sandbox.missing },
        "exercises": results.iter().map(|ex| json!({
            "exercise": ex.exercise,
            "score": ex.points(),
            "max_score": ex.max_points(),
            "compile_errors": ex.compile_errors,
            "ignored": ex.ignored,
            "findings": ex.findings,
            "tests": views(ex, audience).iter().map(|t| {
                json!({
                    "name": t.name,
                    "outcome": t.outcome.label(),
                    "message": t.message,
                    "score": t.points,
                    "max_score": t.max_points,
                    "visibility": t.visibility.as_str(),
                    "duration_ms": t.duration.as_millis() as u64,
                })
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Gradescope's `results.json`: one entry per hidden test, with its visibility (Gradescope itself
/// withholds hidden tests from students, so this report always carries everything); the
/// sandbox's status in the top-level `output`.
pub fn to_gradescope(results: &[ExerciseResult], sandbox: &Status) -> Value {
    let mut tests = Vec::new();
    for ex in results {
        for t in &ex.tests {
            let output = match (&ex.compile_errors, t.outcome) {
                (Some(errors), _) => format!("{}: did not compile\n{errors}", ex.exercise),
                (None, Outcome::Passed) => String::new(),
                (None, outcome) => format!("{}\n{}", outcome.label(), t.message),
            };
            tests.push(json!({
                "name": format!("{} :: {}", ex.exercise, t.name),
                "score": t.points,
                "max_score": t.max_points,
                "status": if t.outcome == Outcome::Passed { "passed" } else { "failed" },
                "output": output,
                "tags": [ex.exercise, t.outcome.label()],
                "visibility": t.visibility.as_str(),
            }));
        }
    }
    json!({ "score": total(results).0, "output": sandbox_line(sandbox), "tests": tests })
}

/// Exercism's test-runner `results.json`, version 3: tests in file order, `task_id` = the exercise's
/// position, `output` at most 500 characters. Learner-facing by nature.
pub fn to_exercism(results: &[ExerciseResult]) -> Value {
    let mut tests = Vec::new();
    let mut any_ran = false;
    for (task, ex) in results.iter().enumerate() {
        for t in &views(ex, Audience::Learner) {
            let (name, message) = (&t.name, &t.message);
            let status = match t.outcome {
                Outcome::Passed => "pass",
                Outcome::DidNotCompile | Outcome::NotRun | Outcome::Crashed => "error",
                _ => "fail",
            };
            any_ran |= !matches!(t.outcome, Outcome::DidNotCompile | Outcome::NotRun);
            let mut test = json!({
                "name": format!("{}: {}", ex.exercise, name.replace('_', " ")),
                "test_code": "",
                "status": status,
                "task_id": task + 1,
            });
            if t.outcome != Outcome::Passed {
                let text = match &ex.compile_errors {
                    Some(errors) => errors.clone(),
                    None => format!("{}: {message}", t.outcome.label()),
                };
                test["message"] = json!(text);
            }
            tests.push(test);
        }
    }
    let all_pass = !tests.is_empty() && tests.iter().all(|t| t["status"] == "pass");
    let mut report = json!({
        "version": 3,
        "status": if !any_ran { "error" } else if all_pass { "pass" } else { "fail" },
        "tests": tests,
    });
    if !any_ran {
        let message: Vec<String> = results
            .iter()
            .filter_map(|ex| ex.compile_errors.clone())
            .collect();
        let mut message = message.join("\n\n");
        message.truncate(65_535);
        report["message"] = json!(if message.is_empty() {
            "no test could run".to_owned()
        } else {
            message
        });
    }
    report
}

/// JUnit XML (the Jenkins flavour GitLab and most CI systems read): one suite per exercise, points
/// and the sandbox's status as properties.
pub fn to_junit(
    submission: &str,
    results: &[ExerciseResult],
    audience: Audience,
    sandbox: &Status,
) -> String {
    use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new(format!("workbook grade: {submission}"));
    for ex in results {
        let mut suite = TestSuite::new(ex.exercise.clone());
        suite.add_property(Property::new("sandbox", sandbox.summary()));
        suite.add_property(Property::new("score", ex.points().to_string()));
        suite.add_property(Property::new("max_score", ex.max_points().to_string()));
        for t in &views(ex, audience) {
            let (name, message) = (t.name.clone(), t.message.clone());
            let status = match t.outcome {
                Outcome::Passed => TestCaseStatus::success(),
                Outcome::NotRun => TestCaseStatus::skipped(),
                Outcome::DidNotCompile | Outcome::Crashed => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_type(t.outcome.label());
                    s.set_message(ex.compile_errors.clone().unwrap_or(message));
                    s
                }
                _ => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_type(t.outcome.label());
                    s.set_message(message);
                    s
                }
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(ex.exercise.clone());
            case.set_time(t.duration);
            case.add_property(Property::new("points", t.points.to_string()));
            case.add_property(Property::new("max_points", t.max_points.to_string()));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_default()
}

/// A Markdown summary (for `$GITHUB_STEP_SUMMARY`, or a merge request comment).
pub fn to_markdown(
    submission: &str,
    results: &[ExerciseResult],
    audience: Audience,
    sandbox: &Status,
) -> String {
    let (points, max) = total(results);
    let mut out = format!("## Grade for `{submission}`: {points}/{max} points\n\n");
    out.push_str(&format!("{}\n\n", sandbox_line(sandbox)));
    out.push_str("| exercise | points | passed | not implemented | other failures |\n|---|---|---|---|---|\n");
    for ex in results {
        let tests = views(ex, audience);
        let count = |o: Outcome| tests.iter().filter(|t| t.outcome == o).count();
        let passed = count(Outcome::Passed);
        let todo = count(Outcome::NotImplemented);
        out.push_str(&format!(
            "| {} | {}/{} | {passed} | {todo} | {} |\n",
            ex.exercise,
            ex.points(),
            ex.max_points(),
            ex.tests.len() - passed - todo
        ));
    }
    for ex in results {
        let tests = views(ex, audience);
        let failing: Vec<&TestResult> = tests
            .iter()
            .filter(|t| {
                !matches!(
                    t.outcome,
                    Outcome::Passed | Outcome::NotImplemented | Outcome::NotRun
                )
            })
            .collect();
        if failing.is_empty() && ex.compile_errors.is_none() {
            continue;
        }
        out.push_str(&format!(
            "\n<details><summary>{}</summary>\n\n",
            ex.exercise
        ));
        if let Some(errors) = &ex.compile_errors {
            out.push_str(&format!("Did not compile:\n\n{}\n", fenced(errors, "")));
        }
        for t in failing {
            let (name, message) = (&t.name, &t.message);
            out.push_str(&format!("- **{name}** — {}\n", t.outcome.label()));
            if !message.is_empty() {
                let excerpt: Vec<&str> = message
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .take(12)
                    .collect();
                out.push_str(&format!("\n{}\n", fenced(&excerpt.join("\n"), "  ")));
            }
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// `text` as a Markdown code block that nothing in it can close: its fence is longer than any run
/// of backticks inside (a learner's message must not turn into Markdown or HTML of its own).
fn fenced(text: &str, indent: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body: Vec<String> = text.lines().map(|l| format!("{indent}{l}")).collect();
    format!("{indent}{fence}text\n{}\n{indent}{fence}", body.join("\n"))
}

/// The gradebook's header for `exercises` (in order).
pub fn csv_header(exercises: &[String]) -> String {
    let mut cols = vec![
        "submission".to_owned(),
        "score".to_owned(),
        "max_score".to_owned(),
    ];
    cols.extend(exercises.iter().cloned());
    cols.join(",")
}

/// One gradebook row: the submission, the total, then each exercise's points.
pub fn csv_row(submission: &str, results: &[ExerciseResult]) -> String {
    let (points, max) = total(results);
    let mut cols = vec![csv_field(submission), points.to_string(), max.to_string()];
    cols.extend(results.iter().map(|ex| ex.points().to_string()));
    cols.join(",")
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
