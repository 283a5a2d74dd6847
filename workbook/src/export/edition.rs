//! What makes the student edition a product of its own, not the instructor's repository minus
//! some folders: the learner's README, a workspace whose `cargo test` runs the exercises' tests,
//! chapters that name no hidden test, a CI workflow for the learner's repository, a check that no
//! reference code and no hidden test's name got in, and a first commit.

use crate::exercises::Exercise;
use crate::grader::expected_tests;
use crate::manifest::Manifest;
use std::path::Path;
use std::process::Command;

/// Paths of the instructor's repository that are for maintainers only: the load benchmark (it
/// holds most of ex04's solution), the design notes, the measurements, and the student edition's
/// own templates.
pub const MAINTAINER_ONLY: &[&str] = &["bench/", "ARCHITECTURE.md", "BENCHMARKS.md", "student/"];

/// The folders the root `.gitignore` names by an anchored path (`/target`, `/curriculum/book`,
/// `/.workbook`), as `curriculum/book/`: local build output and state, never part of an edition
/// (git does not list them; a walk of the tree without git would).
pub(super) fn ignored_dirs(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join(".gitignore")).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.trim().strip_prefix('/'))
        .filter(|path| !path.is_empty() && !path.contains(['*', '?', '[', '!']))
        .map(|path| format!("{}/", path.trim_end_matches('/')))
        .collect()
}

/// The student edition's README, with `<!-- exercises -->` where the table of exercises goes.
pub const README_TEMPLATE: &str = "student/README.md";

/// The workflow the learner's repository runs (the visible tests), and where it goes. One file
/// for both uses: it is the GitHub Classroom template that `grading/` documents and CI lints.
const WORKFLOW: (&str, &str) = (
    "grading/github-classroom.yml",
    ".github/workflows/visible-tests.yml",
);

/// The last steps of the export, once every file is in `dest`. Returns notes for the user.
pub(super) fn finish(
    root: &Path,
    dest: &Path,
    exercises: &[Exercise],
    manifest: &Manifest,
) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    write_readme(root, dest, exercises)?;
    copy(root, dest, WORKFLOW.0, WORKFLOW.1)?;
    exercises_by_default(dest, exercises)?;
    settle_lock(dest)?;
    let hidden = hidden_tests(exercises, manifest);
    let unnamed = unname_hidden_tests(dest, &hidden)?;
    if unnamed > 0 {
        notes.push(format!(
            "chapters: {unnamed} mention(s) of hidden tests replaced by \"a hidden test\""
        ));
    }
    let leaks = super::find_leaks(root, dest, &hidden)?;
    if !leaks.is_empty() {
        return Err(format!(
            "the student edition in {} would give away what it must not:\n  {}",
            dest.display(),
            leaks.join("\n  ")
        ));
    }
    notes.push(format!(
        "checked: no reference code (blocks of {}+ characters) and none of the {} hidden tests' names in any file",
        super::leaks::MIN_BLOCK,
        hidden.len()
    ));
    notes.push(first_commit(dest));
    Ok(notes)
}

fn copy(root: &Path, dest: &Path, from: &str, to: &str) -> Result<(), String> {
    let to = dest.join(to);
    std::fs::create_dir_all(to.parent().unwrap_or(dest)).map_err(|e| e.to_string())?;
    std::fs::copy(root.join(from), &to).map_err(|e| format!("{from}: {e}"))?;
    Ok(())
}

/// The README from the template, with a table of the exercises: number, chapter, code.
fn write_readme(root: &Path, dest: &Path, exercises: &[Exercise]) -> Result<(), String> {
    let template = std::fs::read_to_string(root.join(README_TEMPLATE))
        .map_err(|e| format!("{README_TEMPLATE}: {e}"))?;
    let summary =
        std::fs::read_to_string(root.join("curriculum/src/SUMMARY.md")).unwrap_or_default();
    let mut table = String::from("| | chapter | your code |\n|---|---|---|\n");
    for ex in exercises {
        let number = ex.name.get(2..4).unwrap_or("");
        let chapter = chapter_link(&summary, number).map_or_else(
            || ex.name.clone(),
            |(title, file)| format!("[{title}](curriculum/src/{file})"),
        );
        table.push_str(&format!(
            "| {number} | {chapter} | [`exercises/{0}/`](exercises/{0}/src/) |\n",
            ex.name
        ));
    }
    let readme = template.replace("<!-- exercises -->", table.trim_end());
    std::fs::write(dest.join("README.md"), readme).map_err(|e| e.to_string())
}

/// The title and file of exercise `number`'s chapter, from `SUMMARY.md`'s line
/// `- [Exercise 06 — timeouts and cancellation](ex06-timeouts.md)`.
fn chapter_link(summary: &str, number: &str) -> Option<(String, String)> {
    summary.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("- [")?;
        let (title, rest) = rest.split_once("](")?;
        let file = rest.strip_suffix(')')?;
        file.starts_with(&format!("ex{number}-")).then(|| {
            let title = title
                .strip_prefix(&format!("Exercise {number} — "))
                .unwrap_or(title);
            (title.to_string(), file.to_string())
        })
    })
}

/// Makes the exercises the workspace's default members: `cargo test` at the root then runs every
/// exercise's tests. (Cargo stops at the first crate that does not compile; the README sends the
/// learner to `cargo wb check` for the others while one is half-written.)
fn exercises_by_default(dest: &Path, exercises: &[Exercise]) -> Result<(), String> {
    let path = dest.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let mut manifest: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let workspace = manifest
        .get_mut("workspace")
        .and_then(|w| w.as_table_mut())
        .ok_or("Cargo.toml: no [workspace]")?;
    let stubs = exercises
        .iter()
        .map(|ex| toml::Value::String(format!("exercises/{}", ex.name)))
        .collect();
    workspace.insert("default-members".into(), toml::Value::Array(stubs));
    let body = toml::to_string(&manifest).map_err(|e| e.to_string())?;
    let header = "# The workbook's workspace. `cargo test` here runs the tests of every exercise (the \
                  exercises are the\n# default members); `cargo test -p ex06_timeouts` runs one, \
                  and `cargo wb check 06` prints its\n# scorecard. The test kit, the `cargo wb` \
                  tool and the book's snippets are members too.\n\n";
    std::fs::write(&path, format!("{header}{body}")).map_err(|e| e.to_string())
}

/// Locks the edition's workspace once with cargo: a manifest that does not load fails the export
/// (not the learner's first command), and `Cargo.lock` loses the packages only the instructor's
/// workspace uses, so that `--locked` commands (the learner's CI) work in the edition.
/// `cargo update --workspace` re-locks the members only: every other package keeps the version the
/// instructor's lock pins. Offline first (cargo's index cache has what the instructor's builds
/// used); online if that is not enough.
fn settle_lock(dest: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut failure = String::new();
    for offline in [true, false] {
        let mut update = Command::new(&cargo);
        update
            .args(["update", "--workspace", "--quiet"])
            .current_dir(dest);
        if offline {
            update.arg("--offline");
        }
        match update.output() {
            Ok(out) if out.status.success() => return Ok(()),
            Ok(out) => failure = String::from_utf8_lossy(&out.stderr).trim().to_string(),
            Err(e) => {
                return Err(format!(
                    "cargo cannot run ({e}): it locks the edition's workspace"
                ));
            }
        }
    }
    Err(format!(
        "the student edition's workspace does not lock:\n{failure}"
    ))
}

/// The names of the tests a learner does not see (`tests/grading.toml`; a suite's instructor-only
/// part is hidden there too).
fn hidden_tests(exercises: &[Exercise], manifest: &Manifest) -> Vec<String> {
    exercises
        .iter()
        .flat_map(|ex| {
            expected_tests(ex).into_iter().filter(|test| {
                !manifest
                    .weight(&ex.name, test)
                    .visibility
                    .shown_to_learner()
            })
        })
        .collect()
}

/// In every Markdown file of the edition, `` `<hidden test>` `` becomes *a hidden test*: the
/// chapter still says the behaviour is tested. Returns how many were replaced.
fn unname_hidden_tests(dest: &Path, hidden: &[String]) -> Result<usize, String> {
    let mut replaced = 0;
    for file in super::leaks::edition_files(dest) {
        if file.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let path = dest.join(&file);
        let Ok(mut text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let before = replaced;
        for name in hidden {
            let quoted = format!("`{name}`");
            replaced += text.matches(&quoted).count();
            text = text.replace(&quoted, "*a hidden test*");
        }
        if replaced > before {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    Ok(replaced)
}

/// Makes the edition a git repository with one commit, when git is there. Without git the
/// edition works all the same (`cargo wb reset` uses the shipped stubs); the note says so.
fn first_commit(dest: &Path) -> String {
    // The commit is the workbook's, not whoever ran the export: no identity, signing or hooks of
    // the instructor's configuration are needed or used.
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dest)
            .args([
                "-c",
                "user.name=Week 10 workbook",
                "-c",
                "user.email=workbook@example.invalid",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
                "-c",
                "core.hooksPath=/dev/null",
            ])
            .args(args)
            .output()
    };
    let steps: [&[&str]; 3] = [
        &["init", "-q"],
        &["add", "-A"],
        &["commit", "-q", "-m", "The Week-10 workbook"],
    ];
    for step in steps {
        match git(step) {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return format!(
                    "git {} failed ({}): the edition is complete but not committed",
                    step[0],
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            Err(_) => {
                return "git not found: the edition is complete; `git init && git add -A && git commit` makes it a repository".into();
            }
        }
    }
    "a git repository with one commit (branch main): push it as the learners' template".into()
}
