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

/// What the grader noted about an exercise besides its tests: files it left out or ignored,
/// static findings.
fn notes(ex: &ExerciseResult) -> Vec<String> {
    ex.ignored
        .iter()
        .map(|i| format!("ignored: {i}"))
        .chain(ex.findings.iter().map(|f| format!("note: {f}")))
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
        "sandbox": {
            "backend": sandbox.backend,
            "missing": sandbox.missing,
            "summary": sandbox.summary(),
        },
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
                (Some(_), _) => format!(
                    "{}: did not compile (the compiler's messages are at the top of this page)",
                    ex.exercise
                ),
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
    // The top-level output: the sandbox, then per exercise what the grader noted and what did
    // not compile (once, not in every test).
    let mut output = sandbox_line(sandbox);
    for ex in results {
        let notes = notes(ex);
        if !notes.is_empty() || ex.compile_errors.is_some() {
            output.push_str(&format!("\n\n{}:", ex.exercise));
        }
        for note in notes {
            output.push_str(&format!("\n- {note}"));
        }
        if let Some(errors) = &ex.compile_errors {
            output.push_str(&format!("\ndid not compile:\n{errors}"));
        }
    }
    json!({ "score": total(results).0, "output": output, "tests": tests })
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

/// JUnit XML as the Jenkins/Surefire schema (`junit-10.xsd`, which GitLab and most CI systems
/// follow) defines it: one suite per exercise with its score, the sandbox, the findings and the
/// ignored files as properties; each test a case whose `failure`/`error` has a one-line `message`
/// and the whole text as its body (parsers flatten an attribute to one line); compiler messages in
/// the suite's `system-err`; each test's points in its `system-out`.
pub fn to_junit(
    submission: &str,
    results: &[ExerciseResult],
    audience: Audience,
    sandbox: &Status,
) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    let mut time = std::time::Duration::ZERO;
    for ex in results {
        let views = views(ex, audience);
        let count = |f: fn(Outcome) -> bool| views.iter().filter(|t| f(t.outcome)).count();
        let suite_errors = count(junit_error);
        let suite_failures =
            count(|o| !junit_error(o) && !matches!(o, Outcome::Passed | Outcome::NotRun));
        let skipped = count(|o| o == Outcome::NotRun);
        let suite_time: std::time::Duration = views.iter().map(|t| t.duration).sum();
        tests += views.len();
        failures += suite_failures;
        errors += suite_errors;
        time += suite_time;
        suites.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{suite_failures}\" errors=\"{suite_errors}\" skipped=\"{skipped}\" time=\"{}\">\n    <properties>\n",
            xml(&ex.exercise),
            views.len(),
            seconds(suite_time)
        ));
        let mut properties = vec![
            ("score", ex.points().to_string()),
            ("max_score", ex.max_points().to_string()),
            ("sandbox", sandbox.summary()),
        ];
        properties.extend(ex.findings.iter().map(|f| ("finding", f.clone())));
        properties.extend(ex.ignored.iter().map(|i| ("ignored", i.clone())));
        for (name, value) in properties {
            suites.push_str(&format!(
                "      <property name=\"{name}\" value=\"{}\"/>\n",
                xml(&value)
            ));
        }
        suites.push_str("    </properties>\n");
        for t in &views {
            suites.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">\n",
                xml(&t.name),
                xml(&ex.exercise),
                seconds(t.duration)
            ));
            let text = match (&ex.compile_errors, t.outcome) {
                (Some(_), _) => "the exercise does not compile: the compiler's messages are in \
                                 this suite's system-err"
                    .to_owned(),
                _ => t.message.clone(),
            };
            let element = match t.outcome {
                Outcome::Passed => None,
                Outcome::NotRun => Some("skipped"),
                o if junit_error(o) => Some("error"),
                _ => Some("failure"),
            };
            if let Some(element) = element {
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                let summary: String = format!("{}: {first}", t.outcome.label())
                    .chars()
                    .take(200)
                    .collect();
                suites.push_str(&format!(
                    "      <{element} type=\"{}\" message=\"{}\">{}</{element}>\n",
                    xml(t.outcome.label()),
                    xml(summary.trim_end_matches(": ")),
                    xml(&text)
                ));
            }
            suites.push_str(&format!(
                "      <system-out>points: {}/{}</system-out>\n    </testcase>\n",
                t.points, t.max_points
            ));
        }
        if let Some(compile) = &ex.compile_errors {
            suites.push_str(&format!("    <system-err>{}</system-err>\n", xml(compile)));
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">\n{suites}</testsuites>\n",
        xml(&format!("workbook grade: {submission}")),
        seconds(time)
    )
}

/// Outcomes JUnit calls errors (the test could not run to a verdict) rather than failures.
fn junit_error(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::DidNotCompile | Outcome::Crashed)
}

/// Seconds with at most three decimals (the schema's `SUREFIRE_TIME`).
fn seconds(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Text for an XML or HTML attribute or element: the five special characters escaped, and the
/// characters XML 1.0 cannot carry at all (control characters other than tab and newlines) left
/// out. A learner's message or file name is shown, never markup.
pub(crate) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
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
        let notes = notes(ex);
        if failing.is_empty() && ex.compile_errors.is_none() && notes.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n<details><summary>{}</summary>\n\n",
            ex.exercise
        ));
        if !notes.is_empty() {
            out.push_str(&format!("{}\n\n", fenced(&notes.join("\n"), "")));
        }
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

/// The first field of a gradebook row (the submission), unquoted.
pub fn csv_first_field(row: &str) -> String {
    match row.strip_prefix('"') {
        Some(rest) => {
            let mut out = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, chars.peek()) {
                    ('"', Some('"')) => {
                        out.push('"');
                        chars.next();
                    }
                    ('"', _) => break,
                    (c, _) => out.push(c),
                }
            }
            out
        }
        None => row.split(',').next().unwrap_or_default().to_owned(),
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Visibility;
    use std::time::Duration;

    fn test(name: &str, outcome: Outcome, message: &str, visibility: Visibility) -> TestResult {
        TestResult {
            name: name.into(),
            outcome,
            message: message.into(),
            points: if outcome == Outcome::Passed { 2.0 } else { 0.0 },
            max_points: 2.0,
            visibility,
            duration: Duration::from_millis(1234),
        }
    }

    fn class() -> Vec<ExerciseResult> {
        vec![ExerciseResult {
            exercise: "ex06_timeouts".into(),
            tests: vec![
                test("a_passes", Outcome::Passed, "", Visibility::Visible),
                test(
                    "b_fails",
                    Outcome::Failed,
                    "attempt 3 at t=400ms, expected t=700ms\n<diff> & \"more\"\u{1}",
                    Visibility::Visible,
                ),
                test(
                    "c_secret",
                    Outcome::TimedOut,
                    "waited forever",
                    Visibility::Hidden,
                ),
                test("d_crash", Outcome::Crashed, "exit 3", Visibility::Visible),
                test("e_not_run", Outcome::NotRun, "", Visibility::Visible),
            ],
            compile_errors: None,
            ignored: vec!["src/x.rs: left out — a symbolic link".into()],
            findings: vec!["src/race.rs:3: calls std::process::exit".into()],
        }]
    }

    fn status() -> Status {
        Status {
            backend: "bubblewrap".into(),
            missing: vec![],
        }
    }

    #[test]
    fn junit_keeps_the_schema_a_one_line_message_and_the_whole_text_in_the_body() {
        let xml = to_junit("alice", &class(), Audience::Instructor, &status());
        assert!(xml.contains(
            "<testsuites name=\"workbook grade: alice\" tests=\"5\" failures=\"2\" errors=\"1\" time=\"6.170\">"
        ), "the totals, no skipped attribute on testsuites (junit-10.xsd has none):\n{xml}");
        assert!(
            xml.contains("<testsuite name=\"ex06_timeouts\" tests=\"5\" failures=\"2\" errors=\"1\" skipped=\"1\" time=\"6.170\">"),
            "{xml}"
        );
        assert!(
            xml.contains("<failure type=\"failed\" message=\"failed: attempt 3 at t=400ms, expected t=700ms\">attempt 3 at t=400ms, expected t=700ms\n&lt;diff&gt; &amp; &quot;more&quot;</failure>"),
            "one line in the attribute, the whole text (escaped, the control character left out) in the body:\n{xml}"
        );
        assert!(
            xml.contains("<error type=\"crashed\""),
            "a crash is an error: {xml}"
        );
        assert!(xml.contains("<skipped type=\"not run\""), "{xml}");
        for (name, value) in [
            ("score", "2"),
            ("sandbox", "sandbox: bubblewrap (all protections in place)"),
            ("finding", "src/race.rs:3: calls std::process::exit"),
            ("ignored", "src/x.rs: left out — a symbolic link"),
        ] {
            assert!(
                xml.contains(&format!("<property name=\"{name}\" value=\"{value}\"/>")),
                "the suite's properties carry {name}: {xml}"
            );
        }
        let in_cases = xml.split("<testcase ").skip(1).any(|case| {
            case.split("</testcase>")
                .next()
                .unwrap_or("")
                .contains("<propert")
        });
        assert!(
            !in_cases,
            "junit-10.xsd allows no properties in a testcase: {xml}"
        );
        assert!(
            xml.contains("<system-out>points: 0/2</system-out>"),
            "{xml}"
        );
    }

    #[test]
    fn a_learner_sees_a_hidden_test_as_passed_or_failed_and_nothing_more() {
        let results = class();
        let xml = to_junit("alice", &results, Audience::Learner, &status());
        assert!(
            !xml.contains("c_secret") && !xml.contains("waited forever"),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testcase name=\"hidden test 3\" classname=\"ex06_timeouts\" time=\"0.000\">"
            ),
            "no name, no duration: {xml}"
        );
        let json = to_json("alice", &results, Audience::Learner, &status());
        let hidden = &json["exercises"][0]["tests"][2];
        assert_eq!(hidden["outcome"], "failed", "not 'timed out': {hidden}");
        assert_eq!(hidden["duration_ms"], 0, "{hidden}");
        let instructor = to_json("alice", &results, Audience::Instructor, &status());
        assert_eq!(
            instructor["exercises"][0]["tests"][2]["outcome"],
            "timed out"
        );
    }

    #[test]
    fn every_report_names_the_sandbox_the_findings_and_the_ignored_files() {
        let results = class();
        let texts = [
            scorecard(&results, Audience::Learner, &status()),
            to_json("alice", &results, Audience::Learner, &status()).to_string(),
            to_junit("alice", &results, Audience::Learner, &status()),
            to_markdown("alice", &results, Audience::Learner, &status()),
            to_gradescope(&results, &status()).to_string(),
        ];
        for (i, text) in texts.iter().enumerate() {
            for needle in [
                "sandbox: bubblewrap",
                "calls std::process::exit",
                "a symbolic link",
            ] {
                assert!(
                    text.contains(needle),
                    "report {i} lacks {needle:?}:\n{text}"
                );
            }
        }
    }

    #[test]
    fn gradescope_shows_compile_errors_once_at_the_top() {
        let mut results = class();
        results[0].compile_errors = Some("error[E0308]: mismatched types".into());
        let value = to_gradescope(&results, &status());
        let output = value["output"].as_str().unwrap();
        assert!(output.contains("error[E0308]"), "{output}");
        for test in value["tests"].as_array().unwrap() {
            assert!(
                !test["output"].as_str().unwrap().contains("E0308"),
                "not repeated in every test: {test}"
            );
        }
    }

    #[test]
    fn the_first_field_of_a_gradebook_row_is_read_back_whatever_it_holds() {
        for label in ["alice", "o'neil, jr", "say \"hi\""] {
            let row = csv_row(label, &[]);
            assert_eq!(csv_first_field(&row), label, "{row}");
        }
    }
}
