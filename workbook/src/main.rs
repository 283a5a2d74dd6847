//! `workbook`: the Week-10 workbook's command line (`cargo wb …` is an alias for
//! `cargo run -q -p workbook -- …`).

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use workbook::devcheck;
use workbook::exercises::{self, Exercise};
use workbook::grade::{self, Graded, Outcome, Overlay};
use workbook::grader::{self, ExerciseResult, Limits};
use workbook::manifest::Manifest;
use workbook::report::{self, Audience};

#[derive(Parser)]
#[command(name = "workbook", about = "The Week-10 async Rust workbook", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the exercises, in order (the default)
    List,
    /// Run one exercise's tests and print a scorecard (e.g. `check 06`)
    Check { exercise: String },
    /// Maintainers: every stub fails, every known-wrong solution is rejected, stub and reference
    /// publish the same API
    DevCheck { exercise: Option<String> },
    /// Instructors: grade one submission (a copy of the workbook or of its exercises/ directory)
    Grade {
        submission: PathBuf,
        #[command(flatten)]
        options: GradeOptions,
        /// Write the workbook's own JSON report here
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write Gradescope's results.json here
        #[arg(long)]
        gradescope: Option<PathBuf>,
        /// Write Exercism's results.json (version 3) here
        #[arg(long)]
        exercism: Option<PathBuf>,
        /// Write JUnit XML here
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Write a Markdown summary here (e.g. "$GITHUB_STEP_SUMMARY")
        #[arg(long)]
        markdown: Option<PathBuf>,
    },
    /// Instructors: grade every submission in a directory (one sub-directory each) into --out,
    /// with a CSV gradebook
    GradeClass {
        submissions: PathBuf,
        /// Where the per-submission reports and gradebook.csv go
        #[arg(long)]
        out: PathBuf,
        /// Grade only shard I of N (1-based), e.g. `--shard 2/4` in a CI matrix
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(usize, usize)>,
        #[command(flatten)]
        options: GradeOptions,
    },
    /// Instructors: write the student edition (no solutions, no hidden tests) into a new directory
    ExportStudent { dest: PathBuf },
    /// Instructors: merge the gradebooks of several shards into one CSV
    Gradebook {
        /// The shards' gradebook.csv files
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        #[arg(long, short)]
        output: PathBuf,
    },
}

#[derive(clap::Args, Clone)]
struct GradeOptions {
    /// Reports for the learner: hidden tests' names and messages are withheld
    #[arg(long)]
    learner: bool,
    /// Wall-clock seconds one test may run before its process group is killed
    #[arg(long, default_value_t = 30)]
    test_timeout: u64,
    /// Test processes to run at once
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

impl GradeOptions {
    fn limits(&self) -> Limits {
        Limits {
            per_test: Duration::from_secs(self.test_timeout),
            jobs: self.jobs,
            ..Limits::default()
        }
    }
    fn audience(&self) -> Audience {
        if self.learner {
            Audience::Learner
        } else {
            Audience::Instructor
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(root) = std::env::current_dir()
        .ok()
        .and_then(|d| exercises::find_root(&d))
    else {
        eprintln!(
            "error: run this inside the workbook (no `exercises/` directory found above here)"
        );
        return ExitCode::from(2);
    };
    let result = match cli.command.unwrap_or(Command::List) {
        Command::List => Ok(list(&root)),
        Command::Check { exercise } => {
            exercises::find(&root, &exercise).and_then(|ex| check(&root, &ex))
        }
        Command::DevCheck { exercise: None } => Ok(dev_check(&root, exercises::all(&root))),
        Command::DevCheck { exercise: Some(q) } => {
            exercises::find(&root, &q).map(|ex| dev_check(&root, vec![ex]))
        }
        Command::Grade {
            submission,
            options,
            json,
            gradescope,
            exercism,
            junit,
            markdown,
        } => grade_one(&root, &submission, &options).and_then(|(label, results)| {
            print!("{}", report::scorecard(&results, options.audience()));
            let audience = options.audience();
            let pretty =
                |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
            let outputs = [
                (json, pretty(report::to_json(&label, &results, audience))),
                (gradescope, pretty(report::to_gradescope(&results))),
                (exercism, pretty(report::to_exercism(&results))),
                (junit, report::to_junit(&label, &results, audience)),
                (markdown, report::to_markdown(&label, &results, audience)),
            ];
            for (path, text) in outputs {
                if let Some(path) = path {
                    write(&path, &text)?;
                }
            }
            Ok(true)
        }),
        Command::GradeClass {
            submissions,
            out,
            shard,
            options,
        } => grade_class(&root, &submissions, &out, shard, &options),
        Command::Gradebook { shards, output } => merge_gradebooks(&shards, &output),
        Command::ExportStudent { dest } => Manifest::load(&root)
            .and_then(|m| workbook::export::export_student(&root, &dest, &m))
            .map(|notes| {
                for note in notes {
                    println!("{note}");
                }
                println!("student edition written to {}", dest.display());
                true
            }),
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

fn list(root: &Path) -> bool {
    println!(
        "Week 10 — async Rust. Read the chapter in curriculum/src, fill in the todo!()s, then check:\n"
    );
    for ex in exercises::all(root) {
        println!("  {:<28} cargo test -p {}", ex.name, ex.name);
    }
    println!("\n`cargo wb check <n>` prints a scorecard for exercise n.");
    true
}

fn check(root: &Path, exercise: &Exercise) -> Result<bool, String> {
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

/// Grades one submission; returns its label and the results of every exercise.
fn grade_one(
    root: &Path,
    submission: &Path,
    options: &GradeOptions,
) -> Result<(String, Vec<ExerciseResult>), String> {
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
    let manifest = Manifest::load(root)?;
    let overlay = Overlay::new(root);
    let limits = options.limits();
    let results = exercises::all(root)
        .iter()
        .map(|ex| {
            let dir = exercises_dir.join(&ex.name);
            grader::grade_exercise(
                &overlay,
                ex,
                &label,
                dir.is_dir().then_some(dir.as_path()),
                &limits,
                &manifest,
            )
        })
        .collect();
    Ok((label, results))
}

fn grade_class(
    root: &Path,
    submissions: &Path,
    out: &Path,
    shard: Option<(usize, usize)>,
    options: &GradeOptions,
) -> Result<bool, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(submissions)
        .map_err(|e| format!("{}: {e}", submissions.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let (index, count) = shard.unwrap_or((1, 1));
    let mine: Vec<&PathBuf> = dirs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % count == index - 1)
        .map(|(_, d)| d)
        .collect();
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let names: Vec<String> = exercises::all(root).into_iter().map(|e| e.name).collect();
    let mut gradebook = vec![report::csv_header(&names)];
    let audience = options.audience();
    for (n, dir) in mine.iter().enumerate() {
        let (label, results) = grade_one(root, dir, options)?;
        let (points, max): (f64, f64) = (
            results.iter().map(ExerciseResult::points).sum(),
            results.iter().map(ExerciseResult::max_points).sum(),
        );
        println!("[{}/{}] {label}: {points}/{max}", n + 1, mine.len());
        let here = out.join(&label);
        std::fs::create_dir_all(&here).map_err(|e| e.to_string())?;
        let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
        write(
            &here.join("result.json"),
            &pretty(report::to_json(&label, &results, audience)),
        )?;
        write(
            &here.join("results.json"),
            &pretty(report::to_gradescope(&results)),
        )?;
        write(
            &here.join("junit.xml"),
            &report::to_junit(&label, &results, audience),
        )?;
        write(
            &here.join("summary.md"),
            &report::to_markdown(&label, &results, audience),
        )?;
        write(
            &here.join("scorecard.txt"),
            &report::scorecard(&results, audience),
        )?;
        gradebook.push(report::csv_row(&label, &results));
    }
    write(&out.join("gradebook.csv"), &(gradebook.join("\n") + "\n"))?;
    println!("gradebook: {}", out.join("gradebook.csv").display());
    Ok(true)
}

fn merge_gradebooks(shards: &[PathBuf], output: &Path) -> Result<bool, String> {
    let mut header = None;
    let mut rows = Vec::new();
    for shard in shards {
        let text =
            std::fs::read_to_string(shard).map_err(|e| format!("{}: {e}", shard.display()))?;
        let mut lines = text.lines();
        let this_header = lines.next().unwrap_or_default().to_owned();
        match &header {
            None => header = Some(this_header),
            Some(h) if *h != this_header => {
                return Err(format!("{}: a different header", shard.display()));
            }
            Some(_) => {}
        }
        rows.extend(lines.filter(|l| !l.is_empty()).map(str::to_owned));
    }
    rows.sort();
    let mut text = header.unwrap_or_default();
    for row in rows {
        text.push('\n');
        text.push_str(&row);
    }
    write(output, &(text + "\n"))?;
    Ok(true)
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (i, n) = text.split_once('/').ok_or("expected I/N, e.g. 2/4")?;
    let (i, n): (usize, usize) = (
        i.parse().map_err(|_| "I is not a number")?,
        n.parse().map_err(|_| "N is not a number")?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(format!("shard {i}/{n}: need 1 ≤ I ≤ N"));
    }
    Ok((i, n))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn dev_check(root: &Path, exercises: Vec<Exercise>) -> bool {
    let overlay = Overlay::new(root);
    let mut problems = devcheck::check_manifest(root);
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
