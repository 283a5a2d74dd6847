//! The student edition (`cargo wb export-student`) as a product of its own: what it holds and
//! what it must not, with git and without, and the check that no reference code gets in.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use workbook::exercises;
use workbook::manifest::Manifest;

fn root() -> PathBuf {
    exercises::find_root(env!("CARGO_MANIFEST_DIR").as_ref()).expect("the workbook root")
}

/// A fresh directory under `target/` for one test, removed first.
fn scratch(label: &str) -> PathBuf {
    let dir = root().join("target/workbook/student-edition").join(label);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().expect("a parent")).expect("the scratch directory");
    dir
}

/// `cargo wb export-student <dest>`, run from the root with `path` as `PATH`.
fn export(dest: &Path, path: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workbook"));
    cmd.arg("export-student").arg(dest).current_dir(root());
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().expect("the workbook CLI runs");
    assert!(
        out.status.success(),
        "export-student failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The tests `tests/grading.toml` hides from learners.
fn hidden_tests() -> Vec<String> {
    let manifest = Manifest::load(&root()).expect("tests/grading.toml loads");
    manifest
        .entries()
        .filter(|(ex, test)| !manifest.weight(ex, test).visibility.shown_to_learner())
        .map(|(_, test)| test.clone())
        .collect()
}

/// What `git -C <dir> <args>` prints.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git_available() -> bool {
    Command::new("git").arg("--version").output().is_ok()
}

#[test]
fn the_edition_is_the_learners_repository_and_nothing_more() {
    let dest = scratch("with-git");
    export(&dest, None);

    for gone in [
        "solutions",
        "tests/wrong",
        "tests/grading.toml",
        "bench",
        "ARCHITECTURE.md",
        "BENCHMARKS.md",
        "student",
        "grading",
        ".ci",
        "workbook/tests",
    ] {
        assert!(
            !dest.join(gone).exists(),
            "{gone} is for instructors or maintainers and must not be in the student edition"
        );
    }

    let readme = read(&dest.join("README.md"));
    let first_block = readme.split("```").nth(1).unwrap_or("");
    assert!(
        first_block.contains("cargo wb ") && first_block.contains("cargo wb watch 00"),
        "the README opens with the learner's two commands, got: {first_block}"
    );
    for command in ["check", "watch", "hint", "reset"] {
        assert!(
            readme.contains(&format!("`cargo wb {command} 06`")),
            "the README shows the loop: `cargo wb {command}` is missing"
        );
    }
    for offline in ["cargo fetch", "cargo vendor", "CARGO_NET_OFFLINE"] {
        assert!(
            readme.contains(offline),
            "the README says how to work offline: {offline} is missing"
        );
    }
    let lower = readme.to_lowercase();
    for word in [
        "solution",
        "grader",
        "grading",
        "maintainer",
        "benchmark",
        "instructor's repository",
    ] {
        assert!(
            !lower.contains(word),
            "the learner's README says nothing about {word}s (it is not the instructor's README)"
        );
    }
    for ex in exercises::all(&root()) {
        assert!(
            readme.contains(&format!("(exercises/{}/src/)", ex.name)),
            "the README's table links to {}'s code",
            ex.name
        );
    }

    let workspace: toml::Table = read(&dest.join("Cargo.toml"))
        .parse()
        .expect("the edition's Cargo.toml parses");
    let defaults: Vec<&str> = workspace["workspace"]["default-members"]
        .as_array()
        .expect("default-members is a list")
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let stubs: Vec<String> = exercises::all(&root())
        .iter()
        .map(|ex| format!("exercises/{}", ex.name))
        .collect();
    assert_eq!(
        defaults, stubs,
        "`cargo test` at the edition's root runs every exercise's tests: the exercises are the default members"
    );

    let relock = Command::new(std::env::var_os("CARGO").expect("cargo test sets CARGO"))
        .args(["update", "--workspace", "--offline", "--locked"])
        .current_dir(&dest)
        .output()
        .expect("cargo runs");
    assert!(
        relock.status.success(),
        "the edition's Cargo.lock fits its manifests (the learner's CI builds --locked): {}",
        String::from_utf8_lossy(&relock.stderr)
    );

    let workflow = read(&dest.join(".github/workflows/visible-tests.yml"));
    assert!(
        workflow.contains("cargo run -q --locked -p workbook -- check"),
        "the learner's repository runs the visible tests in CI"
    );

    for file in walk(&dest) {
        let Ok(text) = std::fs::read_to_string(dest.join(&file)) else {
            continue;
        };
        for test in hidden_tests() {
            assert!(
                !text.contains(&test),
                "{} names the hidden test {test}",
                file.display()
            );
        }
    }
    for chapter in ["ex03-rate-limited-client.md", "ex06-timeouts.md"] {
        assert!(
            read(&dest.join("curriculum/src").join(chapter)).contains("*a hidden test*"),
            "{chapter}'s table of tests still says a hidden test checks the behaviour"
        );
    }
    let problems =
        workbook::export::find_leaks(&root(), &dest, &hidden_tests()).expect("the leak check runs");
    assert!(
        problems.is_empty(),
        "no reference code in the edition: {problems:#?}"
    );

    if git_available() {
        assert_eq!(
            git(&dest, &["log", "--format=%an: %s"]),
            "Week 10 workbook: The Week-10 workbook\n",
            "the edition is a repository with one commit"
        );
        assert_eq!(
            git(&dest, &["status", "--porcelain"]),
            "",
            "the first commit holds every file of the edition"
        );
    }

    let dev_check = Command::new(env!("CARGO_BIN_EXE_workbook"))
        .arg("dev-check")
        .current_dir(&dest)
        .output()
        .expect("the CLI runs in the edition");
    let stderr = String::from_utf8_lossy(&dev_check.stderr);
    assert!(
        !dev_check.status.success()
            && stderr.contains("cargo wb check")
            && dev_check.stdout.is_empty(),
        "dev-check is not offered in the student edition (no maintainer problems to report), got: {stderr}"
    );
}

#[test]
fn without_git_the_edition_is_complete_but_not_a_repository() {
    let dest = scratch("without-git");
    // A PATH with the toolchain (the export locks the edition with cargo) and without git.
    let cargo = PathBuf::from(std::env::var_os("CARGO").expect("cargo test sets CARGO"));
    let toolchain = cargo
        .parent()
        .expect("cargo's folder")
        .to_string_lossy()
        .into_owned();
    assert!(
        !Path::new(&toolchain).join("git").exists(),
        "the toolchain's folder has no git, so this PATH has none"
    );
    let out = export(&dest, Some(&toolchain));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("git not found"),
        "the export says the edition is not a repository: {stdout}"
    );
    assert!(!dest.join(".git").exists(), "no .git without git");
    assert!(
        dest.join("README.md").is_file()
            && dest.join("exercises").is_dir()
            && !dest.join("bench").exists(),
        "the edition is written all the same"
    );
}

#[test]
fn the_leak_check_finds_a_copied_body_and_a_hidden_name() {
    let root = root();
    let dest = scratch("leaky");
    // A learner-facing page with a reference body in it, re-indented, and a hidden test named in
    // prose. (The check compares normalized text: code rewritten from a reference, as the load
    // benchmark's pipeline is, is not found by it — bench/ is left out by name.)
    let reference = read(&root.join("solutions/ex06_timeouts/src/retry.rs"));
    let reindented: String = reference
        .lines()
        .map(|l| format!("  {}\n", l.trim()))
        .collect();
    let notes = dest.join("curriculum/src/notes.md");
    std::fs::create_dir_all(notes.parent().expect("a parent")).expect("the notes' folder");
    let hidden = hidden_tests();
    std::fs::write(
        &notes,
        format!(
            "# Notes\n\nSee {}.\n\n```rust\n{reindented}```\n",
            hidden[0]
        ),
    )
    .expect("notes written");

    let problems = workbook::export::find_leaks(&root, &dest, &hidden).expect("the check runs");
    let said = |what: &str| problems.iter().any(|p| p.contains(what));
    assert!(
        said(
            "curriculum/src/notes.md: holds reference code from solutions/ex06_timeouts/src/retry.rs"
        ),
        "a re-indented reference body is found: {problems:#?}"
    );
    assert!(
        said(&format!("names the hidden test `{}`", hidden[0])),
        "a hidden test's name is found: {problems:#?}"
    );
}

/// Every file under `dir` but `.git`, relative to it.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = rel.join(entry.file_name());
            if path == Path::new(".git") {
                continue;
            }
            if entry.path().is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
