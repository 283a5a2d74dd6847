//! `workbook`: the Week-10 workbook's command line (`cargo wb …` is an alias for
//! `cargo run -q -p workbook -- …`).

use clap::{Parser, Subcommand};

/// `println!` for what the CLI prints: when its reader has gone (`cargo wb check 06 | head -1`),
/// the program ends quietly, as `cat` does — not with a panic.
macro_rules! say {
    () => { say!("") };
    ($($arg:tt)*) => { say_to_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` likewise.
macro_rules! say_on {
    ($($arg:tt)*) => { say_to_stdout(format_args!($($arg)*)) };
}

fn say_to_stdout(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(2);
    }
}
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use workbook::exercises::{self, Exercise};
use workbook::grade::Overlay;
use workbook::grader::{self, ExerciseResult, Limits};
use workbook::manifest::Manifest;
use workbook::report::{self, Audience};
use workbook::sandbox::{self, Sandbox};
use workbook::{class_report, devcheck, learner};

#[derive(Parser)]
#[command(
    name = "workbook",
    bin_name = "cargo wb",
    about = "The Week-10 async Rust workbook",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the exercises with your progress, and the next one to do (the default)
    List {
        /// Print JSON instead
        #[arg(long)]
        json: bool,
    },
    /// Run one exercise's tests and print a scorecard (e.g. `check 06`)
    Check {
        /// Number, name or slug (06, ex06_timeouts, timeouts); by default the exercise of the
        /// folder you are in
        exercise: Option<String>,
        /// Print JSON instead
        #[arg(long)]
        json: bool,
        /// Show every failing test's whole message, not just the step you are on
        #[arg(long)]
        full: bool,
    },
    /// Show the next hint for an exercise (concept → approach → near code), for the step your
    /// last check failed on
    Hint {
        exercise: Option<String>,
        /// Show hint N (1 = concepts, 2 = approach, 3 = near code) again; a plain `hint` goes on
        /// after the furthest one you have seen
        #[arg(long)]
        level: Option<usize>,
        /// The whole hint, not only the part about the step your last check failed on
        #[arg(long)]
        all: bool,
    },
    /// Re-check an exercise every time you save one of its files; keys: h hint, n next exercise,
    /// r re-check, q quit
    Watch {
        exercise: Option<String>,
        /// Seconds one check may take
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Restore an exercise's original stub (your code is backed up first)
    Reset {
        exercise: Option<String>,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Show the reference solution, once the exercise passes
    Solution {
        exercise: Option<String>,
        /// Show it even though the exercise does not pass yet
        #[arg(long)]
        force: bool,
    },
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
    /// Maintainers: measure grading speed, feedback latency and class grading (see BENCHMARKS.md)
    Bench {
        /// Exercise whose feedback loop is timed
        #[arg(long, default_value = "06")]
        exercise: String,
        /// Rounds of the feedback-latency measurement (the median is reported)
        #[arg(long, default_value_t = 7)]
        rounds: usize,
        /// Also time the first feedback from an empty target directory
        #[arg(long)]
        first_time: bool,
        /// Submissions in the class-grading measurement (0 skips it)
        #[arg(long, default_value_t = 30)]
        class: usize,
        /// Of those, how many are also graded alone from an empty target directory (the first
        /// three are one of each kind: untouched stub, reference, compile error)
        #[arg(long, default_value_t = 3)]
        naive: usize,
        /// Exercises in the class submissions (name fragments; all when empty)
        #[arg(long, value_delimiter = ',')]
        class_exercises: Vec<String>,
        /// Suite run with real sleeps as the grading-speed baseline
        #[arg(long, default_value = "ex00")]
        real_baseline: String,
        /// Write the numbers as JSON here
        #[arg(long)]
        json: Option<PathBuf>,
        /// Only these parts: grading, loop (the feedback loop in detail), latency (save to
        /// feedback against the anchor crate, in the same run; a minute or two), class
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// With `latency`: a cargo `--config` for our side only (repeat it), to try a lever
        /// against the same anchor, e.g. `--our-config 'profile.dev.codegen-units=256'`
        #[arg(long)]
        our_config: Vec<String>,
    },
    /// Instructors: write the student edition (no solutions, no hidden tests) into a new directory
    ExportStudent { dest: PathBuf },
    /// Instructors: write a Gradescope autograder (the zip to upload to a programming assignment)
    Gradescope {
        /// Where the zip goes
        #[arg(long, default_value = "autograder.zip")]
        out: PathBuf,
        /// The Rust toolchain its setup.sh installs (default: the one running here)
        #[arg(long)]
        toolchain: Option<String>,
    },
    /// Instructors: one HTML page about a graded class (scores, hardest tests and why, slowest
    /// tests, similar submissions) from grade-class's output directories (several shards)
    ClassReport {
        /// grade-class's --out directories
        #[arg(required = true)]
        graded: Vec<PathBuf>,
        /// The submissions they graded (for the similarity of their code)
        #[arg(long)]
        submissions: PathBuf,
        #[arg(long, short, default_value = "class-report.html")]
        output: PathBuf,
    },
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
    /// Where learner code is compiled and run: auto (bubblewrap, else Landlock, else none — every
    /// report says which), bwrap, landlock, or off (trusted code only)
    #[arg(long, default_value = "auto")]
    sandbox: sandbox::Mode,
    /// Same as --sandbox off: no isolation, for trusted code on your own machine
    #[arg(long)]
    no_sandbox: bool,
    /// Wall-clock seconds the compile of one submission's crate may take
    #[arg(long, default_value_t = 120)]
    compile_timeout: u64,
}

impl GradeOptions {
    fn limits(&self) -> Result<Limits, String> {
        let mode = if self.no_sandbox {
            sandbox::Mode::Off
        } else {
            self.sandbox
        };
        let helper = std::env::current_exe()
            .map_err(|e| format!("cannot find this program's executable: {e}"))?;
        let sandbox = Sandbox::new(mode, &helper)?;
        let status = sandbox.status();
        if status.missing.is_empty() {
            eprintln!("{}", status.summary());
        } else {
            eprintln!("warning: {}", status.summary());
        }
        Ok(Limits {
            per_test: Duration::from_secs(self.test_timeout),
            compile: Duration::from_secs(self.compile_timeout),
            jobs: self.jobs,
            ..Limits::new(std::sync::Arc::new(sandbox))
        })
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
    // This program is also the grader's sandbox helper: it sets a sandboxed process up, then
    // becomes it.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = sandbox::helper_main(&args) {
        return code;
    }
    // … and the `rustc` cargo runs for a learner's crate while grading.
    if let Some(code) = workbook::rustc_jail::wrapper_main(&args) {
        return code;
    }
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
    let result = match cli.command.unwrap_or(Command::List { json: false }) {
        Command::List { json } => Ok(list(&root, json)),
        Command::Check {
            exercise,
            json,
            full,
        } => pick(&root, exercise, "check").and_then(|ex| check(&root, &ex, json, full)),
        Command::Hint {
            exercise,
            level,
            all,
        } => pick(&root, exercise, "hint").and_then(|ex| hint(&root, &ex, level, all)),
        Command::Watch { exercise, timeout } => pick(&root, exercise, "watch")
            .and_then(|ex| watch(&root, &ex, Duration::from_secs(timeout))),
        Command::Reset { exercise, yes } => {
            pick(&root, exercise, "reset").and_then(|ex| reset(&root, &ex, yes))
        }
        Command::Solution { exercise, force } => {
            pick(&root, exercise, "solution").and_then(|ex| solution(&root, &ex, force))
        }
        // The student edition has no references and no known-wrong solutions to check.
        Command::DevCheck { .. } if !root.join("solutions").is_dir() => Err(
            "dev-check checks the instructor's repository (references, known-wrong solutions); \
             in this edition, `cargo wb check NN` checks an exercise"
                .into(),
        ),
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
        } => grade_one(&root, &submission, &options).and_then(|(sandbox, label, results)| {
            let audience = options.audience();
            say_on!("{}", report::scorecard(&results, audience, &sandbox));
            let pretty =
                |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
            let outputs = [
                (
                    json,
                    pretty(report::to_json(&label, &results, audience, &sandbox)),
                ),
                (
                    gradescope,
                    pretty(report::to_gradescope(&results, &sandbox)),
                ),
                (exercism, pretty(report::to_exercism(&results))),
                (
                    junit,
                    report::to_junit(&label, &results, audience, &sandbox),
                ),
                (
                    markdown,
                    report::to_markdown(&label, &results, audience, &sandbox),
                ),
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
        Command::ClassReport {
            graded,
            submissions,
            output,
        } => class_report_of(&root, &graded, &submissions, &output),
        Command::Bench {
            exercise,
            rounds,
            first_time,
            class,
            naive,
            class_exercises,
            real_baseline,
            json,
            only,
            our_config,
        } => (|| -> Result<bool, String> {
            let ex = exercises::find(&root, &exercise)?;
            let parts = ["grading", "loop", "latency", "class"];
            if let Some(bad) = only.iter().find(|p| !parts.contains(&p.as_str())) {
                return Err(format!("--only {bad}: the parts are {}", parts.join(", ")));
            }
            let part = |name: &str| only.is_empty() || only.iter().any(|p| p == name);
            let null = serde_json::Value::Null;
            let speed = if part("grading") {
                workbook::bench::grading_speed(&root, &real_baseline)?
            } else {
                null.clone()
            };
            let latency = if part("loop") {
                workbook::bench::feedback_latency(&root, &ex, rounds, first_time)?
            } else {
                null.clone()
            };
            let anchor = if part("latency") {
                workbook::bench::latency_vs_anchor(&root, &ex, rounds, &our_config)?
            } else {
                null.clone()
            };
            let class = if class > 0 && part("class") {
                workbook::bench::class_grading(&root, class, naive, &class_exercises)?
            } else {
                serde_json::Value::Null
            };
            if let Some(path) = json {
                let all = serde_json::json!({"grading_speed": speed, "feedback_latency": latency, "latency_vs_anchor": anchor, "class_grading": class});
                write(
                    &path,
                    &serde_json::to_string_pretty(&all).unwrap_or_default(),
                )?;
            }
            Ok(true)
        })(),
        Command::Gradescope { out, toolchain } => toolchain
            .map(Ok)
            .unwrap_or_else(rustc_version)
            .and_then(|toolchain| {
                let files = workbook::gradescope::write_autograder(&root, &out, &toolchain)?;
                say!(
                    "{}: a Gradescope autograder ({files} files, Rust {toolchain}): upload it to a \
                     programming assignment; students submit their exercises/ folder",
                    out.display()
                );
                Ok(true)
            }),
        Command::ExportStudent { dest } => Manifest::load(&root)
            .and_then(|m| workbook::export::export_student(&root, &dest, &m))
            .map(|notes| {
                for note in notes {
                    say!("{note}");
                }
                say!("student edition written to {}", dest.display());
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

/// `1.95.0` from `rustc --version`.
fn rustc_version() -> Result<String, String> {
    let out = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .map_err(|e| format!("rustc: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .map(str::to_owned)
        .ok_or_else(|| "cannot read rustc's version: pass --toolchain".to_owned())
}

/// The exercise a learner named, or the one whose folder they are in.
fn pick(root: &Path, query: Option<String>, command: &str) -> Result<Exercise, String> {
    match query {
        Some(query) => exercises::find(root, &query),
        None => std::env::current_dir()
            .ok()
            .and_then(|dir| exercises::containing(root, &dir))
            .ok_or_else(|| {
                format!(
                    "which exercise? Name it (`cargo wb {command} 06`, or its name or slug), or \
                     run this inside its folder"
                )
            }),
    }
}

/// Colour only on a terminal, and not when `NO_COLOR` is set to anything but the empty string
/// (no-color.org).
fn colour() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The progress file, with a word to the learner when it is damaged (every command that reads it
/// says so: a warning shown by `list` alone is easily missed).
fn load_progress(root: &Path) -> learner::Progress {
    let progress = learner::Progress::load(root);
    if let Some(warning) = progress.warning() {
        eprintln!("warning: {warning}");
    }
    progress
}

fn save_progress(progress: &mut learner::Progress) {
    match progress.save() {
        Ok(Some(note)) => eprintln!("note: {note}"),
        Ok(None) => {}
        Err(e) => eprintln!("warning: could not save progress: {e}"),
    }
}

/// The terminal's width, or a generous one when the output is not a terminal.
fn width() -> usize {
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        termimad::crossterm::terminal::size().map_or(80, |(w, _)| usize::from(w))
    } else {
        100
    }
}

fn list(root: &Path, json: bool) -> bool {
    let progress = load_progress(root);
    let all = exercises::all(root);
    let next = all
        .iter()
        .find(|ex| learner::state(&progress.get(&ex.name)) != "done");
    if json {
        let items: Vec<_> = all
            .iter()
            .map(|ex| {
                let r = progress.get(&ex.name);
                serde_json::json!({ "exercise": ex.name, "state": learner::state(&r), "passed": r.passed, "total": r.total, "compiles": !r.does_not_compile })
            })
            .collect();
        let value = serde_json::json!({ "exercises": items, "next": next.map(|e| &e.name) });
        say!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return true;
    }
    say!("Week 10 — async Rust. Read the chapter, fill in the todo!()s, then check.\n");
    let done = all
        .iter()
        .filter(|ex| learner::state(&progress.get(&ex.name)) == "done")
        .count();
    for ex in &all {
        let r = progress.get(&ex.name);
        let marker = if next.is_some_and(|n| n.name == ex.name) {
            "→"
        } else {
            " "
        };
        let chapter = learner::chapter_path(root, ex);
        say!(
            "{marker} {:<28} {:<28} {}",
            ex.name,
            learner::state(&r),
            chapter.strip_prefix(root).unwrap_or(&chapter).display()
        );
    }
    say!(
        "\n{} {done}/{} exercises done",
        learner::progress_bar(done, all.len(), 30),
        all.len()
    );
    match next {
        Some(ex) => say!(
            "next: `cargo wb check {}` (or `cargo wb watch {}` while you work; `cargo wb hint {}` if stuck)",
            short(ex),
            short(ex),
            short(ex)
        ),
        None => say!("all done — well done!"),
    }
    true
}

/// `ex06_timeouts` → `06`.
fn short(ex: &Exercise) -> &str {
    ex.name.get(2..4).unwrap_or(&ex.name)
}

/// The chapter's steps (none when the chapter or its steps comment is missing: the scorecard then
/// has one group).
fn steps_of(root: &Path, exercise: &Exercise) -> (String, Vec<workbook::scorecard::Step>) {
    let chapter =
        std::fs::read_to_string(learner::chapter_path(root, exercise)).unwrap_or_default();
    let steps = workbook::scorecard::steps(&chapter);
    (chapter, steps)
}

/// What `check` and `watch` print for one check.
fn scorecard_text(
    root: &Path,
    exercise: &Exercise,
    result: &learner::Check,
    record: &learner::Record,
    full: bool,
) -> String {
    let paint = |code: &str, text: &str| {
        if colour() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    if let Some(errors) = &result.compile_errors {
        let mut out = format!(
            "{errors}\n{} {} does not compile: fix the errors above.\n",
            paint("31", "✗"),
            exercise.name
        );
        if record.total > 0 {
            out.push_str(&format!(
                "  (your last check that compiled: {}/{} tests pass — nothing is lost)\n",
                record.passed, record.total
            ));
        }
        return out;
    }
    let (_, steps) = steps_of(root, exercise);
    let mut out = String::new();
    if full {
        out.push_str(&workbook::scorecard::render_full(result, colour()));
        out.push('\n');
    }
    out.push_str(&workbook::scorecard::render(
        result,
        &steps,
        short(exercise),
        colour(),
        width(),
    ));
    out
}

fn check(root: &Path, exercise: &Exercise, json: bool, full: bool) -> Result<bool, String> {
    let mut progress = load_progress(root);
    if !json {
        say!("checking {} …", exercise.name);
    }
    let result = learner::check(root, exercise, Duration::from_secs(600))?;
    progress.record_check(&result);
    save_progress(&mut progress);
    if json {
        let mut value = result.to_json();
        let (_, steps) = steps_of(root, exercise);
        value["next"] = workbook::scorecard::next(&result, &steps).map_or(
            serde_json::Value::Null,
            |n| serde_json::json!({ "step": n.step, "test": n.test, "reason": n.reason }),
        );
        say!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        say_on!(
            "{}",
            scorecard_text(root, exercise, &result, &progress.get(&exercise.name), full)
        );
        if result.compile_errors.is_some() {
            say!("stuck? `cargo wb hint {}`", short(exercise));
        }
    }
    Ok(result.done())
}

fn hint(root: &Path, exercise: &Exercise, level: Option<usize>, all: bool) -> Result<bool, String> {
    let path = learner::chapter_path(root, exercise);
    let chapter = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let hints = learner::hints(&chapter);
    if hints.is_empty() {
        return Err(format!("{} has no hints", path.display()));
    }
    let count = hints.len();
    let mut progress = load_progress(root);
    let mut record = progress.get(&exercise.name);
    let furthest = record.hints_shown.min(count);
    let (n, again) = match level {
        Some(n) if n == 0 || n > count => {
            return Err(format!(
                "{} has {count} hints: --level 1 to {count}",
                exercise.name
            ));
        }
        Some(n) => (n, false),
        None if furthest == count => (count, true),
        None => (furthest + 1, false),
    };
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_path_buf();
    let chapter_dir = rel(path.parent().unwrap_or(root));
    let render = |md: &str| workbook::hints::render(md, &chapter_dir, colour(), width());
    let (title, body) = &hints[n - 1];
    say!("{title}  (hint {n} of {count})\n");
    if again {
        say!("(you have seen all {count} hints: this is the last one again)\n");
    }
    let (_, steps) = steps_of(root, exercise);
    let failing = record
        .first_failure
        .as_deref()
        .map(|f| f.split(" — ").next().unwrap_or(f).to_owned());
    let step = failing
        .as_deref()
        .and_then(|test| workbook::scorecard::step_of(&steps, test))
        .map(|i| &steps[i]);
    match step.filter(|_| !all) {
        Some(step) => {
            let (narrowed, specific, others) = workbook::hints::for_step(body, step, &steps);
            let also = if others.is_empty() {
                String::new()
            } else {
                format!(" (it is about {})", others.join(", "))
            };
            if specific {
                say!(
                    "For `{}` — `{}`, where your last check first failed:\n",
                    step.file,
                    step.item
                );
                say!("{}\n", render(&narrowed));
                if !others.is_empty() {
                    say!(
                        "This hint also covers {}: `cargo wb hint {} --level {n} --all`",
                        others.join(", "),
                        short(exercise)
                    );
                }
            } else {
                say!(
                    "Hint {n} has nothing specific to `{}` — `{}`{also}; here it is whole:\n",
                    step.file,
                    step.item
                );
                say!("{}\n", render(body));
            }
        }
        None => say!("{}\n", render(body)),
    }
    if let Some(failure) = &record.first_failure {
        say!("your last check's first failing test: {failure}");
    }
    if let Some(concepts) = learner::concepts_line(&chapter) {
        say!(
            "{}",
            workbook::hints::readable_links(&concepts, &chapter_dir)
        );
    }
    say!("read: {}", rel(&path).display());
    record.hints_shown = furthest.max(n);
    if record.hints_shown < count {
        say!(
            "more: `cargo wb hint {}` shows hint {} of {count}",
            short(exercise),
            record.hints_shown + 1
        );
    } else {
        say!(
            "that was the last hint ({count} of {count}); `cargo wb hint {} --level N` shows one again",
            short(exercise)
        );
    }
    progress.records.insert(exercise.name.clone(), record);
    save_progress(&mut progress);
    Ok(true)
}

/// The exercise to offer once `current` passes: the next one not done yet, after it in the list
/// (then from the start).
fn next_exercise(
    root: &Path,
    current: &Exercise,
    progress: &learner::Progress,
) -> Option<Exercise> {
    let all = exercises::all(root);
    let at = all.iter().position(|e| e.name == current.name).unwrap_or(0);
    all.iter()
        .cycle()
        .skip(at + 1)
        .take(all.len().saturating_sub(1))
        .find(|e| learner::state(&progress.get(&e.name)) != "done")
        .cloned()
}

fn watch(root: &Path, exercise: &Exercise, limit: Duration) -> Result<bool, String> {
    let keys = learner::keys();
    let mut exercise = exercise.clone();
    loop {
        let src = exercise.stub_dir().join("src");
        if colour() {
            say_on!("\x1b[2J\x1b[H");
        }
        say!(
            "checking {} … (watching {})",
            exercise.name,
            src.strip_prefix(root).unwrap_or(&src).display()
        );
        let mut next = None;
        match learner::check(root, &exercise, limit) {
            Ok(result) => {
                let mut progress = load_progress(root);
                progress.record_check(&result);
                save_progress(&mut progress);
                say_on!(
                    "{}",
                    scorecard_text(
                        root,
                        &exercise,
                        &result,
                        &progress.get(&exercise.name),
                        false
                    )
                );
                if result.done() {
                    next = next_exercise(root, &exercise, &progress);
                    match (&next, keys.is_some()) {
                        (Some(n), true) => say!(
                            "🎉 {} is done. Press n to go on to {}.",
                            exercise.name,
                            n.name
                        ),
                        (Some(n), false) => say!(
                            "🎉 {} is done. Next: `cargo wb watch {}`",
                            exercise.name,
                            short(n)
                        ),
                        (None, _) => {
                            say!("🎉 {} is done, and so is every exercise.", exercise.name)
                        }
                    }
                }
            }
            Err(e) => say!("check failed: {e}"),
        }
        if keys.is_some() {
            say!("waiting for a change … keys: h hint · n next exercise · r re-check · q quit");
        } else {
            say!("waiting for a change … (Ctrl-C to stop)");
        }
        loop {
            let input = {
                let _raw = learner::RawMode::on(keys.is_some());
                learner::wait_for_input(&src, Duration::from_millis(200), keys.as_ref())
            };
            match input {
                learner::Input::Changed | learner::Input::Key('r') => break,
                learner::Input::Key('q') => return Ok(true),
                learner::Input::Key('h') => {
                    hint(root, &exercise, None, false)?;
                    say!(
                        "waiting for a change … keys: h hint · n next exercise · r re-check · q quit"
                    );
                }
                learner::Input::Key('n') => match next.take() {
                    Some(n) => {
                        exercise = n;
                        break;
                    }
                    None => say!(
                        "n goes on to the next exercise once {} passes",
                        exercise.name
                    ),
                },
                learner::Input::Key(_) => {}
            }
        }
    }
}

fn reset(root: &Path, exercise: &Exercise, yes: bool) -> Result<bool, String> {
    let (source, original) = workbook::pristine::stub_files(root, exercise)?;
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err("reset discards your work on the exercise: pass --yes to confirm (a backup is kept)".into());
        }
        say_on!(
            "Replace your {} with the original stub? Your code is backed up first. [y/N] ",
            exercise.name
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| e.to_string())?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            say!("nothing changed");
            return Ok(false);
        }
    }
    let backup = workbook::pristine::backup(&learner::state_dir(root), exercise)?;
    workbook::pristine::restore(exercise, &original)?;
    say!(
        "{} is back to {source}; your code is in {}",
        exercise.name,
        backup.display()
    );
    Ok(true)
}
fn solution(root: &Path, exercise: &Exercise, force: bool) -> Result<bool, String> {
    let dir = exercise.solution_dir();
    if !dir.is_dir() {
        return Err("the reference solutions are not part of this edition of the workbook".into());
    }
    if !force {
        let result = learner::check(root, exercise, Duration::from_secs(600))?;
        if !result.done() {
            return Err(format!(
                "{} does not pass yet ({}/{} tests): the reference is shown once it does (or with --force)",
                exercise.name,
                result.passed.len(),
                result.total()
            ));
        }
    }
    let mut files = Vec::new();
    let mut stack = vec![dir.join("src")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path())
            } else {
                files.push(entry.path())
            }
        }
    }
    files.sort();
    for file in files {
        say!(
            "──── {} ────",
            file.strip_prefix(root).unwrap_or(&file).display()
        );
        say!("{}", std::fs::read_to_string(&file).unwrap_or_default());
    }
    Ok(true)
}

/// A submission's label (its directory's name) and the directory holding its exercises (the
/// submission itself, or its `exercises/`).
/// A submission's label and its `exercises/` directory (a copy of the workbook, or of that
/// directory itself). The directory is untrusted: a symbolic link is not followed.
fn submission_layout(submission: &Path) -> (String, Result<PathBuf, String>) {
    let label = submission
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| {
            submission
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "submission".to_owned());
    let real_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let nested = submission.join("exercises");
    let dir = if std::fs::symlink_metadata(&nested).is_ok_and(|m| m.file_type().is_symlink()) {
        Err("exercises/ is a symbolic link: only regular files and directories are graded".into())
    } else if real_dir(&nested) {
        Ok(nested)
    } else if submission.is_dir() {
        Ok(submission.to_path_buf())
    } else {
        Err(format!("{} is not a directory", submission.display()))
    };
    (label, dir)
}

/// Grades one submission; returns its label and the results of every exercise.
fn grade_one(
    root: &Path,
    submission: &Path,
    options: &GradeOptions,
) -> Result<(sandbox::Status, String, Vec<ExerciseResult>), String> {
    let (sandbox, mut graded) = grade_many(root, &[submission.to_path_buf()], options)?;
    let (label, results) = graded.pop().expect("one submission");
    Ok((sandbox, label, results))
}

/// A submission's label and its results, exercise by exercise.
type Graded = (String, Vec<ExerciseResult>);

/// Grades many submissions exercise by exercise: each exercise of every submission is built in
/// one cargo invocation, so the class shares one dependency build and both cores compile.
fn grade_many(
    root: &Path,
    submissions: &[PathBuf],
    options: &GradeOptions,
) -> Result<(sandbox::Status, Vec<Graded>), String> {
    let mut layouts = Vec::new();
    for submission in submissions {
        match submission_layout(submission) {
            (_, Err(e)) if submissions.len() == 1 => return Err(e),
            (label, Err(e)) => {
                // One broken submission costs that submission only.
                eprintln!("warning: {label}: {e}; graded as if nothing was submitted");
                layouts.push((label, submission.join("(nothing)")));
            }
            (label, Ok(dir)) => layouts.push((label, dir)),
        }
    }
    let manifest = Manifest::load(root)?;
    let overlay = Overlay::new(root);
    let limits = options.limits()?;
    let mut graded: Vec<(String, Vec<ExerciseResult>)> = layouts
        .iter()
        .map(|(label, _)| (label.clone(), Vec::new()))
        .collect();
    for ex in exercises::all(root) {
        let dirs: Vec<PathBuf> = layouts.iter().map(|(_, d)| d.join(&ex.name)).collect();
        let subs: Vec<(&str, Option<&Path>)> = layouts
            .iter()
            .zip(&dirs)
            .map(|((label, _), dir)| {
                // Not followed if it is a symbolic link (the grader reports it as left out).
                let present = std::fs::symlink_metadata(dir).is_ok();
                (label.as_str(), present.then_some(dir.as_path()))
            })
            .collect();
        let results = grader::grade_exercise_many(&overlay, &ex, &subs, &limits, &manifest);
        if submissions.len() > 1 {
            eprintln!("{}: {} submissions graded", ex.name, submissions.len());
        }
        for (slot, result) in graded.iter_mut().zip(results) {
            slot.1.push(result);
        }
    }
    Ok((limits.sandbox.status(), graded))
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
    let mine: Vec<PathBuf> = dirs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % count == index - 1)
        .map(|(_, d)| d.clone())
        .collect();
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let names: Vec<String> = exercises::all(root).into_iter().map(|e| e.name).collect();
    let mut gradebook = vec![report::csv_header(&names)];
    let audience = options.audience();
    let (sandbox, graded) = grade_many(root, &mine, options)?;
    for (label, results) in &graded {
        let (label, results) = (label.as_str(), results.as_slice());
        let (points, max): (f64, f64) = (
            results.iter().map(ExerciseResult::points).sum(),
            results.iter().map(ExerciseResult::max_points).sum(),
        );
        say!("{label}: {points}/{max}");
        let here = out.join(label);
        std::fs::create_dir_all(&here).map_err(|e| e.to_string())?;
        let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
        write(
            &here.join("result.json"),
            &pretty(report::to_json(label, results, audience, &sandbox)),
        )?;
        write(
            &here.join("results.json"),
            &pretty(report::to_gradescope(results, &sandbox)),
        )?;
        write(
            &here.join("junit.xml"),
            &report::to_junit(label, results, audience, &sandbox),
        )?;
        write(
            &here.join("summary.md"),
            &report::to_markdown(label, results, audience, &sandbox),
        )?;
        write(
            &here.join("scorecard.txt"),
            &report::scorecard(results, audience, &sandbox),
        )?;
        gradebook.push(report::csv_row(label, results));
    }
    write(&out.join("gradebook.csv"), &(gradebook.join("\n") + "\n"))?;
    say!("gradebook: {}", out.join("gradebook.csv").display());
    let class: Vec<class_report::Graded> = graded
        .into_iter()
        .map(|(label, results)| class_report::Graded { label, results })
        .collect();
    let sources = class_sources(root, &mine);
    let report = out.join("class-report.html");
    write(&report, &class_report::html(&class, &sources, &[sandbox]))?;
    say!("class report: {}", report.display());
    Ok(true)
}

/// The sources of every exercise of `submissions`, and of its stub, for the class report.
fn class_sources(root: &Path, submissions: &[PathBuf]) -> class_report::ClassSources {
    let mut sources = class_report::ClassSources::new();
    for ex in exercises::all(root) {
        let Ok((stub, _)) = workbook::grade::read_sources(&ex.stub_dir().join("src")) else {
            continue;
        };
        let mut theirs = Vec::new();
        for submission in submissions {
            let (label, dir) = submission_layout(submission);
            if let Ok(dir) = dir
                && std::fs::symlink_metadata(dir.join(&ex.name)).is_ok_and(|m| m.is_dir())
                && let Ok((files, _)) =
                    workbook::grade::read_sources(&dir.join(&ex.name).join("src"))
            {
                theirs.push((label, files));
            }
        }
        sources.insert(ex.name.clone(), (stub, theirs));
    }
    sources
}

/// `class-report`: the report of one or more `grade-class` output directories.
fn class_report_of(
    root: &Path,
    graded: &[PathBuf],
    submissions: &Path,
    output: &Path,
) -> Result<bool, String> {
    let mut class = Vec::new();
    let mut sandboxes: Vec<sandbox::Status> = Vec::new();
    let mut labels = std::collections::HashSet::new();
    for dir in graded {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path().join("result.json"))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        for path in entries {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let (graded, status) =
                class_report::from_json(&value).map_err(|e| format!("{}: {e}", path.display()))?;
            if !labels.insert(graded.label.clone()) {
                return Err(format!(
                    "{} is graded twice (the shards overlap)",
                    graded.label
                ));
            }
            if !sandboxes.contains(&status) {
                sandboxes.push(status);
            }
            class.push(graded);
        }
    }
    if class.is_empty() {
        return Err("no result.json under the graded directories".into());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(submissions)
        .map_err(|e| format!("{}: {e}", submissions.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            labels.contains(
                &p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .collect();
    dirs.sort();
    let sources = class_sources(root, &dirs);
    write(output, &class_report::html(&class, &sources, &sandboxes))?;
    say!(
        "class report of {} submissions: {}",
        class.len(),
        output.display()
    );
    Ok(true)
}

fn merge_gradebooks(shards: &[PathBuf], output: &Path) -> Result<bool, String> {
    let mut header = None;
    let mut rows = Vec::new();
    let mut seen: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
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
        for row in lines.filter(|l| !l.is_empty()) {
            // A submission graded in two shards (overlapping `--shard` runs, a shard merged
            // twice) would have two rows: which grade counts is not for the merge to guess.
            let label = report::csv_first_field(row);
            if let Some(other) = seen.insert(label.clone(), shard.clone()) {
                return Err(format!(
                    "the shards overlap: {label} is in {} and in {} (grade each submission in \
                     one shard only: the same N in every --shard I/N)",
                    other.display(),
                    shard.display()
                ));
            }
            rows.push(row.to_owned());
        }
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
        say!(
            "{}: contract, untouched stub, {} known-wrong solution(s)",
            ex.name,
            ex.wrong_solutions().len()
        );
        problems.extend(devcheck::check_drift(ex));
        problems.extend(devcheck::check_messages(ex));
        problems.extend(devcheck::check_exercise(&overlay, ex));
    }
    for p in &problems {
        say!("✗ {p}");
    }
    if problems.is_empty() {
        say!("dev check: all good");
    } else {
        say!("dev check: {} problem(s)", problems.len());
    }
    problems.is_empty()
}
