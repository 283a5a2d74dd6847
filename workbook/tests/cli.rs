//! The learner's CLI, run as a learner would: list, check, hint, reset, solution, and the errors a
//! person can run into (unknown exercise, damaged state, reset without confirmation).

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{Scratch, root};

fn workbook(cwd: &Path, state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workbook"))
        .current_dir(cwd)
        .args(args)
        .env("WORKBOOK_STATE_DIR", state)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn list_shows_every_exercise_its_state_and_the_next_one() {
    let state = Scratch::new("list");
    let out = workbook(&root(), &state.0, &["list"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    for ex in [
        "ex00_warmup",
        "ex01_async_files",
        "ex03_rate_limited_client",
        "ex06_timeouts",
    ] {
        assert!(t.contains(ex), "{t}");
    }
    assert!(
        t.contains("not started") && t.contains("next: `cargo wb check 00`"),
        "{t}"
    );

    let out = workbook(&root(), &state.0, &["list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["next"], "ex00_warmup");
    assert_eq!(json["exercises"][0]["state"], "not started");
}

#[test]
fn progress_is_kept_by_exercise_name_and_a_damaged_file_is_not_fatal() {
    let state = Scratch::new("progress");
    std::fs::write(
        state.0.join("progress.json"),
        r#"{"version":1,"exercises":{"ex00_warmup":{"passed":17,"total":17},"ex01_async_files":{"passed":22,"total":22},"ex03_rate_limited_client":{"passed":5,"total":23}}}"#,
    )
    .unwrap();
    let t = text(&workbook(&root(), &state.0, &["list"]));
    assert!(t.contains("done") && t.contains("in progress 5/23"), "{t}");
    assert!(t.contains("next: `cargo wb check 02`"), "{t}");

    std::fs::write(state.0.join("progress.json"), "{ this is not json").unwrap();
    let out = workbook(&root(), &state.0, &["list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("warning: the progress file") && text(&out).contains("cannot be read"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(state.0.join("progress.json")).unwrap(),
        "{ this is not json",
        "list reads, it does not overwrite"
    );
}

#[test]
fn an_unknown_exercise_is_a_clear_error_not_a_panic() {
    let state = Scratch::new("unknown");
    for args in [
        &["check", "99"][..],
        &["hint", "nope"],
        &["reset", "42", "--yes"],
        &["solution", "x"],
    ] {
        let out = workbook(&root(), &state.0, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("no exercise matches"),
            "{args:?}: {}",
            text(&out)
        );
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
    }
    let out = workbook(&root(), &state.0, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn hints_come_one_level_at_a_time() {
    let state = Scratch::new("hints");
    let first = text(&workbook(&root(), &state.0, &["hint", "06"]));
    assert!(first.starts_with("Hint 1"), "{first}");
    assert!(
        first.contains("read: curriculum/src/ex06-timeouts.md"),
        "{first}"
    );
    let second = text(&workbook(&root(), &state.0, &["hint", "06"]));
    assert!(second.starts_with("Hint 2"), "{second}");
    let again = text(&workbook(
        &root(),
        &state.0,
        &["hint", "06", "--level", "1"],
    ));
    assert!(again.starts_with("Hint 1"), "{again}");
}

#[test]
fn solutions_need_the_exercise_to_pass_or_force() {
    let state = Scratch::new("solution");
    let out = workbook(&root(), &state.0, &["solution", "06", "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("──── solutions/ex06_timeouts/src/retry.rs ────"),
        "{}",
        text(&out)
    );
}

/// A tiny workbook in a git repository: one exercise whose stub was committed (HEAD is the shipped
/// stub), then edited.
fn tiny_workbook(name: &str) -> Scratch {
    let dir = Scratch::new(name);
    let root = &dir.0;
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"exercises/*\"]\n",
    )
    .unwrap();
    let ex = root.join("exercises/ex09_tiny");
    std::fs::create_dir_all(ex.join("src")).unwrap();
    std::fs::write(ex.join("Cargo.toml"), "[package]\nname = \"ex09_tiny\"\n").unwrap();
    std::fs::write(
        ex.join("src/lib.rs"),
        "pub fn answer() -> u32 { todo!(\"the answer\") }\n",
    )
    .unwrap();
    git(&["init", "-q"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "stub",
    ]);
    std::fs::write(ex.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").unwrap();
    std::fs::write(ex.join("src/extra.rs"), "// mine\n").unwrap();
    dir
}

#[test]
fn reset_asks_first_and_keeps_a_backup() {
    let repo = tiny_workbook("tiny-reset");
    let state = Scratch::new("reset-state");
    let lib = repo.0.join("exercises/ex09_tiny/src/lib.rs");

    // Not a terminal and no --yes: nothing happens.
    let out = workbook(&repo.0, &state.0, &["reset", "09"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("pass --yes"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        "pub fn answer() -> u32 { 42 }\n"
    );

    let out = workbook(&repo.0, &state.0, &["reset", "09", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        "pub fn answer() -> u32 { todo!(\"the answer\") }\n"
    );
    assert!(
        !repo.0.join("exercises/ex09_tiny/src/extra.rs").exists(),
        "the stub had no extra.rs"
    );
    let backups: Vec<_> = std::fs::read_dir(state.0.join("backups"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(backups.len(), 1);
    let saved = std::fs::read_to_string(backups[0].path().join("lib.rs")).unwrap();
    assert_eq!(
        saved, "pub fn answer() -> u32 { 42 }\n",
        "the learner's code is in the backup"
    );
    assert!(backups[0].path().join("extra.rs").exists());
}

#[test]
fn the_student_edition_has_no_solutions_to_show() {
    let repo = tiny_workbook("tiny-nosolution");
    let state = Scratch::new("nosolution-state");
    let out = workbook(&repo.0, &state.0, &["solution", "09", "--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not part of this edition"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_hint_names_the_first_failing_test_of_the_last_check() {
    let state = Scratch::new("hint-failure");
    std::fs::write(
        state.0.join("progress.json"),
        r#"{"version":1,"exercises":{"ex06_timeouts":{"passed":3,"total":38,"first_failure":"retry_schedule_is_exact_with_backoff_capped — backoff 100, 200, 400, then capped"}}}"#,
    )
    .unwrap();
    let out = text(&workbook(&root(), &state.0, &["hint", "06"]));
    assert!(
        out.contains(
            "your last check's first failing test: retry_schedule_is_exact_with_backoff_capped"
        ),
        "{out}"
    );
}

#[test]
fn gradebook_merges_shards_and_refuses_ones_that_overlap() {
    let dir = Scratch::new("gradebook");
    let header = "submission,score,max_score,ex00_warmup";
    let shard = |name: &str, rows: &[&str]| -> String {
        let path = dir.0.join(name);
        std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
        path.display().to_string()
    };
    let a = shard("a.csv", &["carol,3,17,3", "\"o'neil, jr\",1,17,1"]);
    let b = shard("b.csv", &["alice,17,17,17"]);
    let c = shard("c.csv", &["bob,0,17,0", "carol,5,17,5"]);
    let merged = dir.0.join("merged.csv");
    let out = workbook(
        &root(),
        &dir.0,
        &["gradebook", &a, &b, "-o", &merged.display().to_string()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&merged).unwrap(),
        format!("{header}\n\"o'neil, jr\",1,17,1\nalice,17,17,17\ncarol,3,17,3\n"),
        "every row once, sorted"
    );
    let out = workbook(
        &root(),
        &dir.0,
        &["gradebook", &a, &c, "-o", &merged.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("the shards overlap: carol is in")
            && said.contains("a.csv")
            && said.contains("c.csv"),
        "the error names the submission and both shards: {said}"
    );
    let out = workbook(
        &root(),
        &dir.0,
        &["gradebook", &b, &b, "-o", &merged.display().to_string()],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the same shard twice: {}",
        text(&out)
    );
}

#[test]
fn the_gradescope_autograder_holds_its_scripts_at_the_root_and_the_workbook_beside_them() {
    let dir = Scratch::new("gradescope");
    let zip_path = dir.0.join("autograder.zip");
    let out = workbook(
        &root(),
        &dir.0,
        &[
            "gradescope",
            "--out",
            &zip_path.display().to_string(),
            "--toolchain",
            "1.95.0",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("a file name").to_string())
        .collect();
    for needed in [
        "setup.sh",
        "run_autograder",
        "workbook/Cargo.toml",
        "workbook/Cargo.lock",
        "workbook/tests/ex06_timeouts.rs",
        "workbook/tests/grading.toml",
    ] {
        assert!(names.iter().any(|n| n == needed), "{needed} is in the zip");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.contains("/target/") || n.contains("/.git/")),
        "no build output, no git directory"
    );
    for script in ["setup.sh", "run_autograder"] {
        let file = archive.by_name(script).unwrap();
        assert_eq!(
            file.unix_mode().map(|m| m & 0o111),
            Some(0o111),
            "{script} is executable"
        );
    }
    let mut setup = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("setup.sh").unwrap(), &mut setup).unwrap();
    assert!(
        setup.contains("--default-toolchain 1.95.0") && setup.contains("bubblewrap"),
        "setup.sh installs the toolchain asked for and the sandbox: {setup}"
    );
}

#[test]
fn a_grader_started_with_descriptor_3_open_refuses_at_once_and_says_why() {
    // `time -o FILE workbook grade …` leaves FILE open on descriptor 3, where every test's
    // verdict channel must go: grading would score every submission 0 and exit 0.
    let dir = Scratch::new("fd3");
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec 3>/dev/null; exec \"$0\" grade-class \"$1\" --out \"$1/out\"")
        .arg(env!("CARGO_BIN_EXE_workbook"))
        .arg(&dir.0)
        .current_dir(root())
        .output()
        .unwrap();
    let text = text(&out);
    assert!(
        !out.status.success() && text.contains("file descriptor 3"),
        "a grader that inherited descriptor 3 must refuse with the cause, not grade every test \
         as not run: {text}"
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_cli_quietly() {
    // `cargo wb list | head -1`: the pipe is closed before the CLI writes.
    let state = Scratch::new("closed_pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_workbook"))
        .current_dir(root())
        .arg("list")
        .env("WORKBOOK_STATE_DIR", &state.0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("panicked"), "no panic: {}", text(&out));
}

#[test]
fn an_exercise_is_named_by_number_name_or_slug_or_by_the_folder_you_are_in() {
    let state = Scratch::new("naming");
    for query in ["06", "ex06_timeouts", "timeouts", "time"] {
        let out = workbook(&root(), &state.0, &["hint", query, "--level", "1"]);
        assert!(out.status.success(), "{query}: {}", text(&out));
        assert!(
            text(&out).contains("with_timeout"),
            "{query}: ex06's first hint: {}",
            text(&out)
        );
    }
    let out = workbook(&root(), &state.0, &["hint", "web-crawler", "--level", "1"]);
    assert!(
        text(&out).contains("FuturesUnordered"),
        "ex08's first hint: {}",
        text(&out)
    );
    let inside = root().join("exercises/ex06_timeouts/src");
    let out = workbook(&inside, &state.0, &["hint", "--level", "1"]);
    assert!(
        out.status.success() && text(&out).contains("with_timeout"),
        "inside the exercise's folder: {}",
        text(&out)
    );
    let out = workbook(&root(), &state.0, &["hint"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("which exercise?") && text(&out).contains("cargo wb hint 06"),
        "outside any exercise, the error says how to name one: {}",
        text(&out)
    );
}

#[test]
fn a_backup_copy_of_an_exercise_folder_is_not_an_exercise() {
    let dir = tiny_workbook("backup");
    let ex = dir.0.join("exercises/ex09_tiny");
    let backup = dir.0.join("exercises/ex09_tiny_backup");
    std::fs::create_dir_all(backup.join("src")).unwrap();
    std::fs::copy(ex.join("Cargo.toml"), backup.join("Cargo.toml")).unwrap();
    let state = Scratch::new("backup_state");
    let out = workbook(&dir.0, &state.0, &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = listed["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["exercise"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ex09_tiny"], "the backup is not listed");
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        !manifest.contains("\"exercises/*\""),
        "the workspace lists its exercises one by one: a backup folder is no member"
    );
}
