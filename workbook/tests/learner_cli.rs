//! The learner's loop, run as a learner would, in a tiny workbook of its own (two small exercises
//! with no dependencies, so a check builds in a second): reset from the shipped stub with or without
//! git, progress that survives a compile error and a damaged file, the scorecard grouped by the
//! chapter's steps, hints that tell the truth about their tiers, the first build in the open, and
//! watch mode without a terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{Scratch, root};

fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_workbook"));
    c.current_dir(cwd)
        .args(args)
        .env("WORKBOOK_STATE_DIR", cwd.join("state"))
        .env("NO_COLOR", "1")
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null());
    c
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    command(cwd, args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const STUB: &str = "/// The answer.\npub fn answer() -> u32 {\n    todo!(\"the answer\")\n}\n\n\
                    /// Twice the answer.\npub fn twice() -> u32 {\n    todo!(\"twice the answer\")\n}\n";

const SUITE: &str = "use ex01_tiny::*;\n\n#[test]\nfn answer_is_42() {\n    assert_eq!(answer(), 42, \"the answer is 42\");\n}\n\n\
                     #[test]\nfn twice_is_84() {\n    assert_eq!(twice(), 84, \"twice the answer is 84\");\n}\n\n\
                     #[test]\nfn twice_is_even() {\n    assert!(twice() % 2 == 0, \"twice anything is even\");\n}\n";

const CHAPTER: &str = "# Exercise 01 — tiny\n\n<!-- steps: groups.\n     file | what to write | tests\n\
                       lib.rs | answer | answer_*\nlib.rs | twice | twice_*\n-->\n\n## Hints\n\n\
                       <details><summary>Hint 1 — concepts</summary>\n\n- **answer:** it is **forty-two**, see [the guide](concepts/guide.md).\n- **twice:** double it.\n\n</details>\n\n\
                       <details><summary>Hint 2 — code</summary>\n\n```rust,ignore\n// lib.rs\n42\n```\n\n</details>\n";

/// A workbook with two exercises (`ex01_tiny`, `ex02_other`), their suites and chapters.
fn tiny_workbook(name: &str) -> Scratch {
    let dir = Scratch::new(name);
    let root = &dir.0;
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"exercises/ex01_tiny\", \"exercises/ex02_other\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::create_dir_all(root.join("curriculum/src")).unwrap();
    for ex in ["ex01_tiny", "ex02_other"] {
        let dir = root.join("exercises").join(ex);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{ex}\"\nedition = \"2024\"\nautotests = false\n\n[lib]\ndoctest = false\ntest = false\n\n\
                 [[test]]\nname = \"{ex}\"\npath = \"../../tests/{ex}.rs\"\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.join("src/lib.rs"), STUB).unwrap();
        std::fs::write(
            root.join("tests").join(format!("{ex}.rs")),
            SUITE.replace("ex01_tiny", ex),
        )
        .unwrap();
        std::fs::write(
            root.join("curriculum/src")
                .join(format!("{}.md", ex.replace('_', "-"))),
            CHAPTER,
        )
        .unwrap();
    }
    dir
}

fn git(root: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(root)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

fn lib(root: &Path) -> PathBuf {
    root.join("exercises/ex01_tiny/src/lib.rs")
}

fn backups(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root.join("state/backups"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn reset_restores_the_stub_committed_at_head_not_the_first_one() {
    let wb = tiny_workbook("reset-head");
    git(&wb.0, &["init", "-q"]);
    std::fs::write(lib(&wb.0), "pub fn old_stub() {}\n").unwrap();
    git(&wb.0, &["add", "-A"]);
    git(&wb.0, &["commit", "-qm", "first stub"]);
    std::fs::write(lib(&wb.0), STUB).unwrap();
    git(&wb.0, &["commit", "-qam", "the stub, improved"]);
    std::fs::write(lib(&wb.0), "pub fn answer() -> u32 { 42 }\n").unwrap();

    let out = run(&wb.0, &["reset", "01", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(lib(&wb.0)).unwrap(),
        STUB,
        "the stub at HEAD, not the first commit's"
    );
    let said = text(&out);
    assert!(
        said.contains("committed at git's HEAD") && said.contains("your code is in"),
        "reset says where the stub came from and where the work went: {said}"
    );
    let saved = backups(&wb.0);
    assert_eq!(saved.len(), 1, "one backup: {saved:?}");
    assert_eq!(
        std::fs::read_to_string(saved[0].join("lib.rs")).unwrap(),
        "pub fn answer() -> u32 { 42 }\n",
        "the learner's code is in the backup"
    );
}

#[test]
fn reset_in_a_student_edition_uses_the_shipped_stubs_with_or_without_git() {
    let wb = tiny_workbook("reset-student");
    let written = workbook::pristine::write_pristine(&wb.0, &wb.0.join(".stubs")).unwrap();
    assert_eq!(written, 2, "one file per exercise");
    // No git at all.
    std::fs::write(lib(&wb.0), "pub fn answer() -> u32 { 42 }\n").unwrap();
    std::fs::write(wb.0.join("exercises/ex01_tiny/src/extra.rs"), "// mine\n").unwrap();
    let out = run(&wb.0, &["reset", "tiny", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(lib(&wb.0)).unwrap(),
        STUB,
        "the shipped stub"
    );
    assert!(
        !wb.0.join("exercises/ex01_tiny/src/extra.rs").exists(),
        "a file the stub does not have goes (into the backup)"
    );
    assert!(text(&out).contains(".stubs"), "{}", text(&out));

    // The learner's own commits: HEAD is their work, the shipped copy still wins.
    git(&wb.0, &["init", "-q"]);
    std::fs::write(lib(&wb.0), "pub fn answer() -> u32 { 41 }\n").unwrap();
    git(&wb.0, &["add", "-A"]);
    git(&wb.0, &["commit", "-qm", "my work"]);
    std::fs::write(lib(&wb.0), "pub fn answer() -> u32 { 40 }\n").unwrap();
    let out = run(&wb.0, &["reset", "01", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(lib(&wb.0)).unwrap(),
        STUB,
        "not the learner's commit"
    );
    assert_eq!(backups(&wb.0).len(), 2, "two resets, two backups");
}

#[test]
fn reset_without_git_or_shipped_stubs_is_a_clear_error_and_changes_nothing() {
    let wb = tiny_workbook("reset-nothing");
    std::fs::write(lib(&wb.0), "pub fn answer() -> u32 { 42 }\n").unwrap();
    let out = run(&wb.0, &["reset", "01", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cannot tell what the original stub of ex01_tiny was"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(lib(&wb.0)).unwrap(),
        "pub fn answer() -> u32 { 42 }\n",
        "nothing changed"
    );
}

#[test]
fn the_pristine_copy_of_the_workbook_is_every_stub_byte_for_byte() {
    let out = Scratch::new("pristine");
    let written = workbook::pristine::write_pristine(&root(), &out.0).unwrap();
    let mut compared = 0;
    for ex in workbook::exercises::all(&root()) {
        let (files, _) = workbook::grade::read_sources(&ex.stub_dir().join("src")).unwrap();
        for (rel, bytes) in files {
            let copy = out.0.join(&ex.name).join("src").join(&rel);
            assert_eq!(
                std::fs::read(&copy).ok().as_ref(),
                Some(&bytes),
                "{} is copied as it is",
                copy.display()
            );
            compared += 1;
        }
    }
    assert_eq!(written, compared, "every stub file, and nothing else");
    assert!(
        out.0.join("README.md").exists(),
        "a README says what it is for"
    );
}

#[test]
fn the_scorecard_follows_the_chapter_and_a_compile_error_keeps_the_score() {
    let wb = tiny_workbook("scorecard");
    let out = run(&wb.0, &["check", "01"]);
    let said = text(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("First build"),
        "the first build says what is happening: {said}"
    );
    assert!(said.contains("0/3 tests pass"), "{said}");
    assert!(
        said.contains("next: `lib.rs` — `answer` — make `answer_is_42` pass")
            && said.contains("not yet implemented: the answer"),
        "next names the step, the test and its reason: {said}"
    );

    std::fs::write(
        lib(&wb.0),
        "pub fn answer() -> u32 { 42 }\npub fn twice() -> u32 { 86 }\n",
    )
    .unwrap();
    let out = run(&wb.0, &["check", "01"]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("First build"),
        "only the first build is announced: {}",
        text(&out)
    );
    let lines: Vec<&str> = said.lines().collect();
    let answer = lines
        .iter()
        .position(|l| l.starts_with("✓ lib.rs — answer"))
        .expect(&said);
    let twice = lines
        .iter()
        .position(|l| l.starts_with("✗ lib.rs — twice"))
        .expect(&said);
    assert!(answer < twice, "the chapter's order: {said}");
    assert!(
        lines[twice + 1].contains("✗ twice_is_84")
            && lines[twice + 2].trim() == "twice the answer is 84"
            && lines[twice + 3].trim() == "… 1 passing",
        "the open step: failing first with the reason, passing as a count: {said}"
    );
    assert!(
        said.contains("1/2") && said.contains("2/3 tests pass"),
        "{said}"
    );

    std::fs::write(lib(&wb.0), "pub fn answer() -> u32 { 42 \n").unwrap();
    let out = run(&wb.0, &["check", "01"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("your last check that compiled: 2/3 tests pass"),
        "{}",
        text(&out)
    );
    let list = text(&run(&wb.0, &["list"]));
    assert!(list.contains("does not compile (last 2/3)"), "{list}");
    let json: serde_json::Value =
        serde_json::from_slice(&run(&wb.0, &["list", "--json"]).stdout).unwrap();
    assert_eq!(
        json["exercises"][0]["passed"], 2,
        "the score is kept: {json}"
    );
    assert_eq!(json["exercises"][0]["compiles"], false, "{json}");
}

#[test]
fn a_damaged_progress_file_is_reported_by_every_command_and_never_silently_replaced() {
    let wb = tiny_workbook("damaged");
    let state = wb.0.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("progress.json"), "{ half a file").unwrap();
    for args in [&["list"][..], &["list", "--json"], &["hint", "01"]] {
        let out = run(&wb.0, args);
        let said = text(&out);
        assert!(
            said.contains("progress file") && said.contains("cannot be read"),
            "{args:?} says the file is damaged: {said}"
        );
        if args[0] == "list" {
            assert_eq!(
                std::fs::read_to_string(state.join("progress.json")).unwrap(),
                "{ half a file",
                "{args:?} leaves the file as it is"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(state.join("progress.json.damaged")).unwrap(),
        "{ half a file",
        "hint saved its progress only after moving the damaged file aside"
    );
}

#[test]
fn hint_tiers_tell_the_truth_and_are_rendered_for_a_terminal() {
    let wb = tiny_workbook("hints");
    let first = text(&run(&wb.0, &["hint", "01"]));
    assert!(
        first.starts_with("Hint 1 — concepts  (hint 1 of 2)"),
        "{first}"
    );
    assert!(
        !first.contains("**") && first.contains("forty-two"),
        "Markdown is rendered, not shown raw: {first}"
    );
    assert!(
        first.contains("the guide (curriculum/src/concepts/guide.md)"),
        "a link is a path from the root: {first}"
    );
    assert!(
        first.contains("more: `cargo wb hint 01` shows hint 2 of 2"),
        "{first}"
    );
    let second = text(&run(&wb.0, &["hint", "01"]));
    assert!(second.starts_with("Hint 2"), "{second}");
    assert!(!second.contains("```"), "no fences: {second}");
    assert!(
        second.contains("that was the last hint (2 of 2)"),
        "{second}"
    );
    let again = text(&run(&wb.0, &["hint", "01", "--level", "1"]));
    assert!(
        again.starts_with("Hint 1") && again.contains("that was the last hint"),
        "--level shows a hint again and does not pretend the next is new: {again}"
    );
    let after = text(&run(&wb.0, &["hint", "01"]));
    assert!(
        after.starts_with("Hint 2") && after.contains("this is the last one again"),
        "after the last tier, the last again, said so: {after}"
    );
    let out = run(&wb.0, &["hint", "01", "--level", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--level 1 to 2"), "{}", text(&out));
}

#[test]
fn a_hint_is_tied_to_the_step_the_last_check_failed_on() {
    let wb = tiny_workbook("hint-step");
    std::fs::write(
        lib(&wb.0),
        "pub fn answer() -> u32 { 42 }\npub fn twice() -> u32 { todo!() }\n",
    )
    .unwrap();
    let _ = run(&wb.0, &["check", "01"]);
    let said = text(&run(&wb.0, &["hint", "01"]));
    assert!(
        said.contains("For `lib.rs` — `twice`, where your last check first failed"),
        "{said}"
    );
    assert!(
        said.contains("double it") && !said.contains("forty-two"),
        "only twice's part: {said}"
    );
    assert!(said.contains("--all"), "and how to see the rest: {said}");
}

#[test]
fn watch_without_a_terminal_checks_offers_the_next_exercise_and_does_not_crash() {
    let wb = tiny_workbook("watch");
    std::fs::write(
        lib(&wb.0),
        "pub fn answer() -> u32 { 42 }\npub fn twice() -> u32 { 84 }\n",
    )
    .unwrap();
    let log = wb.0.join("watch.log");
    let mut child = command(&wb.0, &["watch", "01"])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut said = String::new();
    while started.elapsed() < Duration::from_secs(120) {
        said = std::fs::read_to_string(&log).unwrap_or_default();
        if said.contains("waiting for a change") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        still_running,
        "watch keeps watching with no terminal: {said}"
    );
    assert!(
        said.contains("ex01_tiny is done. Next: `cargo wb watch 02`"),
        "the next exercise is offered: {said}"
    );
    assert!(
        said.contains("(Ctrl-C to stop)") && !said.contains("keys:"),
        "no keys are promised without a terminal: {said}"
    );
}

#[test]
fn every_visible_test_belongs_to_a_step_of_its_chapter() {
    let root = root();
    let manifest = workbook::manifest::Manifest::load(&root).unwrap();
    for ex in workbook::exercises::all(&root) {
        let chapter = std::fs::read_to_string(workbook::learner::chapter_path(&root, &ex))
            .unwrap_or_default();
        let steps = workbook::scorecard::steps(&chapter);
        if steps.is_empty() {
            continue; // no steps comment: one group, nothing to keep in step
        }
        for test in workbook::grader::expected_tests(&ex) {
            let visible = manifest
                .weight(&ex.name, &test)
                .visibility
                .shown_to_learner();
            assert!(
                !visible || workbook::scorecard::step_of(&steps, &test).is_some(),
                "{}: {test} is in no step of the chapter's <!-- steps: --> comment (it would be \
                 shown under \"other tests\")",
                ex.name
            );
        }
    }
}
