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
    /// The most actionable first: a wrong result says the most, a todo!() the least.
    pub const ACTIONABLE: [Kind; 5] = [
        Kind::Failed,
        Kind::Blocked,
        Kind::WaitedForever,
        Kind::Leaked,
        Kind::NotImplemented,
    ];

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
        Kind::ACTIONABLE.iter().find_map(|k| {
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
}

/// Runs the exercise's tests in the learner's own workspace (one cargo call) and sorts the results.
pub fn check(root: &Path, exercise: &Exercise, limit: Duration) -> Result<Check, String> {
    let target = root.join("target");
    if first_build_needed(&target, exercise) {
        build_with_progress(root, exercise, &target);
    }
    let graded = grade::run_suite(root, &exercise.name, &target, limit)?;
    let mut check = Check {
        exercise: exercise.name.clone(),
        compile_errors: None,
        passed: Vec::new(),
        failed: BTreeMap::new(),
    };
    match graded {
        Graded::DidNotCompile(errors) => check.compile_errors = Some(errors),
        Graded::Ran(outcomes) => {
            // The suite's order (it follows the chapter), not libtest's alphabetical one.
            let order = crate::grader::expected_tests(exercise);
            let rank = |name: &str| order.iter().position(|t| t == name).unwrap_or(order.len());
            let mut outcomes: Vec<(String, Outcome)> = outcomes.into_iter().collect();
            outcomes.sort_by_key(|(name, _)| rank(name));
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

/// Whether this exercise's tests have never been built here (its test binary, `<name>-<hash>`, is
/// not in `target/debug/deps`): the first check of an exercise compiles it, and on a fresh clone
/// the dependencies too.
pub fn first_build_needed(target: &Path, exercise: &Exercise) -> bool {
    let binary = format!("{}-", exercise.name);
    !std::fs::read_dir(target.join("debug").join("deps"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(&binary))
}

/// The first build, in the open: says why it takes a while, then lets cargo draw its progress on
/// stderr (the check itself captures cargo's output, which would leave minutes of silence). The
/// build's outcome is not judged here: a compile error is shown by the check that follows.
fn build_with_progress(root: &Path, exercise: &Exercise, target: &Path) {
    eprintln!(
        "First build of {}'s tests: cargo compiles them and, on a fresh clone, tokio and the other \
         dependencies (a few minutes the first time; about a second after that) …",
        exercise.name
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let _ = std::process::Command::new(cargo)
        .current_dir(root)
        .args(["test", "--no-run", "--package", &exercise.name])
        // The same environment as the check's own build, so that nothing is built twice.
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status();
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
    /// The last check did not compile; `passed`/`total` are from the last one that did.
    pub does_not_compile: bool,
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
    /// Set when the file exists but cannot be read. It is left as it is; every command that reads
    /// it says so, and a save first moves it aside (never overwrites it silently).
    pub damaged: Option<String>,
}

impl Progress {
    pub fn load(root: &Path) -> Self {
        let path = state_dir(root).join("progress.json");
        let mut progress = Self {
            path: path.clone(),
            records: BTreeMap::new(),
            damaged: None,
        };
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => progress.damaged = Some(e.to_string()),
            Ok(text) => match parse_progress(&text) {
                Ok(records) => progress.records = records,
                Err(e) => progress.damaged = Some(e),
            },
        }
        progress
    }

    /// What to tell the learner about a damaged file, if it is.
    pub fn warning(&self) -> Option<String> {
        self.damaged.as_ref().map(|why| {
            format!(
                "the progress file {} cannot be read ({why}), so no progress is shown. It is left \
                 as it is: repair it, or delete it to start afresh (a check moves it aside first, \
                 to {})",
                self.path.display(),
                self.aside().display()
            )
        })
    }

    fn aside(&self) -> PathBuf {
        self.path.with_extension("json.damaged")
    }

    pub fn get(&self, exercise: &str) -> Record {
        self.records.get(exercise).cloned().unwrap_or_default()
    }

    /// Records a check. A check that did not compile keeps the last known score: a compile error
    /// halfway through an edit does not undo the tests that passed before it.
    pub fn record_check(&mut self, check: &Check) {
        let r = self.records.entry(check.exercise.clone()).or_default();
        if check.compile_errors.is_some() {
            r.does_not_compile = true;
            return;
        }
        r.does_not_compile = false;
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

    /// Writes the file whole (temporary file, then rename). A damaged file is first moved aside,
    /// and the returned note says where.
    pub fn save(&mut self) -> Result<Option<String>, String> {
        let value = json!({
            "version": 1,
            "exercises": self.records.iter().map(|(k, r)| (k.clone(), json!({
                "passed": r.passed, "total": r.total, "hints_shown": r.hints_shown,
                "first_failure": r.first_failure, "does_not_compile": r.does_not_compile,
            }))).collect::<serde_json::Map<_, _>>(),
        });
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut note = None;
        if self.damaged.take().is_some() && self.path.exists() {
            std::fs::rename(&self.path, self.aside())
                .map_err(|e| format!("cannot move the damaged progress file aside: {e}"))?;
            note = Some(format!(
                "the damaged progress file was moved to {}; progress starts afresh",
                self.aside().display()
            ));
        }
        // Written whole to a temporary file, then renamed: a crash never leaves half a file.
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_string_pretty(&value).unwrap_or_default(),
        )
        .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &self.path).map_err(|e| e.to_string())?;
        Ok(note)
    }
}

fn parse_progress(text: &str) -> Result<BTreeMap<String, Record>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let exercises = value
        .get("exercises")
        .and_then(Value::as_object)
        .ok_or("no \"exercises\" object")?;
    let mut records = BTreeMap::new();
    for (name, r) in exercises {
        let n = |key: &str| r.get(key).and_then(Value::as_u64).map(|v| v as usize);
        let count = |key: &str| n(key).ok_or(format!("{name}: no number \"{key}\""));
        records.insert(
            name.clone(),
            Record {
                passed: count("passed")?,
                total: count("total")?,
                hints_shown: n("hints_shown").unwrap_or(0),
                first_failure: r
                    .get("first_failure")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                does_not_compile: r
                    .get("does_not_compile")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
        );
    }
    Ok(records)
}

/// An exercise's state for `list`.
pub fn state(record: &Record) -> String {
    if record.does_not_compile {
        return match (record.passed, record.total) {
            (_, 0) => "does not compile".to_owned(),
            (p, t) => format!("does not compile (last {p}/{t})"),
        };
    }
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
// Watch
// ------------------------------------------------------------------------------------------------

/// What watch mode waits for: a saved file, or a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Changed,
    Key(char),
}

/// Single keys from the terminal, read on a thread of their own for the whole of watch mode (one
/// reader, so that no key is swallowed by a reader nobody listens to). Ctrl-C and Esc arrive as
/// `q` (in raw mode Ctrl-C is a key, not a signal), Enter as `r`. `None` when stdin is not a
/// terminal: then there are no keys, and watch mode still re-checks on every save.
pub fn keys() -> Option<std::sync::mpsc::Receiver<char>> {
    use termimad::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return None;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(event) = event::read() {
            let Event::Key(key) = event else { continue };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            let c = match key.code {
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => 'q',
                KeyCode::Char(c) => c.to_ascii_lowercase(),
                KeyCode::Esc => 'q',
                KeyCode::Enter => 'r',
                _ => continue,
            };
            if tx.send(c).is_err() {
                break;
            }
        }
    });
    Some(rx)
}

/// The terminal in raw mode (keys arrive one by one, unechoed) for as long as this lives; restored
/// on drop, a panic included.
pub struct RawMode(bool);

impl RawMode {
    pub fn on(keys: bool) -> Self {
        Self(keys && termimad::crossterm::terminal::enable_raw_mode().is_ok())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = termimad::crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Blocks until a `.rs` file under `dir` changes (then until `quiet` passes with no further
/// change: one check per save, even when an editor writes several times) or a key arrives. File
/// events come from the OS; if they cannot be set up, or arrive not at all, modification times are
/// polled.
pub fn wait_for_input(
    dir: &Path,
    quiet: Duration,
    keys: Option<&std::sync::mpsc::Receiver<char>>,
) -> Input {
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
    let mut polls = 0u32;
    loop {
        if let Some(key) = keys.and_then(|k| k.try_recv().ok()) {
            return Input::Key(key);
        }
        let event = rx.recv_timeout(Duration::from_millis(100)).is_ok();
        polls += 1;
        if (event || polls.is_multiple_of(5)) && snapshot(dir) != before {
            break;
        }
    }
    loop {
        let seen = snapshot(dir);
        std::thread::sleep(quiet);
        while rx.try_recv().is_ok() {}
        if snapshot(dir) == seen {
            return Input::Changed;
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
    fn a_damaged_progress_file_is_reported_kept_and_moved_aside_only_by_a_save() {
        let root = std::env::temp_dir().join(format!("wb-progress-{}", std::process::id()));
        std::fs::create_dir_all(root.join(".workbook")).unwrap();
        std::fs::write(root.join(".workbook/progress.json"), "{ not json").unwrap();
        let mut p = Progress::load(&root);
        let warning = p.warning().expect("a damaged file is reported");
        assert!(
            warning.contains("cannot be read") && warning.contains("not JSON"),
            "{warning}"
        );
        assert!(
            p.records.is_empty(),
            "nothing is made up from a damaged file"
        );
        assert_eq!(
            std::fs::read_to_string(root.join(".workbook/progress.json")).unwrap(),
            "{ not json",
            "reading leaves the file as it is"
        );
        let record = Record {
            passed: 3,
            total: 38,
            hints_shown: 1,
            first_failure: Some("retry — attempt 3 started at t=400ms".into()),
            does_not_compile: false,
        };
        p.records.insert("ex06_timeouts".into(), record.clone());
        let note = p.save().unwrap().expect("the save says it moved the file");
        assert!(note.contains("progress.json.damaged"), "{note}");
        assert_eq!(
            std::fs::read_to_string(root.join(".workbook/progress.json.damaged")).unwrap(),
            "{ not json",
            "the damaged file is kept aside"
        );
        assert_eq!(
            Progress::load(&root).get("ex06_timeouts"),
            record,
            "saved and read back"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_compile_error_keeps_the_last_score() {
        let root = std::env::temp_dir().join(format!("wb-compile-{}", std::process::id()));
        let mut p = Progress::load(&root);
        let mut check = Check {
            exercise: "ex06_timeouts".into(),
            compile_errors: None,
            passed: vec!["a".into(), "b".into(), "c".into()],
            failed: BTreeMap::from([(
                Kind::Failed,
                vec![("d".into(), "panicked at x:\nno".into())],
            )]),
        };
        p.record_check(&check);
        check.compile_errors = Some("error[E0308]".into());
        p.record_check(&check);
        let r = p.get("ex06_timeouts");
        assert_eq!(
            (r.passed, r.total),
            (3, 4),
            "the score of the last check that compiled"
        );
        assert_eq!(
            state(&r),
            "does not compile (last 3/4)",
            "and list says both"
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
