//! The learner's side of the CLI: progress that survives reordering, plain-words explanations of
//! the test kit's failures, tiered hints from the chapters, reset with a backup, and watch mode.

use crate::exercises::Exercise;
use crate::grade::{self, Graded, Outcome};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// ------------------------------------------------------------------------------------------------
// Checking one exercise
// ------------------------------------------------------------------------------------------------

/// The kinds of failure a learner sees, each explained in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    NotImplemented,
    Failed,
    WaitedForever,
    Blocked,
    Leaked,
}

impl Kind {
    /// Which kind a test's failure output is, from the test kit's wording.
    pub fn of(message: &str) -> Self {
        // The last panic in the output is the verdict; earlier ones show where it happened.
        let verdict = message.rsplit("panicked at").next().unwrap_or(message);
        if verdict.contains("not implemented yet") {
            Kind::NotImplemented
        } else if verdict.contains("blocked the executor") || verdict.contains("never yielded") {
            Kind::Blocked
        } else if verdict.contains("waited forever") || verdict.contains("made no progress") {
            Kind::WaitedForever
        } else if verdict.contains("leaked") && verdict.contains("task(s)") {
            Kind::Leaked
        } else {
            Kind::Failed
        }
    }

    pub fn heading(self) -> &'static str {
        match self {
            Kind::NotImplemented => {
                "not implemented yet — these tests reach a todo!() you have not replaced"
            }
            Kind::Failed => "failed — the result or its timing is not what the spec says",
            Kind::WaitedForever => {
                "waited forever — something awaited never completed (a value never sent, a lock never \
                 released, a wait measured with std::time::Instant, an endless loop of waits)"
            }
            Kind::Blocked => {
                "blocked the executor — code held the thread without yielding: std::thread::sleep, a \
                 busy loop, a blocking call. Use tokio::time::sleep, .await, spawn_blocking"
            }
            Kind::Leaked => {
                "leaked tasks — tasks you spawned were still running when your function returned"
            }
        }
    }
}

/// One exercise's check: which tests passed, which failed how.
#[derive(Debug, Clone)]
pub struct Check {
    pub exercise: String,
    pub compile_errors: Option<String>,
    pub passed: Vec<String>,
    pub failed: BTreeMap<Kind, Vec<(String, String)>>,
}

impl Check {
    pub fn total(&self) -> usize {
        self.passed.len() + self.failed.values().map(Vec::len).sum::<usize>()
    }

    pub fn done(&self) -> bool {
        self.compile_errors.is_none() && self.failed.is_empty() && !self.passed.is_empty()
    }

    /// The first failing test (most actionable kind first), for hints.
    pub fn first_failure(&self) -> Option<(&str, &str)> {
        let order = [
            Kind::Failed,
            Kind::Blocked,
            Kind::WaitedForever,
            Kind::Leaked,
            Kind::NotImplemented,
        ];
        order.iter().find_map(|k| {
            self.failed
                .get(k)?
                .first()
                .map(|(n, m)| (n.as_str(), m.as_str()))
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "exercise": self.exercise,
            "compiled": self.compile_errors.is_none(),
            "compile_errors": self.compile_errors,
            "passed": self.passed.len(),
            "total": self.total(),
            "done": self.done(),
            "failures": self.failed.iter().flat_map(|(kind, tests)| tests.iter().map(move |(name, message)| json!({
                "test": name, "kind": format!("{kind:?}"), "message": message,
            }))).collect::<Vec<_>>(),
        })
    }

    /// The scorecard a learner reads.
    pub fn render(&self, colour: bool) -> String {
        let paint = |code: &str, text: &str| {
            if colour {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let mut out = String::new();
        if let Some(errors) = &self.compile_errors {
            out.push_str(errors);
            out.push_str(&format!(
                "\n{} {} does not compile yet: fix the errors above.\n",
                paint("31", "✗"),
                self.exercise
            ));
            return out;
        }
        for (kind, tests) in &self.failed {
            out.push_str(&format!(
                "\n{} {} ({})\n",
                paint("31", "✗"),
                kind.heading(),
                tests.len()
            ));
            for (name, message) in tests {
                out.push_str(&format!("  • {name}\n"));
                if *kind != Kind::NotImplemented {
                    let verdict = message.rsplit("panicked at").next().unwrap_or(message);
                    for line in verdict
                        .lines()
                        .skip(1)
                        .filter(|l| !l.trim().is_empty())
                        .take(14)
                    {
                        out.push_str(&format!("      {line}\n"));
                    }
                } else if let Some(what) =
                    message.lines().find(|l| l.contains("not implemented yet:"))
                {
                    out.push_str(&format!("      {}\n", what.trim()));
                }
            }
        }
        let bar = progress_bar(self.passed.len(), self.total(), 30);
        let status = if self.done() {
            paint("32", "done ✓")
        } else {
            format!("{}/{} tests pass", self.passed.len(), self.total())
        };
        out.push_str(&format!("\n{} {bar} {status}\n", self.exercise));
        out
    }
}

/// Runs the exercise's tests in the learner's own workspace (one cargo call) and sorts the results.
pub fn check(root: &Path, exercise: &Exercise, limit: Duration) -> Result<Check, String> {
    let graded = grade::run_suite(root, &exercise.name, &root.join("target"), limit)?;
    let mut check = Check {
        exercise: exercise.name.clone(),
        compile_errors: None,
        passed: Vec::new(),
        failed: BTreeMap::new(),
    };
    match graded {
        Graded::DidNotCompile(errors) => check.compile_errors = Some(errors),
        Graded::Ran(outcomes) => {
            for (name, outcome) in outcomes {
                match outcome {
                    Outcome::Passed => check.passed.push(name),
                    Outcome::Failed(message) => check
                        .failed
                        .entry(Kind::of(&message))
                        .or_default()
                        .push((name, message)),
                }
            }
        }
    }
    Ok(check)
}

pub fn progress_bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width).checked_div(total).unwrap_or(0);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

// ------------------------------------------------------------------------------------------------
// Progress
// ------------------------------------------------------------------------------------------------

/// What the workbook remembers per exercise, keyed by the exercise's package name (a stable id:
/// reordering or renumbering chapters does not lose it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    pub passed: usize,
    pub total: usize,
    pub hints_shown: usize,
    /// The first failing test of the last check and the gist of its message, for `hint`.
    pub first_failure: Option<String>,
}

/// Where the workbook keeps its state: `.workbook/` at the root (ignored by git), or
/// `$WORKBOOK_STATE_DIR`.
pub fn state_dir(root: &Path) -> PathBuf {
    std::env::var_os("WORKBOOK_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".workbook"))
}

/// The progress file, `.workbook/progress.json` at the workbook root (ignored by git).
pub struct Progress {
    path: PathBuf,
    pub records: BTreeMap<String, Record>,
    /// Set when the file existed but could not be read; it was moved aside.
    pub warning: Option<String>,
}

impl Progress {
    pub fn load(root: &Path) -> Self {
        let path = state_dir(root).join("progress.json");
        let mut progress = Self {
            path: path.clone(),
            records: BTreeMap::new(),
            warning: None,
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return progress;
        };
        match parse_progress(&text) {
            Some(records) => progress.records = records,
            None => {
                // Never panic on a damaged file: keep it for inspection and start afresh. Nothing
                // is lost that the next check would not recompute.
                let aside = path.with_extension("json.damaged");
                let _ = std::fs::rename(&path, &aside);
                progress.warning = Some(format!(
                    "the progress file was unreadable; it was moved to {} and progress will be rebuilt from your next checks",
                    aside.display()
                ));
            }
        }
        progress
    }

    pub fn get(&self, exercise: &str) -> Record {
        self.records.get(exercise).cloned().unwrap_or_default()
    }

    pub fn record_check(&mut self, check: &Check) {
        let r = self.records.entry(check.exercise.clone()).or_default();
        r.passed = check.passed.len();
        r.total = check.total();
        r.first_failure = check.first_failure().map(|(test, message)| {
            let verdict = message.rsplit("panicked at").next().unwrap_or(message);
            let gist = verdict
                .lines()
                .skip(1)
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            format!("{test} — {gist}")
        });
    }

    pub fn save(&self) -> Result<(), String> {
        let value = json!({
            "version": 1,
            "exercises": self.records.iter().map(|(k, r)| (k.clone(), json!({
                "passed": r.passed, "total": r.total, "hints_shown": r.hints_shown,
                "first_failure": r.first_failure,
            }))).collect::<serde_json::Map<_, _>>(),
        });
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        // Written whole to a temporary file, then renamed: a crash never leaves half a file.
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_string_pretty(&value).unwrap_or_default(),
        )
        .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &self.path).map_err(|e| e.to_string())
    }
}

fn parse_progress(text: &str) -> Option<BTreeMap<String, Record>> {
    let value: Value = serde_json::from_str(text).ok()?;
    let exercises = value.get("exercises")?.as_object()?;
    let mut records = BTreeMap::new();
    for (name, r) in exercises {
        let n = |key: &str| r.get(key).and_then(Value::as_u64).map(|v| v as usize);
        records.insert(
            name.clone(),
            Record {
                passed: n("passed")?,
                total: n("total")?,
                hints_shown: n("hints_shown").unwrap_or(0),
                first_failure: r
                    .get("first_failure")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
        );
    }
    Some(records)
}

/// An exercise's state for `list`.
pub fn state(record: &Record) -> String {
    match (record.passed, record.total) {
        (_, 0) => "not started".to_owned(),
        (p, t) if p == t => "done".to_owned(),
        (0, _) => "started".to_owned(),
        (p, t) => format!("in progress {p}/{t}"),
    }
}

// ------------------------------------------------------------------------------------------------
// Hints
// ------------------------------------------------------------------------------------------------

/// The chapter of an exercise: `curriculum/src/exNN-slug.md`.
pub fn chapter_path(root: &Path, exercise: &Exercise) -> PathBuf {
    root.join("curriculum")
        .join("src")
        .join(format!("{}.md", exercise.name.replace('_', "-")))
}

/// The `<details><summary>Hint …</summary> … </details>` blocks of a chapter, in order.
pub fn hints(chapter: &str) -> Vec<(String, String)> {
    let mut hints = Vec::new();
    let mut rest = chapter;
    while let Some(start) = rest.find("<summary>") {
        let after = &rest[start + "<summary>".len()..];
        let Some(end) = after.find("</summary>") else {
            break;
        };
        let title = after[..end].trim().to_owned();
        let body_start = &after[end + "</summary>".len()..];
        let body_end = body_start.find("</details>").unwrap_or(body_start.len());
        if title.to_lowercase().starts_with("hint") {
            hints.push((title, body_start[..body_end].trim().to_owned()));
        }
        rest = &body_start[body_end..];
    }
    hints
}

/// The chapter's "Concepts:" line, if it has one.
pub fn concepts_line(chapter: &str) -> Option<String> {
    chapter
        .lines()
        .find(|l| l.trim_start().starts_with("Concepts:"))
        .map(|l| l.trim().to_owned())
}

// ------------------------------------------------------------------------------------------------
// Reset
// ------------------------------------------------------------------------------------------------

/// The original stub files of an exercise, from the commit that added the exercise (the first
/// commit touching its `src/`), as `(path relative to the root, contents)`.
pub fn original_stub(root: &Path, exercise: &Exercise) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    let src = format!("exercises/{}/src", exercise.name);
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .map_err(|e| format!("git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    };
    let commits = String::from_utf8_lossy(&git(&["log", "--format=%H", "--", &src])?).into_owned();
    let first = commits
        .lines()
        .last()
        .ok_or_else(|| {
            format!("git has no history of {src}: cannot tell what the original stub was")
        })?
        .to_owned();
    let listing =
        String::from_utf8_lossy(&git(&["ls-tree", "-r", "--name-only", &first, "--", &src])?)
            .into_owned();
    listing
        .lines()
        .map(|path| {
            Ok((
                PathBuf::from(path),
                git(&["show", &format!("{first}:{path}")])?,
            ))
        })
        .collect()
}

/// Copies the exercise's current `src/` to `.workbook/backups/<exercise>-<unix time>/` and returns
/// where.
pub fn backup(root: &Path, exercise: &Exercise) -> Result<PathBuf, String> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dest = state_dir(root)
        .join("backups")
        .join(format!("{}-{stamp}", exercise.name));
    grade::copy_dir(&exercise.stub_dir().join("src"), &dest)
        .map_err(|e| format!("backup failed, nothing was changed: {e}"))?;
    Ok(dest)
}

/// Replaces the exercise's `src/` with the original stub.
pub fn restore(
    root: &Path,
    exercise: &Exercise,
    files: &[(PathBuf, Vec<u8>)],
) -> Result<(), String> {
    let src = exercise.stub_dir().join("src");
    std::fs::remove_dir_all(&src).map_err(|e| e.to_string())?;
    for (path, bytes) in files {
        let to = root.join(path);
        std::fs::create_dir_all(to.parent().unwrap_or(root)).map_err(|e| e.to_string())?;
        std::fs::write(&to, bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Watch
// ------------------------------------------------------------------------------------------------

/// Blocks until a `.rs` file under `dir` changes, then until `quiet` passes with no further change
/// (debounce: one check per save, even when an editor writes several times). File events come from
/// the OS; if they cannot be set up, or arrive not at all, modification times are polled.
pub fn wait_for_change(dir: &Path, quiet: Duration) -> Result<(), String> {
    use notify::{RecursiveMode, Watcher};
    let before = snapshot(dir);
    let (tx, rx) = std::sync::mpsc::channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.send(());
        }
    });
    let _watcher = watcher.ok().and_then(|mut w| {
        w.watch(dir, RecursiveMode::Recursive).ok()?;
        Some(w)
    });
    // Events or not, the snapshot decides: it also catches what the events missed.
    loop {
        let _ = rx.recv_timeout(Duration::from_millis(500));
        if snapshot(dir) != before {
            break;
        }
    }
    loop {
        let seen = snapshot(dir);
        std::thread::sleep(quiet);
        while rx.try_recv().is_ok() {}
        if snapshot(dir) == seen {
            return Ok(());
        }
    }
}

/// Modification times and sizes of the `.rs` files under `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (SystemTime, u64)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && let Ok(meta) = entry.metadata()
            {
                files.insert(path, (meta.modified().unwrap_or(UNIX_EPOCH), meta.len()));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_sorted_by_the_kits_wording() {
        let todo = "thread 'x' panicked at src/a.rs:1:1:\nnot yet implemented: y\n\nthread 'x' panicked at t.rs:2:2:\nnot implemented yet: y";
        assert_eq!(Kind::of(todo), Kind::NotImplemented);
        assert_eq!(
            Kind::of("panicked at a:\nblocked the executor for 300ms"),
            Kind::Blocked
        );
        assert_eq!(
            Kind::of("panicked at a:\nwaited forever: the test"),
            Kind::WaitedForever
        );
        assert_eq!(
            Kind::of("panicked at a:\nleaked 2 task(s): still"),
            Kind::Leaked
        );
        assert_eq!(
            Kind::of("panicked at a:\nassertion `left == right` failed"),
            Kind::Failed
        );
    }

    #[test]
    fn hints_are_read_from_the_chapter_in_order() {
        let chapter = "# X\nConcepts: [a](a.md)\n<details><summary>Hint 1 — concepts</summary>\n\nThink.\n</details>\n\n\
                       <details>\n<summary>Hint 2 — approach</summary>\n\nPlan.\n\n</details>\n<details><summary>Going further</summary>no</details>";
        assert_eq!(
            hints(chapter),
            vec![
                ("Hint 1 — concepts".into(), "Think.".into()),
                ("Hint 2 — approach".into(), "Plan.".into())
            ]
        );
        assert_eq!(
            concepts_line(chapter).as_deref(),
            Some("Concepts: [a](a.md)")
        );
    }

    #[test]
    fn a_damaged_progress_file_is_moved_aside_not_fatal() {
        let root = std::env::temp_dir().join(format!("wb-progress-{}", std::process::id()));
        std::fs::create_dir_all(root.join(".workbook")).unwrap();
        std::fs::write(root.join(".workbook/progress.json"), "{ not json").unwrap();
        let mut p = Progress::load(&root);
        assert!(p.warning.is_some() && p.records.is_empty());
        assert!(root.join(".workbook/progress.json.damaged").exists());
        p.records.insert(
            "ex06_timeouts".into(),
            Record {
                passed: 3,
                total: 38,
                hints_shown: 1,
                first_failure: Some("retry — attempt 3 started at t=400ms".into()),
            },
        );
        p.save().unwrap();
        assert_eq!(
            Progress::load(&root).get("ex06_timeouts"),
            Record {
                passed: 3,
                total: 38,
                hints_shown: 1,
                first_failure: Some("retry — attempt 3 started at t=400ms".into()),
            }
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn states_read_naturally() {
        assert_eq!(state(&Record::default()), "not started");
        assert_eq!(
            state(&Record {
                passed: 0,
                total: 5,
                hints_shown: 0,
                ..Default::default()
            }),
            "started"
        );
        assert_eq!(
            state(&Record {
                passed: 2,
                total: 5,
                hints_shown: 0,
                ..Default::default()
            }),
            "in progress 2/5"
        );
        assert_eq!(
            state(&Record {
                passed: 5,
                total: 5,
                hints_shown: 0,
                ..Default::default()
            }),
            "done"
        );
        assert_eq!(progress_bar(1, 4, 8), "[##------]");
        assert_eq!(progress_bar(0, 0, 4), "[----]");
    }
}
