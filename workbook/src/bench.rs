//! `workbook bench`: what the paused clock buys (grading speed), how fast a learner hears back
//! (feedback latency), and what sharing one dependency build buys a class (class grading).
//! It measures; it asserts nothing. BENCHMARKS.md records a run and how to reproduce it.

use crate::exercises::{self, Exercise};
use crate::grade::{Overlay, Variant, run_with_limit};
use crate::grader::{self, Limits};
use crate::manifest::Manifest;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(3600);

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// The hidden-suite executables of the reference solutions, built in one cargo invocation.
fn reference_suites(root: &Path) -> Result<Vec<(Exercise, PathBuf)>, String> {
    let all = exercises::all(root);
    let mut command = cargo();
    command
        .current_dir(root)
        .args(["test", "--no-run", "--message-format", "json", "-q"]);
    for ex in &all {
        command.args(["-p", &ex.solution_package()]);
    }
    let (status, stdout, stderr) = run_with_limit(command, LONG)?;
    if !status.success() {
        return Err(format!("building the references failed:\n{stderr}"));
    }
    let mut suites = Vec::new();
    for ex in all {
        let exe = suite_executable(&stdout, &ex.name, "/solutions/");
        suites.push((ex, exe.ok_or("a reference suite was not built")?));
    }
    Ok(suites)
}

/// In cargo's JSON messages, the executable of the test target `suite` built from a manifest
/// whose path contains `under`.
fn suite_executable(messages: &str, suite: &str, under: &str) -> Option<PathBuf> {
    messages.lines().find_map(|line| {
        let msg: serde_json::Value = serde_json::from_str(line).ok()?;
        let hit = msg["target"]["name"] == suite
            && msg["target"]["kind"][0] == "test"
            && msg["manifest_path"].as_str()?.contains(under);
        hit.then(|| msg["executable"].as_str().map(PathBuf::from))
            .flatten()
    })
}

/// A save: the file's bytes written again, so its mtime moves and nothing else changes.
fn save(file: &Path) -> Result<(), String> {
    let text = std::fs::read(file).map_err(|e| e.to_string())?;
    std::fs::write(file, text).map_err(|e| e.to_string())
}

/// Runs one suite executable; returns (wall time, tests run, virtual time covered).
fn run_suite(exe: &Path, real_clock: bool) -> Result<(Duration, usize, Duration), String> {
    let timings = std::env::temp_dir().join(format!(
        "wb-bench-{}-{}.tsv",
        std::process::id(),
        exe.display().to_string().len()
    ));
    let _ = std::fs::remove_file(&timings);
    let mut command = Command::new(exe);
    command.arg("-q").env("TESTKIT_TIMINGS", &timings);
    if real_clock {
        command.env("TESTKIT_REAL_CLOCK", "1");
    }
    let started = Instant::now();
    let (_status, stdout, _) = run_with_limit(command, LONG)?;
    let wall = started.elapsed();
    let tests = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("test result: ")
                .and_then(|r| r.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let virt = std::fs::read_to_string(&timings)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .sum();
    let _ = std::fs::remove_file(&timings);
    Ok((wall, tests, virt))
}

/// Grading speed: every reference suite on the paused clock, and one suite on a real clock.
pub fn grading_speed(root: &Path, real_baseline: &str) -> Result<serde_json::Value, String> {
    println!("\n## Grading speed (reference suites, paused clock)\n");
    println!(
        "| suite | tests | virtual time covered | wall time | virtual / wall |\n|---|---|---|---|---|"
    );
    let suites = reference_suites(root)?;
    let (mut all_wall, mut all_virt, mut all_tests) = (Duration::ZERO, Duration::ZERO, 0);
    let mut rows = Vec::new();
    for (ex, exe) in &suites {
        let (wall, tests, virt) = run_suite(exe, false)?;
        all_wall += wall;
        all_virt += virt;
        all_tests += tests;
        println!(
            "| {} | {tests} | {:.1} s | {} | {:.0}× |",
            ex.name,
            virt.as_secs_f64(),
            secs(wall),
            virt.as_secs_f64() / wall.as_secs_f64()
        );
        rows.push(serde_json::json!({"suite": ex.name, "tests": tests, "virtual_s": virt.as_secs_f64(), "wall_s": wall.as_secs_f64()}));
    }
    println!(
        "| **all** | {all_tests} | {:.1} s ({:.1} min) | {} | {:.0}× |",
        all_virt.as_secs_f64(),
        all_virt.as_secs_f64() / 60.0,
        secs(all_wall),
        all_virt.as_secs_f64() / all_wall.as_secs_f64()
    );
    let (ex, exe) = suites
        .iter()
        .find(|(ex, _)| ex.name.starts_with(real_baseline) || ex.name.contains(real_baseline))
        .ok_or("no such suite for the real-clock baseline")?;
    let (paused, _, virt) = run_suite(exe, false)?;
    let (real, _, _) = run_suite(exe, true)?;
    println!(
        "\nBaseline: `{}` with real sleeps (TESTKIT_REAL_CLOCK=1) took {} against {} on the paused clock: {:.0}× faster \
         (its tests cover {:.1} s of virtual time; libtest runs them two at a time). A real-sleep run of every suite \
         would take at least the virtual time it covers, {:.1} min: {:.0}× the paused run.",
        ex.name,
        secs(real),
        secs(paused),
        real.as_secs_f64() / paused.as_secs_f64(),
        virt.as_secs_f64(),
        all_virt.as_secs_f64() / 60.0,
        all_virt.as_secs_f64() / all_wall.as_secs_f64()
    );
    Ok(
        serde_json::json!({"suites": rows, "virtual_s": all_virt.as_secs_f64(), "wall_s": all_wall.as_secs_f64(),
        "real_baseline": {"suite": ex.name, "paused_s": paused.as_secs_f64(), "real_s": real.as_secs_f64()}}),
    )
}

/// Feedback latency: touch one exercise's source, time until the result.
///
/// Timed as a learner runs it: through cargo, with `RUST_BACKTRACE` unset (its default; with it
/// set, every panicking test also captures a backtrace). Two states of the exercise: the untouched
/// stub, and finished (the reference, which is the same suite against a complete library).
pub fn feedback_latency(
    root: &Path,
    exercise: &Exercise,
    rounds: usize,
    first_time: bool,
) -> Result<serde_json::Value, String> {
    println!(
        "\n## Feedback latency ({}, warm build cache, median of {rounds})\n",
        exercise.name
    );
    let stub_file = exercise.stub_dir().join("src").join("lib.rs");
    // The finished state needs the reference (the student edition has none).
    let solution = exercise
        .solution_dir()
        .join("src")
        .is_dir()
        .then(|| format!("{}_solution", exercise.name));
    let solution_file = exercise.solution_dir().join("src").join("lib.rs");
    let state = TempDir::new("state")?;
    let timed = |command: &mut Command| -> Result<(Duration, bool), String> {
        let started = Instant::now();
        command
            .current_dir(root)
            .env_remove("RUST_BACKTRACE")
            .env("WORKBOOK_STATE_DIR", &state.0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let status = command.status().map_err(|e| e.to_string())?;
        Ok((started.elapsed(), status.success()))
    };
    // The stub's tests fail by design; a finished exercise whose tests fail means the
    // measurement went wrong (a bad edit), and must not be timed quietly.
    let passing = |(took, passed): (Duration, bool)| -> Result<Duration, String> {
        passed
            .then_some(took)
            .ok_or_else(|| "the finished exercise's tests failed during the measurement".into())
    };
    let cargo_test = |package: &str| {
        let mut c = cargo();
        c.args(["test", "-q", "-p", package]);
        c
    };
    // Warm up: every command once, so each round starts from a warm build.
    timed(&mut cargo_test(&exercise.name))?;
    timed(cargo().args(["wb", "check", &exercise.name]))?;
    if let Some(solution) = &solution {
        passing(timed(&mut cargo_test(solution))?)?;
    }
    let exe = test_executable(root, exercise)?;
    // A real edit, not only a save: an item added at a blank line halfway down the finished
    // exercise's biggest module moves every span after it, so the suite is compiled again in
    // earnest. The file is put back when the measurement ends, however it ends.
    let edited = match &solution {
        Some(_) => Some(Restore::new(&biggest_module(
            &exercise.solution_dir().join("src"),
        )?)?),
        None => None,
    };
    let edit = |edited: &Restore, round: usize| -> Result<(), String> {
        let text = &edited.original;
        let at = text
            .match_indices("\n\n")
            .map(|(i, _)| i + 2)
            .find(|&i| i >= text.len() / 2)
            .ok_or("no blank line to add an item at")?;
        let (head, tail) = text.split_at(at);
        std::fs::write(
            &edited.path,
            format!("{head}const {BENCH_EDIT}: u32 = {round};\n\n{tail}"),
        )
        .map_err(|e| e.to_string())
    };
    let (mut test, mut build, mut run, mut check, mut finished, mut finished_edit) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        save(&stub_file)?;
        test.push(timed(&mut cargo_test(&exercise.name))?.0);
        save(&stub_file)?;
        build.push(timed(cargo_test(&exercise.name).arg("--no-run"))?.0);
        run.push(timed(Command::new(&exe).arg("-q"))?.0);
        save(&stub_file)?;
        check.push(timed(cargo().args(["wb", "check", &exercise.name]))?.0);
        if let (Some(solution), Some(edited)) = (&solution, &edited) {
            save(&solution_file)?;
            finished.push(passing(timed(&mut cargo_test(solution))?)?);
            edit(edited, round)?;
            finished_edit.push(passing(timed(&mut cargo_test(solution))?)?);
        }
    }
    let edited_name = edited.as_ref().map(|e| {
        e.path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    });
    drop(edited);
    let link = link_time(root, exercise, rounds)?;
    let some_median = |xs: Vec<Duration>| (!xs.is_empty()).then(|| median(xs));
    let (test, build, run, check) = (median(test), median(build), median(run), median(check));
    let (finished, finished_edit) = (some_median(finished), some_median(finished_edit));
    println!("| what | median |\n|---|---|");
    println!(
        "| `cargo test -p {}` after a save (the untouched stub: every test fails) | {} |",
        exercise.name,
        secs(test)
    );
    println!(
        "| — of which compile + link (`cargo test --no-run`) | {} |",
        secs(build)
    );
    if let Some(link) = link {
        println!(
            "| — — of which linking the hidden-suite binary (measured in a build of its own) | {} |",
            secs(link)
        );
    }
    println!("| — of which running the hidden suite | {} |", secs(run));
    println!(
        "| `cargo wb check {}` after a save (the CLI: cargo run, then one cargo test) | {} |",
        exercise.name,
        secs(check)
    );
    if let (Some(solution), Some(finished), Some(finished_edit), Some(edited)) =
        (&solution, finished, finished_edit, &edited_name)
    {
        println!(
            "| `cargo test` after a save, the exercise finished (`-p {solution}`: every test passes) | {} |",
            secs(finished)
        );
        println!(
            "| the same after an edit (an item added halfway down `{edited}`) | {} |",
            secs(finished_edit)
        );
    }
    let mut first = None;
    if first_time {
        let target = TempDir::new("fresh")?;
        let started = Instant::now();
        timed(
            cargo()
                .args(["test", "-q", "-p", "ex00_warmup"])
                .env("CARGO_TARGET_DIR", &target.0),
        )?;
        let d = started.elapsed();
        println!(
            "| first feedback from a clean build (`cargo test -p ex00_warmup`, empty target dir, crates already downloaded) | {} |",
            secs(d)
        );
        first = Some(d);
    }
    // The comparison with the anchor workbook is measured in the same run, beside this one
    // (`latency_vs_anchor`): figures measured on another day are not a comparison.
    let secs_of = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    Ok(serde_json::json!({
        "exercise": exercise.name,
        "cargo_test_s": test.as_secs_f64(),
        "build_s": build.as_secs_f64(),
        "link_s": secs_of(link),
        "run_s": run.as_secs_f64(),
        "cli_check_s": check.as_secs_f64(),
        "finished_cargo_test_s": secs_of(finished),
        "finished_edit_cargo_test_s": secs_of(finished_edit),
        "first_time_s": secs_of(first),
    }))
}

/// The text the benchmark's edit adds (a `const` of this name); one left behind by an
/// interrupted run is removed at the next.
const BENCH_EDIT: &str = "_BENCH_EDIT";

/// A directory under the system temp dir, removed when this is dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("wb-bench-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long the linker runs for the hidden-suite binary after a save (median of `rounds`), or
/// `None` where it cannot be measured (no `cc`, or a `date` without nanoseconds).
///
/// Cargo does not report link times, so this build uses a linker of its own: a shell script that
/// runs `cc` as rustc would (rustc still passes its own `-fuse-ld=lld`, so it is the same link)
/// and logs how long it took and what it wrote. A different linker is a different build
/// configuration, so it builds into a target directory of its own (warmed first), and the
/// learner's build is never touched.
fn link_time(root: &Path, exercise: &Exercise, rounds: usize) -> Result<Option<Duration>, String> {
    let works = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|out| out.status.success() && !out.stdout.is_empty())
    };
    let nanoseconds = Command::new("date")
        .arg("+%s%N")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii().iter().all(u8::is_ascii_digit));
    let Some(host) = host_triple().filter(|_| works("cc", "--version") && nanoseconds) else {
        return Ok(None);
    };
    let dir = TempDir::new("link")?;
    let log = dir.0.join("links.log");
    // The log's path comes through the environment (rustc passes its own on to the linker),
    // so no path needs quoting inside the script.
    let script = link_wrapper(&dir.0)?;
    let linker_var = format!(
        "CARGO_TARGET_{}_LINKER",
        host.to_uppercase().replace(['-', '.'], "_")
    );
    let build = || {
        let mut c = cargo();
        c.current_dir(root)
            .args(["test", "--no-run", "-q", "-p", &exercise.name])
            .env("CARGO_TARGET_DIR", dir.0.join("target"))
            .env(&linker_var, &script)
            .env("WB_BENCH_LINK_LOG", &log)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let file = exercise.stub_dir().join("src").join("lib.rs");
    run_with_limit(build(), LONG)?;
    let mut links = Vec::new();
    for _ in 0..rounds {
        std::fs::write(&log, "").map_err(|e| e.to_string())?;
        save(&file)?;
        run_with_limit(build(), LONG)?;
        // Two binaries are linked: the library's own unit-test harness and the hidden
        // suite; the suite is the larger one, and the one on the path to the result.
        let logged = std::fs::read_to_string(&log).map_err(|e| e.to_string())?;
        let suite = logged
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(ns, out)| Some((ns.parse::<u64>().ok()?, out)))
            .max_by_key(|(_, out)| std::fs::metadata(out).map(|m| m.len()).unwrap_or(0));
        if let Some((ns, _)) = suite {
            links.push(Duration::from_nanos(ns));
        }
    }
    Ok((!links.is_empty()).then(|| median(links)))
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Option<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).arg("-vV").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
}

/// The largest `.rs` file directly in `src`.
fn biggest_module(src: &Path) -> Result<PathBuf, String> {
    std::fs::read_dir(src)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .ok_or_else(|| format!("no .rs file in {}", src.display()))
}

/// A file's text, written back when this is dropped.
struct Restore {
    path: PathBuf,
    original: String,
}

impl Restore {
    /// Remembers `path`'s text — without the line an interrupted benchmark left behind (a kill
    /// skips `Drop`), which is thereby removed when this is dropped.
    fn new(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let leftover = format!("const {BENCH_EDIT}: u32 = ");
        let original = match text.find(&leftover) {
            // The edit added `const …;` and a blank line.
            Some(at) => match text[at..].find("\n\n") {
                Some(end) => format!("{}{}", &text[..at], &text[at + end + 2..]),
                None => text,
            },
            None => text,
        };
        Ok(Self {
            path: path.to_path_buf(),
            original,
        })
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.original);
    }
}

/// The hidden-suite executable `cargo test -p <exercise's package>` runs.
fn test_executable(root: &Path, exercise: &Exercise) -> Result<PathBuf, String> {
    let mut command = cargo();
    command.current_dir(root).args([
        "test",
        "--no-run",
        "-q",
        "--message-format",
        "json",
        "-p",
        &exercise.name,
    ]);
    let (_, stdout, _) = run_with_limit(command, LONG)?;
    suite_executable(&stdout, &exercise.name, "/exercises/")
        .ok_or_else(|| format!("the test binary of {} was not found", exercise.name))
}

fn percent(with: Duration, without: Duration) -> f64 {
    100.0 * (with.as_secs_f64() / without.as_secs_f64().max(1e-9) - 1.0)
}

/// Class grading: `n` submissions (stubs, references, broken ones) graded with one shared
/// dependency build, against a clean build per submission (measured on `naive` of them).
pub fn class_grading(
    root: &Path,
    n: usize,
    naive: usize,
    only: &[String],
) -> Result<serde_json::Value, String> {
    let all: Vec<Exercise> = exercises::all(root)
        .into_iter()
        .filter(|e| only.is_empty() || only.iter().any(|o| e.name.contains(o.as_str())))
        .collect();
    println!(
        "\n## Class grading ({n} submissions × {} exercises)\n",
        all.len()
    );
    let base = std::env::temp_dir().join(format!("wb-bench-class-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut subs = Vec::new();
    for i in 0..n {
        let dir = base.join(format!("learner{i:02}")).join("exercises");
        for ex in &all {
            let src = match i % 3 {
                0 => ex.stub_dir().join("src"),
                _ => ex.solution_dir().join("src"),
            };
            crate::grade::copy_dir(&src, &dir.join(&ex.name).join("src"))
                .map_err(|e| e.to_string())?;
            // The references and the broken ones are each the learner's own: a line of theirs
            // in the first file, so no two are alike. The untouched stubs stay untouched, byte
            // for byte the stub — which is what an exercise a learner skipped is; the grader
            // builds identical sources once.
            let lib = dir.join(&ex.name).join("src").join("lib.rs");
            let mut text = std::fs::read_to_string(&lib).map_err(|e| e.to_string())?;
            if i % 3 != 0 {
                text.push_str(&format!("\n// learner{i:02} was here\n"));
            }
            if i % 3 == 2 {
                // Broken: a compile error.
                text.push_str("fn broken() -> u32 { \"not a number\" }\n");
            }
            std::fs::write(&lib, text).map_err(|e| e.to_string())?;
        }
        subs.push((format!("learner{i:02}"), dir));
    }
    let manifest = Manifest::load(root)?;
    let helper = std::env::current_exe().map_err(|e| e.to_string())?;
    let sandbox = crate::sandbox::Sandbox::new(crate::sandbox::Mode::Auto, &helper)?;
    println!("{}", sandbox.status().summary());
    let sandboxed = Limits::new(std::sync::Arc::new(sandbox));
    let unsandboxed = Limits::new(std::sync::Arc::new(crate::sandbox::Sandbox::off(&helper)?));
    // Grades `subs`; returns the time and the points each submission got.
    let grade_with =
        |limits: &Limits, overlay: &Overlay, subs: &[(String, PathBuf)]| -> (Duration, Vec<f64>) {
            let started = Instant::now();
            let mut points = vec![0.0; subs.len()];
            for ex in &all {
                let dirs: Vec<PathBuf> = subs.iter().map(|(_, d)| d.join(&ex.name)).collect();
                let list: Vec<(&str, Option<&Path>)> = subs
                    .iter()
                    .zip(&dirs)
                    .map(|((l, _), d)| (l.as_str(), Some(d.as_path())))
                    .collect();
                let graded = grader::grade_exercise_many(overlay, ex, &list, limits, &manifest);
                for (p, r) in points.iter_mut().zip(graded) {
                    *p += r.points();
                }
            }
            (started.elapsed(), points)
        };
    let grade_all =
        |overlay: &Overlay, subs: &[(String, PathBuf)]| grade_with(&sandboxed, overlay, subs);
    // Shared: the workbook's overlay (its dependency build may already be warm; warm it to be fair).
    let shared_overlay = Overlay::new(root);
    for ex in &all {
        let (sources, _) = crate::grade::read_sources(&ex.solution_dir().join("src"))?;
        shared_overlay.build_many(
            ex,
            &[Variant {
                label: "bench_warm",
                sources: &sources,
            }],
            LONG,
            None,
        )?;
    }
    let before = grader::time_spent();
    let (shared, points) = grade_all(&shared_overlay, &subs);
    let after = grader::time_spent();
    let (shared_build, shared_run) = (after.0 - before.0, after.1 - before.1);
    // What the sandbox costs: the same class graded again without it and with it, alternately,
    // in this run (every grading rebuilds the submissions' crates: their sources are written anew).
    let mut with = vec![(shared, shared_build, shared_run)];
    let mut without = Vec::new();
    for round in 0..2 {
        for (limits, into) in [(&unsandboxed, &mut without), (&sandboxed, &mut with)] {
            if round == 1 && std::ptr::eq(limits, &sandboxed) {
                break;
            }
            let before = grader::time_spent();
            let (took, again) = grade_with(limits, &shared_overlay, &subs);
            let after = grader::time_spent();
            if again != points {
                return Err(format!(
                    "the class got other points the second time: {again:?}"
                ));
            }
            into.push((took, after.0 - before.0, after.1 - before.1));
        }
    }
    let mean = |runs: &[(Duration, Duration, Duration)],
                pick: fn(&(Duration, Duration, Duration)) -> Duration| {
        runs.iter().map(pick).sum::<Duration>() / runs.len().max(1) as u32
    };
    let kinds = ["untouched stubs", "references", "broken (compile error)"];
    for (k, kind) in kinds.iter().enumerate() {
        let got: Vec<String> = points
            .iter()
            .skip(k)
            .step_by(3)
            .map(|p| format!("{p}"))
            .collect();
        println!("points of the {kind}: {}", got.join(" "));
    }
    // Naive: every submission graded alone, from an empty target directory.
    let mut naive_each = Vec::new();
    for (label, dir) in subs.iter().take(naive) {
        let fresh = base.join(format!("fresh-{label}"));
        let overlay = Overlay::with_base(root, &fresh);
        naive_each.push(grade_all(&overlay, &[(label.clone(), dir.clone())]).0);
        let _ = std::fs::remove_dir_all(&fresh);
    }
    let per = naive_each.iter().sum::<Duration>() / naive_each.len().max(1) as u32;
    let naive_total = per * n as u32;
    println!("| how | time |\n|---|---|");
    println!(
        "| shared dependency build, each exercise of all {n} built in one cargo call | {} |",
        secs(shared)
    );
    println!(
        "| — of which building {} and running the tests {} | |",
        secs(shared_build),
        secs(shared_run)
    );
    println!(
        "| clean build per submission (measured on {naive}: {} each) | {} for {n} (extrapolated) |",
        secs(per),
        secs(naive_total)
    );
    println!(
        "| ratio | {:.1}× |",
        naive_total.as_secs_f64() / shared.as_secs_f64()
    );
    let (s_total, s_build, s_run) = (
        mean(&with, |r| r.0),
        mean(&with, |r| r.1),
        mean(&with, |r| r.2),
    );
    let (o_total, o_build, o_run) = (
        mean(&without, |r| r.0),
        mean(&without, |r| r.1),
        mean(&without, |r| r.2),
    );
    println!(
        "\n| the same class, shared build | total | building | running the tests |\n|---|---|---|---|"
    );
    println!(
        "| sandboxed (mean of {}) | {} | {} | {} |",
        with.len(),
        secs(s_total),
        secs(s_build),
        secs(s_run)
    );
    println!(
        "| without a sandbox (mean of {}, alternating) | {} | {} | {} |",
        without.len(),
        secs(o_total),
        secs(o_build),
        secs(o_run)
    );
    println!(
        "| the sandbox costs | {:+.1}% | {:+.1}% | {:+.1}% |",
        percent(s_total, o_total),
        percent(s_build, o_build),
        percent(s_run, o_run)
    );
    let _ = std::fs::remove_dir_all(&base);
    Ok(
        serde_json::json!({"submissions": n, "exercises": all.len(), "shared_s": shared.as_secs_f64(),
        "shared_build_s": shared_build.as_secs_f64(), "shared_run_s": shared_run.as_secs_f64(),
        "naive_each_s": per.as_secs_f64(), "naive_measured": naive, "naive_total_s": naive_total.as_secs_f64(),
        "sandbox": {
            "runs": with.len(), "total_s": s_total.as_secs_f64(), "build_s": s_build.as_secs_f64(), "run_s": s_run.as_secs_f64(),
        },
        "no_sandbox": {
            "runs": without.len(), "total_s": o_total.as_secs_f64(), "build_s": o_build.as_secs_f64(), "run_s": o_run.as_secs_f64(),
        }}),
    )
}

/// The anchor's crate: the best existing workbook's first async exercise, in its shape (issue
/// 13): an echo server with `anyhow`, one `#[tokio::test]` over loopback, tokio "full", a plain
/// `cargo test`. Generated afresh in every run, beside ours.
const ANCHOR_MANIFEST: &str = r#"[package]
name = "anchor_echo"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
anyhow = "1"
tokio = { version = "1", features = ["full"] }
"#;

const ANCHOR_LIB: &str = r#"use tokio::net::TcpListener;

/// Echoes every byte back to each client, one client at a time.
pub async fn echo(listener: TcpListener) -> Result<(), anyhow::Error> {
    loop {
        let (mut socket, _) = listener.accept().await?;
        let (mut reader, mut writer) = socket.split();
        tokio::io::copy(&mut reader, &mut writer).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn test_echo() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(echo(listener));
        let requests = vec!["hello", "world", "foo", "bar"];
        for request in requests {
            let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut reader, mut writer) = socket.split();
            writer.write_all(request.as_bytes()).await.unwrap();
            writer.shutdown().await.unwrap();
            let mut buf = Vec::with_capacity(request.len());
            reader.read_to_end(&mut buf).await.unwrap();
            assert_eq!(&buf, request.as_bytes(), "the server echoes {request:?}");
        }
    }
}
"#;

/// One side of the latency comparison: a crate a learner saves and tests.
struct Side {
    label: String,
    /// Where cargo runs.
    dir: PathBuf,
    /// `-p <package>` for our workspace; empty for the anchor (its only package).
    package: Vec<String>,
    /// The file a save rewrites.
    file: PathBuf,
    /// The anchor builds into its own target dir; ours into the learner's (inherited).
    target: Option<PathBuf>,
    /// Cargo flags every command of this side takes (the anchor resolves offline).
    flags: Vec<String>,
    /// The test executables `cargo test` runs (found after the warm-up).
    exes: Vec<PathBuf>,
}

/// The medians of one side, and the split of a save-to-feedback into its parts.
#[derive(Default)]
struct Split {
    total: Vec<Duration>,
    noop: Vec<Duration>,
    lib: Vec<Duration>,
    build: Vec<Duration>,
    link: Vec<Duration>,
    run: Vec<Duration>,
}

impl Side {
    fn cargo(&self, args: &[&str]) -> Command {
        let mut c = cargo();
        c.current_dir(&self.dir)
            .args(args)
            .args(&self.flags)
            .args(&self.package)
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(target) = &self.target {
            c.env("CARGO_TARGET_DIR", target);
        }
        c
    }

    /// Times `command`; a failure is an error (every test of both sides passes).
    fn timed(&self, mut command: Command, what: &str) -> Result<Duration, String> {
        let started = Instant::now();
        let status = command.status().map_err(|e| e.to_string())?;
        let took = started.elapsed();
        if !status.success() {
            return Err(format!("{}: `{what}` failed ({status})", self.label));
        }
        Ok(took)
    }

    /// The test executables `cargo test` runs here (built, not run).
    fn executables(&self) -> Result<Vec<PathBuf>, String> {
        let mut c = self.cargo(&["test", "--no-run", "-q", "--message-format", "json"]);
        c.stdout(std::process::Stdio::piped());
        let out = c.output().map_err(|e| e.to_string())?;
        let found: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["profile"]["test"] == true)
            .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
            .collect();
        if found.is_empty() {
            return Err(format!("{}: no test executable was built", self.label));
        }
        Ok(found)
    }

    /// How long the linker takes for the biggest test binary after a save. The unit is rebuilt
    /// with `cargo rustc … -C linker=<a timing wrapper around cc>`: the linker is an untracked
    /// option, so the same target dir, dependencies and incremental cache serve, and only that
    /// unit's link goes through the wrapper.
    fn link(&self, unit: &[&str], wrapper: &Path, log: &Path) -> Result<Duration, String> {
        std::fs::write(log, "").map_err(|e| e.to_string())?;
        save(&self.file)?;
        let mut args = vec!["rustc", "-q", "--profile", "test"];
        args.extend_from_slice(unit);
        let mut c = self.cargo(&args);
        c.arg("--")
            .arg("-C")
            .arg(format!("linker={}", wrapper.display()))
            .env("WB_BENCH_LINK_LOG", log);
        self.timed(c, "cargo rustc (timed link)")?;
        let logged = std::fs::read_to_string(log).map_err(|e| e.to_string())?;
        logged
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(ns, out)| Some((ns.parse::<u64>().ok()?, out)))
            .max_by_key(|(_, out)| std::fs::metadata(out).map(|m| m.len()).unwrap_or(0))
            .map(|(ns, _)| Duration::from_nanos(ns))
            .ok_or_else(|| format!("{}: the linker wrapper logged nothing", self.label))
    }

    /// One round: a save, then each way of hearing back.
    fn round(
        &self,
        split: &mut Split,
        unit: &[&str],
        wrapper: &Path,
        log: &Path,
    ) -> Result<(), String> {
        save(&self.file)?;
        split
            .total
            .push(self.timed(self.cargo(&["test", "-q"]), "cargo test")?);
        split.noop.push(self.timed(
            self.cargo(&["test", "-q", "--no-run"]),
            "cargo test --no-run (nothing changed)",
        )?);
        save(&self.file)?;
        split
            .lib
            .push(self.timed(self.cargo(&["build", "-q", "--lib"]), "cargo build --lib")?);
        save(&self.file)?;
        split.build.push(self.timed(
            self.cargo(&["test", "-q", "--no-run"]),
            "cargo test --no-run",
        )?);
        let started = Instant::now();
        for exe in &self.exes {
            let mut c = Command::new(exe);
            c.arg("-q")
                .env_remove("RUST_BACKTRACE")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let status = c.status().map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("{}: {} failed", self.label, exe.display()));
            }
        }
        split.run.push(started.elapsed());
        split.link.push(self.link(unit, wrapper, log)?);
        // Building with other rustc arguments leaves the unit's incremental state cold for the
        // next ordinary build (the next round's `cargo test` was ~1 s slower after it): one
        // ordinary build, untimed, puts it back.
        save(&self.file)?;
        self.timed(
            self.cargo(&["test", "-q", "--no-run"]),
            "cargo test --no-run",
        )?;
        Ok(())
    }
}

/// Writes the anchor crate into `dir`, with our lock file so that it resolves the same tokio.
fn write_anchor(root: &Path, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("Cargo.toml"), ANCHOR_MANIFEST).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("src").join("lib.rs"), ANCHOR_LIB).map_err(|e| e.to_string())?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
    Ok(())
}

/// A shell script that runs `cc` as rustc would and logs how long it took and what it wrote.
fn link_wrapper(dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("link-timed");
    std::fs::write(
        &script,
        "#!/bin/sh\n\
         start=$(date +%s%N)\n\
         cc \"$@\"\n\
         status=$?\n\
         end=$(date +%s%N)\n\
         out=; prev=\n\
         for a in \"$@\"; do [ \"$prev\" = -o ] && out=\"$a\"; prev=\"$a\"; done\n\
         echo \"$((end - start)) $out\" >> \"$WB_BENCH_LINK_LOG\"\n\
         exit $status\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    Ok(script)
}

/// Save-to-feedback of a finished exercise (its reference package: the full hidden suite, every
/// test passing) against the anchor's, in the same run, alternating, with the split.
pub fn latency_vs_anchor(
    root: &Path,
    exercise: &Exercise,
    rounds: usize,
    our_config: &[String],
) -> Result<serde_json::Value, String> {
    println!(
        "\n## Save-to-feedback against the anchor ({}, finished; median of {rounds}, alternating)\n",
        exercise.name
    );
    let scratch = TempDir::new("anchor")?;
    // The anchor is written afresh every run and keeps a target dir of its own beside it: its
    // dependency build (a minute on two cores) is paid once, not every run. Outside the repository,
    // so that none of our `.cargo/config.toml` applies to it: it is built as its own workbook is.
    let bench_dir = std::env::temp_dir().join("wb-bench-anchor");
    let anchor_dir = bench_dir.join("anchor_echo");
    write_anchor(root, &anchor_dir)?;
    let wrapper = link_wrapper(&scratch.0)?;
    let log = scratch.0.join("links.log");
    let mut ours = Side {
        label: format!("{}_solution", exercise.name),
        dir: root.to_path_buf(),
        package: vec!["-p".into(), format!("{}_solution", exercise.name)],
        file: biggest_module(&exercise.solution_dir().join("src"))?,
        target: None,
        flags: our_config
            .iter()
            .flat_map(|c| ["--config".to_owned(), c.clone()])
            .collect(),
        exes: vec![],
    };
    let mut anchor = Side {
        label: "anchor_echo".into(),
        file: anchor_dir.join("src").join("lib.rs"),
        dir: anchor_dir,
        package: vec![],
        target: Some(bench_dir.join("anchor-target")),
        // Our lock pins tokio; anyhow (not in it) comes from the local registry cache.
        flags: vec!["--offline".into()],
        exes: vec![],
    };
    let suite = exercise.name.clone();
    let our_unit = ["--test", suite.as_str()];
    let anchor_unit = ["--lib"];
    // Warm up: each side built and run once (the anchor's first run builds its dependencies).
    anchor.timed(anchor.cargo(&["test", "-q"]), "cargo test (warm-up)")?;
    ours.timed(ours.cargo(&["test", "-q"]), "cargo test (warm-up)")?;
    anchor.exes = anchor.executables()?;
    ours.exes = ours.executables()?;
    let (mut a, mut o) = (Split::default(), Split::default());
    // The CLI's check runs the exercise's own package, whose stub every learner starts from: the
    // same hidden suite, failing (the finished state lives in the reference package).
    let stub_file = exercise.stub_dir().join("src").join("lib.rs");
    let wb_check = || {
        let mut c = cargo();
        c.current_dir(root)
            .args(["wb", "check", &exercise.name])
            .env_remove("RUST_BACKTRACE")
            .env("WORKBOOK_STATE_DIR", &scratch.0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let _ = wb_check().status();
    if !our_config.is_empty() {
        println!(
            "our side with `--config {}`\n",
            our_config.join("` `--config ")
        );
    }
    let mut check = Vec::new();
    for round in 0..rounds {
        // Alternate which side goes first, so neither always runs on a cache the other warmed.
        if round % 2 == 0 {
            anchor.round(&mut a, &anchor_unit, &wrapper, &log)?;
            ours.round(&mut o, &our_unit, &wrapper, &log)?;
        } else {
            ours.round(&mut o, &our_unit, &wrapper, &log)?;
            anchor.round(&mut a, &anchor_unit, &wrapper, &log)?;
        }
        save(&stub_file)?;
        let started = Instant::now();
        wb_check().status().map_err(|e| e.to_string())?;
        check.push(started.elapsed());
    }
    let check = median(check);
    let rows = |s: Split| {
        let (total, noop, lib, build, link, run) = (
            median(s.total),
            median(s.noop),
            median(s.lib),
            median(s.build),
            median(s.link),
            median(s.run),
        );
        // The parts: cargo's own work (a no-op), the library, the test binaries' compile (the
        // rest of `--no-run`), their link, running them, and what `cargo test` adds (doc-tests).
        let lib_only = lib.saturating_sub(noop);
        let suite_compile = build.saturating_sub(lib).saturating_sub(link);
        let rest = total.saturating_sub(build).saturating_sub(run);
        [total, noop, lib_only, suite_compile, link, run, rest]
    };
    let (a, o) = (rows(a), rows(o));
    let names = [
        "save → `cargo test` result",
        "— cargo's own work (a no-op `cargo test --no-run`)",
        "— compiling the library (`cargo build --lib` − no-op)",
        "— compiling the test binaries (`--no-run` − `--lib` − link)",
        "— linking the biggest test binary",
        "— running the test binaries",
        "— the rest of `cargo test` (doc-tests, printing)",
    ];
    println!(
        "| | {} | anchor_echo | ratio |\n|---|---|---|---|",
        ours.label
    );
    let mut json = Vec::new();
    for ((name, o), a) in names.iter().zip(o).zip(a) {
        // A part the anchor spends (next to) nothing on has no meaningful ratio.
        let ratio = if a >= Duration::from_millis(5) {
            format!("×{:.2}", o.as_secs_f64() / a.as_secs_f64())
        } else {
            "—".to_owned()
        };
        println!("| {name} | {} | {} | {ratio} |", secs(o), secs(a));
        json.push(serde_json::json!({"part": name, "ours_s": o.as_secs_f64(), "anchor_s": a.as_secs_f64()}));
    }
    println!(
        "| `cargo wb check {}` after a save of the stub (cargo run, then one cargo test) | {} | — | ×{:.2} |",
        exercise.name,
        secs(check),
        check.as_secs_f64() / a[0].as_secs_f64().max(1e-9)
    );
    let ratio = o[0].as_secs_f64() / a[0].as_secs_f64().max(1e-9);
    println!("\nsave-to-feedback ratio, ours / anchor: ×{ratio:.2} (goal ≤ 1.0)");
    Ok(
        serde_json::json!({"exercise": exercise.name, "rounds": rounds, "ratio": ratio, "parts": json,
        "cli_check_s": check.as_secs_f64()}),
    )
}
