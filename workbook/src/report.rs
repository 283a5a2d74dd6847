//! Reports from one result model: a terminal scorecard, the workbook's own JSON, and Gradescope's
//! `results.json`.

use crate::grader::{ExerciseResult, Outcome};
use serde_json::{Value, json};

/// A plain-text scorecard, one block per exercise.
pub fn scorecard(results: &[ExerciseResult]) -> String {
    let mut out = String::new();
    let (mut total, mut max) = (0.0, 0.0);
    for ex in results {
        total += ex.points();
        max += ex.max_points();
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
        for t in &ex.tests {
            let mark = if t.outcome == Outcome::Passed {
                "✓"
            } else {
                "✗"
            };
            out.push_str(&format!("  {mark} {} [{}]\n", t.name, t.outcome.label()));
            if t.outcome != Outcome::Passed && t.outcome != Outcome::NotRun {
                for line in t.message.lines().filter(|l| !l.trim().is_empty()).take(8) {
                    out.push_str(&format!("      {line}\n"));
                }
            }
        }
    }
    out.push_str(&format!("\ntotal: {total}/{max} points\n"));
    out
}

/// The workbook's own JSON: everything the grader knows.
pub fn to_json(submission: &str, results: &[ExerciseResult]) -> Value {
    json!({
        "submission": submission,
        "score": results.iter().map(ExerciseResult::points).sum::<f64>(),
        "max_score": results.iter().map(ExerciseResult::max_points).sum::<f64>(),
        "exercises": results.iter().map(|ex| json!({
            "exercise": ex.exercise,
            "score": ex.points(),
            "max_score": ex.max_points(),
            "compile_errors": ex.compile_errors,
            "ignored": ex.ignored,
            "findings": ex.findings,
            "tests": ex.tests.iter().map(|t| json!({
                "name": t.name,
                "outcome": t.outcome.label(),
                "message": t.message,
                "score": t.points,
                "max_score": t.max_points,
                "duration_ms": t.duration.as_millis() as u64,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Gradescope's `results.json` (autograder specification): one test entry per hidden test.
pub fn to_gradescope(results: &[ExerciseResult]) -> Value {
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
                "visibility": "visible",
            }));
        }
    }
    json!({
        "score": results.iter().map(ExerciseResult::points).sum::<f64>(),
        "tests": tests,
    })
}
