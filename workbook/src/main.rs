//! `workbook`: the Week-10 workbook's command line.
//!
//! ```text
//! cargo run -q -p workbook -- list             the exercises, in order
//! cargo run -q -p workbook -- check 06         grade one exercise and print a scorecard
//! cargo run -q -p workbook -- dev-check [06]   maintainers: stubs fail, wrong solutions are rejected
//! ```
//! (`cargo wb …` is an alias for `cargo run -q -p workbook -- …`.)

use std::process::ExitCode;
use std::time::Duration;
use workbook::devcheck;
use workbook::exercises::{self, Exercise};
use workbook::grade::{self, Graded, Outcome, Overlay};
use workbook::{grader, report};

const USAGE: &str = "usage: workbook <command>

commands:
  list               list the exercises, in order
  check <exercise>   run an exercise's tests and print a scorecard (e.g. `check 06`)
  dev-check [ex]     maintainers: every stub fails, every known-wrong solution is rejected,
                     stub and reference publish the same API
  grade <dir> [--json FILE] [--gradescope FILE]
                     instructors: grade a submission (a copy of the workbook, or of its
                     exercises/ directory) test by test against the hidden suites";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(root) = std::env::current_dir()
        .ok()
        .and_then(|d| exercises::find_root(&d))
    else {
        eprintln!(
            "error: run this inside the workbook (no `exercises/` directory found above here)"
        );
        return ExitCode::from(2);
    };
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["list"] => Ok(list(&root)),
        ["check", query] => exercises::find(&root, query).and_then(|ex| check(&root, &ex)),
        ["dev-check"] => Ok(dev_check(&root, exercises::all(&root))),
        ["dev-check", query] => exercises::find(&root, query).map(|ex| dev_check(&root, vec![ex])),
        ["grade", submission, rest @ ..] => grade(&root, submission.as_ref(), rest),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(true)
        }
        _ => Err(format!("unknown command: {}\n\n{USAGE}", args.join(" "))),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn list(root: &std::path::Path) -> bool {
    println!("Week 10 — async Rust. Start with the first exercise; `check <n>` grades one.\n");
    for ex in exercises::all(root) {
        println!("  {:<28} cargo test -p {}", ex.name, ex.name);
    }
    true
}

fn check(root: &std::path::Path, exercise: &Exercise) -> Result<bool, String> {
    println!("checking {} …", exercise.name);
    let graded = grade::run_suite(
        root,
        &exercise.name,
        &root.join("target"),
        Duration::from_secs(600),
    )?;
    let outcomes = match graded {
        Graded::DidNotCompile(errors) => {
            println!(
                "{errors}\n✗ {} does not compile yet: fix the errors above.",
                exercise.name
            );
            return Ok(false);
        }
        Graded::Ran(outcomes) => outcomes,
    };
    let passed = outcomes.values().filter(|o| **o == Outcome::Passed).count();
    for (test, outcome) in &outcomes {
        match outcome {
            Outcome::Passed => println!("  ✓ {test}"),
            Outcome::Failed(message) => {
                println!("  ✗ {test}");
                // The last panic in the output is the verdict; earlier lines show where it happened.
                let verdict = message.rsplit("panicked at").next().unwrap_or(message);
                for line in verdict.lines().skip(1).take(12) {
                    println!("      {line}");
                }
            }
        }
    }
    println!(
        "\n{passed}/{} tests pass for {}",
        outcomes.len(),
        exercise.name
    );
    Ok(passed == outcomes.len() && passed > 0)
}

fn grade(
    root: &std::path::Path,
    submission: &std::path::Path,
    options: &[&str],
) -> Result<bool, String> {
    let exercises_dir = if submission.join("exercises").is_dir() {
        submission.join("exercises")
    } else {
        submission.to_path_buf()
    };
    if !exercises_dir.is_dir() {
        return Err(format!("{} is not a directory", submission.display()));
    }
    let label = submission
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "submission".to_owned());
    let overlay = Overlay::new(root);
    let limits = grader::Limits::default();
    let results: Vec<_> = exercises::all(root)
        .iter()
        .map(|ex| {
            let dir = exercises_dir.join(&ex.name);
            grader::grade_exercise(
                &overlay,
                ex,
                &label,
                dir.is_dir().then_some(dir.as_path()),
                &limits,
            )
        })
        .collect();
    print!("{}", report::scorecard(&results));
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let file = options
            .next()
            .ok_or_else(|| format!("{option} needs a file name"))?;
        let value = match *option {
            "--json" => report::to_json(&label, &results),
            "--gradescope" => report::to_gradescope(&results),
            other => return Err(format!("unknown option {other}")),
        };
        let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
        std::fs::write(file, text).map_err(|e| format!("writing {file}: {e}"))?;
    }
    Ok(true)
}

fn dev_check(root: &std::path::Path, exercises: Vec<Exercise>) -> bool {
    let overlay = Overlay::new(root);
    let mut problems = Vec::new();
    for ex in &exercises {
        println!(
            "{}: contract, untouched stub, {} known-wrong solution(s)",
            ex.name,
            ex.wrong_solutions().len()
        );
        problems.extend(devcheck::check_drift(ex));
        problems.extend(devcheck::check_stub(&overlay, ex));
        for wrong in ex.wrong_solutions() {
            problems.extend(devcheck::check_wrong(&overlay, ex, &wrong));
        }
    }
    for p in &problems {
        println!("✗ {p}");
    }
    if problems.is_empty() {
        println!("dev check: all good");
    } else {
        println!("dev check: {} problem(s)", problems.len());
    }
    problems.is_empty()
}
