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
    // The anchors: the best existing workbooks, timed the same way on this kind of machine
    // (issue 7): 100-exercises-to-learn-rust's `cargo test` on its first async exercise (0.40 s)
    // and its `wr check` (0.65 s), rustlings' `run` (0.86 s), a one-crate tokio exercise built
    // from nothing (15.5 s).
    let ratio = |label: &str, d: Option<Duration>, anchor: f64| {
        d.map(|d| format!("{label} ×{:.2} of {anchor} s", d.as_secs_f64() / anchor))
    };
    let ratios: Vec<String> = [
        ratio("`cargo test -p`", Some(test), 0.40),
        ratio("finished", finished, 0.40),
        ratio("after an edit", finished_edit, 0.40),
        ratio("`cargo wb check`", Some(check), 0.65),
        ratio("`cargo wb check`", Some(check), 0.86),
        ratio("first feedback", first, 15.5),
    ]
    .into_iter()
    .flatten()
    .collect();
    println!(
        "\nratios to the anchors (< 1: faster; 0.40 s: 100-exercises-to-learn-rust's `cargo test`, \
         0.65 s: its `wr check`, 0.86 s: rustlings' `run`, 15.5 s: a first build): {}",
        ratios.join(", ")
    );
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
    use std::os::unix::fs::PermissionsExt;
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
    let script = dir.0.join("link-timed");
    // The log's path comes through the environment (rustc passes its own on to the linker),
    // so no path needs quoting inside the script.
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
