//! Grading a `src/` directory against an exercise's hidden suite.
//!
//! Only the submission's `src/` is taken. Everything else — the manifest, the hidden tests, the test
//! kit, the lock file, the profiles — comes from the instructor's copy of the workbook: the
//! submission is copied into a scratch package under `target/workbook/overlay/`, in a scratch
//! workspace whose manifest is derived from the real one. That workspace has its own target
//! directory, so grading never waits on (or collides with) a `cargo test` running in the real one,
//! and every submission after the first reuses the dependency build.

use crate::exercises::Exercise;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How one hidden test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Failed, with the test's own output (the panic message and any diff).
    Failed(String),
}

/// The result of grading one submission.
#[derive(Debug, Clone)]
pub enum Graded {
    /// Every test that ran, by name.
    Ran(BTreeMap<String, Outcome>),
    /// The submission did not compile; the compiler's messages.
    DidNotCompile(String),
}

/// One submission of an exercise to build: the files of its `src/` ([`read_sources`]), under a
/// label that names its scratch package.
pub struct Variant<'a> {
    pub label: &'a str,
    pub sources: &'a Sources,
}

/// A `src/` directory's files, by path relative to it, with their bytes.
pub type Sources = BTreeMap<PathBuf, Vec<u8>>;

/// Caps on what is taken from one submitted `src/`: a submission is untrusted input.
pub const MAX_FILE: u64 = 1 << 20;
pub const MAX_FILES: usize = 256;
pub const MAX_TOTAL: u64 = 8 << 20;
const MAX_DEPTH: usize = 8;

/// Reads a submitted `src/` directory: regular files and directories only, within the caps.
/// Everything else — symbolic links (to the reference, to `/dev/zero`, dangling), FIFOs, sockets,
/// devices, files over the caps — is left out, and said why (`src/x.rs: a symbolic link …`). A
/// symbolic link is never followed and a FIFO never opened.
pub fn read_sources(src: &Path) -> Result<(Sources, Vec<String>), String> {
    match std::fs::symlink_metadata(src) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err("src is not a directory (a symbolic link?)".into()),
        Err(e) => return Err(format!("src cannot be read: {e}")),
    }
    let mut files = Sources::new();
    let mut refused = Vec::new();
    let mut total = 0u64;
    walk_sources(src, Path::new(""), 0, &mut files, &mut refused, &mut total);
    Ok((files, refused))
}

fn walk_sources(
    dir: &Path,
    relative: &Path,
    depth: usize,
    files: &mut Sources,
    refused: &mut Vec<String>,
    total: &mut u64,
) {
    // A file name is the submission's text: shown, never obeyed (a name can hold escapes).
    let shown = |rel: &Path| printable(&format!("src/{}", rel.display()));
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().collect(),
        Err(e) => {
            refused.push(format!("{}: cannot be listed ({e})", shown(relative)));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let rel = relative.join(entry.file_name());
        // `DirEntry::file_type` does not follow a symbolic link.
        let Ok(kind) = entry.file_type() else {
            refused.push(format!("{}: cannot be read", shown(&rel)));
            continue;
        };
        let why_not = if kind.is_dir() {
            if depth + 1 >= MAX_DEPTH {
                Some(format!("more than {MAX_DEPTH} directories deep"))
            } else {
                walk_sources(&entry.path(), &rel, depth + 1, files, refused, total);
                None
            }
        } else if kind.is_symlink() {
            Some("a symbolic link (only regular files are graded)".to_owned())
        } else if !kind.is_file() {
            Some("not a regular file (a FIFO, a socket or a device)".to_owned())
        } else if files.len() >= MAX_FILES {
            Some(format!("over the limit of {MAX_FILES} files"))
        } else {
            match read_regular(&entry.path()) {
                Err(e) => Some(e),
                Ok(bytes) if *total + bytes.len() as u64 > MAX_TOTAL => {
                    Some(format!("over the limit of {} MiB in all", MAX_TOTAL >> 20))
                }
                Ok(bytes) => {
                    *total += bytes.len() as u64;
                    files.insert(rel.clone(), bytes);
                    None
                }
            }
        };
        if let Some(why) = why_not {
            refused.push(format!("{}: left out — {why}", shown(&rel)));
        }
    }
}

/// A regular file's bytes, up to [`MAX_FILE`]; opened without following a link and without
/// waiting (should it have become a FIFO since it was listed).
pub(crate) fn read_regular(path: &Path) -> Result<Vec<u8>, String> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Read;
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot be opened ({e})"))?;
    let file = std::fs::File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read ({e})"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE {
        return Err(format!("larger than {} KiB", MAX_FILE >> 10));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({e})"))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("larger than {} KiB", MAX_FILE >> 10));
    }
    Ok(bytes)
}

/// How a build of learners' code is confined: the sandbox its rustc runs in, how long one rustc
/// may take, and — when some hidden tests are withheld from learners — the suite of the visible
/// tests alone, built as a binary of its own.
#[derive(Clone, Copy)]
pub struct Confined<'a> {
    pub sandbox: &'a crate::sandbox::Sandbox,
    pub compile: Duration,
    pub visible_suite: Option<&'a str>,
}

/// The test binaries of one variant. The hidden suite's binary contains every test's name and
/// messages; a learner's code runs inside it and could print them. So the tests a learner may see
/// run from a binary of the visible tests alone, when there is one, and what the hidden tests'
/// binary says reaches instructors only.
#[derive(Debug, Clone)]
pub struct Built {
    /// The whole suite, or the compiler's messages when it alone did not compile (they quote the
    /// hidden suite: for instructors only).
    pub suite: Result<PathBuf, String>,
    /// The visible tests' binary, when the build made one.
    pub visible: Option<PathBuf>,
    /// Every file the build wrote for this variant (its library, its test binaries): a class
    /// leaves thousands, so the grader removes them once the tests have run.
    pub artifacts: Vec<PathBuf>,
}

/// Scratch workspaces for grading submissions of the workbook at `root`: one per exercise under
/// `<root>/target/workbook/overlay/`, all building into one shared `target/workbook/target`.
pub struct Overlay {
    root: PathBuf,
    base: PathBuf,
}

impl Overlay {
    /// An overlay whose scratch workspaces and target directory live under `base` instead (the
    /// benchmark uses it to measure a build from nothing).
    pub fn with_base(root: &Path, base: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            base: base.to_path_buf(),
        }
    }

    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            base: root.join("target").join("workbook"),
        }
    }

    /// Builds several variants of one exercise in a single cargo invocation (cargo compiles them in
    /// parallel, and a compile error in one does not stop the others: `--keep-going`). Returns, per
    /// variant and in order, its test binaries, or the compiler's messages when its crate (or the
    /// visible suite against it) did not compile. With `confined`, every rustc that compiles a
    /// variant's code runs in the sandbox ([`crate::rustc_jail`]).
    pub fn build_many(
        &self,
        exercise: &Exercise,
        variants: &[Variant<'_>],
        limit: Duration,
        confined: Option<Confined<'_>>,
    ) -> Result<Vec<Result<Built, String>>, String> {
        let _turn = one_at_a_time();
        let dir = self.base.join("overlay").join(&exercise.name);
        let visible_suite = match confined.and_then(|c| c.visible_suite) {
            Some(text) => {
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                let path = dir.join(format!("{}_visible.rs", exercise.name));
                write_if_changed(&path, text)?;
                Some(path)
            }
            None => None,
        };
        let mut packages: Vec<String> = Vec::new();
        for v in variants {
            // Labels that differ map to packages that differ (`x-coll` and `x_coll`, `José` and
            // `Josè` must never share one).
            let mut package = package_name(exercise, v.label);
            while packages.contains(&package) {
                package.push('_');
            }
            self.prepare(
                exercise,
                &dir,
                &package,
                v.sources,
                visible_suite.as_deref(),
            )?;
            packages.push(package);
        }
        self.write_workspace(&dir, &packages)?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(&dir)
            // `build --tests` (what `test --no-run` does) with `--keep-going`, which only `build`
            // accepts: one submission's compile error must not stop the others from building.
            .args([
                "build",
                "--tests",
                "--keep-going",
                "--color",
                "never",
                "--message-format",
                "json",
            ])
            .env("CARGO_TARGET_DIR", self.base.join("target"))
            .env_remove("RUSTFLAGS");
        for package in &packages {
            command.args(["--package", package]);
        }
        if let Some(confined) = confined {
            let spec = crate::rustc_jail::Spec {
                sandbox: confined.sandbox.to_spec(),
                suites: std::iter::once(exercise.hidden_suite())
                    .chain(visible_suite.clone())
                    .collect(),
                private_crates: crate::exercises::all(&self.root)
                    .into_iter()
                    .map(|e| e.name)
                    .collect(),
                timeout: confined.compile,
            };
            command
                .env("RUSTC_WORKSPACE_WRAPPER", confined.sandbox.rustc_wrapper())
                .env(crate::rustc_jail::SPEC_VAR, spec.to_env());
        }
        let (_status, stdout, stderr) = run_grouped_with_limit(command, limit)?;

        // Every overlay package lives in a directory named after it, and cargo's JSON messages
        // carry the manifest's path.
        let package_of = |msg: &serde_json::Value| -> Option<String> {
            let manifest = Path::new(msg["manifest_path"].as_str()?);
            Some(
                manifest
                    .parent()?
                    .file_name()?
                    .to_string_lossy()
                    .into_owned(),
            )
        };
        // Per package: the test binaries, and the compiler's errors by target — the library,
        // the visible suite, the whole suite.
        let visible_name = format!("{}_visible", exercise.name);
        let mut suites: HashMap<String, PathBuf> = HashMap::new();
        let mut visibles: HashMap<String, PathBuf> = HashMap::new();
        let mut lib_errors: HashMap<String, String> = HashMap::new();
        let mut visible_errors: HashMap<String, String> = HashMap::new();
        let mut suite_errors: HashMap<String, String> = HashMap::new();
        let mut artifacts: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for line in stdout.lines() {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let Some(package) = package_of(&msg) else {
                continue;
            };
            let is_test = msg["target"]["kind"][0] == "test";
            let is_visible = is_test && msg["target"]["name"] == visible_name.as_str();
            if msg["reason"] == "compiler-artifact"
                && let Some(files) = msg["filenames"].as_array()
            {
                let files = files.iter().filter_map(|f| f.as_str()).map(PathBuf::from);
                artifacts.entry(package.clone()).or_default().extend(files);
            }
            if msg["reason"] == "compiler-artifact"
                && is_test
                && let Some(exe) = msg["executable"].as_str()
            {
                let into = if is_visible {
                    &mut visibles
                } else {
                    &mut suites
                };
                into.insert(package, PathBuf::from(exe));
            } else if msg["reason"] == "compiler-message" && msg["message"]["level"] == "error" {
                let rendered = msg["message"]["rendered"].as_str().unwrap_or_default();
                let into = match (is_test, is_visible) {
                    (false, _) => &mut lib_errors,
                    (true, true) => &mut visible_errors,
                    (true, false) => &mut suite_errors,
                };
                into.entry(package).or_default().push_str(rendered);
            }
        }
        let clean = |e: String| printable(e.trim());
        // A variant that failed without a compiler message of its own (cargo itself failed, or
        // the build was stopped): cargo's output concerns the whole batch — other submissions'
        // packages — so it goes to the instructor's terminal, not into a learner's report.
        let mut unexplained = false;
        let mut no_message = || {
            unexplained = true;
            "the build failed without a compiler message for this exercise (the grader's log \
             has cargo's output)"
                .to_owned()
        };
        let built = packages
            .iter()
            .map(|package| {
                if let Some(e) = lib_errors.remove(package) {
                    return Err(clean(e));
                }
                let visible = visibles.remove(package);
                if visible_suite.is_some() && visible.is_none() {
                    return Err(match visible_errors.remove(package) {
                        Some(e) => clean(e),
                        None => no_message(),
                    });
                }
                let suite = match (suites.remove(package), suite_errors.remove(package)) {
                    (Some(exe), _) => Ok(exe),
                    (None, Some(e)) if visible.is_some() => Err(clean(e)),
                    (None, Some(e)) => return Err(clean(e)),
                    (None, None) => return Err(no_message()),
                };
                let artifacts = artifacts.remove(package).unwrap_or_default();
                Ok(Built {
                    suite,
                    visible,
                    artifacts,
                })
            })
            .collect();
        if unexplained {
            eprintln!(
                "cargo's output for {}:\n{}",
                exercise.name,
                compiler_errors(&stderr)
            );
        }
        Ok(built)
    }

    /// Runs a test executable built by [`Overlay::build_many`]: all its tests, in one process.
    pub fn run_all(&self, executable: &Path, limit: Duration) -> Result<Graded, String> {
        let mut command = Command::new(executable);
        command
            .args(["--color", "never"])
            .env("RUST_BACKTRACE", "0")
            .env("NO_COLOR", "1");
        let (_status, stdout, _stderr) = run_with_limit(command, limit)?;
        Ok(Graded::Ran(parse_libtest(&stdout)))
    }

    /// Writes `sources` into the exercise's scratch workspace as `package`. The package is made
    /// in a staging directory and moved into place whole: a failure half-way leaves nothing that
    /// a later build would trip over.
    fn prepare(
        &self,
        exercise: &Exercise,
        dir: &Path,
        package: &str,
        sources: &Sources,
        visible_suite: Option<&Path>,
    ) -> Result<(), String> {
        let staging_root = self.base.join("overlay").join(".staging");
        // Left over from a grader that was stopped half-way.
        if let Ok(entries) = std::fs::read_dir(&staging_root) {
            for entry in entries.flatten() {
                let stale = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(24 * 3600));
                if stale {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let staging = staging_root.join(format!("{package}-{}", crate::sandbox::random_hex(6)));
        let written = (|| -> Result<(), String> {
            let src = staging.join("src");
            std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
            for (path, bytes) in sources {
                let to = src.join(path);
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                std::fs::write(&to, bytes).map_err(|e| format!("{}: {e}", to.display()))?;
            }
            std::fs::write(
                staging.join("Cargo.toml"),
                self.package_manifest(exercise, package, visible_suite)?,
            )
            .map_err(|e| e.to_string())?;
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            let pkg_dir = dir.join(package);
            let old = staging_root.join(format!("{package}-old-{}", crate::sandbox::random_hex(6)));
            if pkg_dir.exists() {
                std::fs::rename(&pkg_dir, &old).map_err(|e| e.to_string())?;
            }
            std::fs::rename(&staging, &pkg_dir).map_err(|e| e.to_string())?;
            let _ = std::fs::remove_dir_all(&old);
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&staging);
        written.map_err(|e| format!("preparing {package}: {e}"))
    }

    /// The instructor's stub manifest, renamed, with the library name pinned to the exercise's and
    /// the hidden suite's path made absolute; and the visible suite as a second test target.
    fn package_manifest(
        &self,
        exercise: &Exercise,
        package: &str,
        visible_suite: Option<&Path>,
    ) -> Result<String, String> {
        let text = read(&exercise.stub_dir().join("Cargo.toml"))?;
        let mut manifest: toml::Table = text.parse().map_err(|e| format!("stub manifest: {e}"))?;
        table(&mut manifest, "package")?.insert("name".into(), package.into());
        let mut lib = toml::Table::new();
        lib.insert("name".into(), exercise.name.clone().into());
        // Grading runs the hidden suite only: a learner's own unit tests and doc examples would
        // be one more test harness to compile per submission, for results nobody reads.
        lib.insert("test".into(), false.into());
        lib.insert("doctest".into(), false.into());
        manifest.insert("lib".into(), lib.into());
        let target = |name: String, path: &Path| -> toml::Value {
            let mut test = toml::Table::new();
            test.insert("name".into(), name.into());
            test.insert("path".into(), path.to_string_lossy().into_owned().into());
            test.into()
        };
        let mut tests = vec![target(exercise.name.clone(), &exercise.hidden_suite())];
        if let Some(visible) = visible_suite {
            tests.push(target(format!("{}_visible", exercise.name), visible));
        }
        manifest.insert("test".into(), toml::Value::Array(tests));
        toml::to_string(&manifest).map_err(|e| e.to_string())
    }

    /// The real workspace manifest with its members replaced by this build's packages (listed by
    /// name: a package left over from another build is no member) and every path dependency made
    /// absolute; plus the real lock file, so versions never drift.
    fn write_workspace(&self, dir: &Path, packages: &[String]) -> Result<(), String> {
        let text = read(&self.root.join("Cargo.toml"))?;
        let mut manifest: toml::Table = text
            .parse()
            .map_err(|e| format!("workspace manifest: {e}"))?;
        let workspace = table(&mut manifest, "workspace")?;
        workspace.insert(
            "members".into(),
            toml::Value::Array(packages.iter().map(|p| p.as_str().into()).collect()),
        );
        workspace.remove("default-members");
        if let Some(toml::Value::Table(deps)) = workspace.get_mut("dependencies") {
            for (_, dep) in deps.iter_mut() {
                if let toml::Value::Table(dep) = dep
                    && let Some(toml::Value::String(path)) = dep.get_mut("path")
                {
                    *path = self.root.join(&*path).to_string_lossy().into_owned();
                }
            }
        }
        // A scratch package is rebuilt only with new sources (a new submission, or the same
        // label graded again), so the incremental cache would be written and hardly ever read:
        // a fresh build without it is about a third faster.
        let profiles = manifest
            .entry("profile")
            .or_insert_with(|| toml::Table::new().into());
        if let toml::Value::Table(profiles) = profiles {
            let dev = profiles
                .entry("dev")
                .or_insert_with(|| toml::Table::new().into());
            if let toml::Value::Table(dev) = dev {
                dev.insert("incremental".into(), false.into());
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let rendered = toml::to_string(&manifest).map_err(|e| e.to_string())?;
        write_if_changed(&dir.join("Cargo.toml"), &rendered)?;
        // The instructor's lock, every time: cargo only adds the overlay's own packages to it.
        let lock = read(&self.root.join("Cargo.lock"))?;
        std::fs::write(dir.join("Cargo.lock"), lock).map_err(|e| e.to_string())
    }
}

/// Runs `cargo test -p <package>` in `workspace` (building into `target_dir`) and reads the result.
pub fn run_suite(
    workspace: &Path,
    package: &str,
    target_dir: &Path,
    limit: Duration,
) -> Result<Graded, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "test",
            "--package",
            package,
            "--no-fail-fast",
            "--color",
            "never",
        ])
        .args(["--", "--color", "never"])
        .env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .env("CARGO_TARGET_DIR", target_dir)
        // Grading never needs the outer build's rustflags or a learner's environment.
        .env_remove("RUSTFLAGS");
    let (status, stdout, stderr) = run_with_limit(command, limit)?;
    let outcomes = parse_libtest(&stdout);
    if outcomes.is_empty() && !status.success() {
        return Ok(Graded::DidNotCompile(stderr));
    }
    Ok(Graded::Ran(outcomes))
}

/// Runs `command` with piped output, killing it after `limit`: a hang must not hang the grader.
pub fn run_with_limit(
    command: Command,
    limit: Duration,
) -> Result<(std::process::ExitStatus, String, String), String> {
    run_limited(command, limit, false)
}

/// [`run_with_limit`] for a build of learners' code: in a process group of its own, killed whole
/// — cargo and every compile it started — when `limit` passes. (Not for a learner's own `check`:
/// Ctrl-C reaches only the terminal's process group.)
fn run_grouped_with_limit(
    mut command: Command,
    limit: Duration,
) -> Result<(std::process::ExitStatus, String, String), String> {
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    run_limited(command, limit, true)
}

fn run_limited(
    mut command: Command,
    limit: Duration,
    grouped: bool,
) -> Result<(std::process::ExitStatus, String, String), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {:?}: {e}", command.get_program()))?;
    // Read both pipes on threads so a chatty child never blocks on a full pipe.
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            if let Some(group) = i32::try_from(child.id())
                .ok()
                .filter(|_| grouped)
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{:?} took longer than {limit:?} and was stopped",
                command.get_program()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok((
        status,
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    ))
}

/// The compiler's own messages from cargo's stderr, without cargo's progress lines.
fn compiler_errors(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("Compiling")
                || t.starts_with("Finished")
                || t.starts_with("Blocking")
                || t.starts_with("Locking")
                || t.starts_with("Updating")
                || t.starts_with("Checking"))
        })
        .collect();
    printable(lines.join("\n").trim())
}

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    // One build at a time per process: an exercise's scratch workspace has one manifest and lock.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads libtest's human output: `test NAME ... ok|FAILED` lines, and each failure's captured
/// output between `---- NAME stdout ----` and the next section.
pub fn parse_libtest(stdout: &str) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, result)) = rest.rsplit_once(" ... ")
        {
            let outcome = match result.trim() {
                "ok" => Outcome::Passed,
                "FAILED" => Outcome::Failed(String::new()),
                _ => continue,
            };
            outcomes.insert(name.trim().to_owned(), outcome);
        }
    }
    let mut current: Option<(String, String)> = None;
    let finish = |current: &mut Option<(String, String)>,
                  outcomes: &mut BTreeMap<String, Outcome>| {
        if let Some((name, text)) = current.take()
            && let Some(Outcome::Failed(message)) = outcomes.get_mut(&name)
        {
            *message = printable(text.trim());
        }
    };
    for line in stdout.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            finish(&mut current, &mut outcomes);
            current = Some((name.to_owned(), String::new()));
        } else if line == "failures:" {
            finish(&mut current, &mut outcomes);
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    finish(&mut current, &mut outcomes);
    outcomes
}

/// Text from a test process or a compiler, made safe to print: terminal colour codes removed
/// (pretty_assertions paints its inline diffs unconditionally), and every other control
/// character — escape sequences that move the cursor or write to the clipboard, carriage
/// returns, the C1 range, bidirectional overrides — shown as a visible escape. A learner's
/// message reaches terminals and reports; it must never be able to rewrite what is around it.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            // CSI: parameters and intermediates, then one final byte in '@'..='~'.
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else if c == '\n' || c == '\t' {
            out.push(c);
        } else if c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn read_in_background(
    pipe: Option<impl std::io::Read + Send + 'static>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// The scratch package a variant of `exercise` is built as: `<exercise>__<label>_<hash>`, the hash
/// of the exact label keeping labels that read alike apart. Compiler messages and panic locations
/// name files through it (`ex06_timeouts__alice_1f2e3d4c/src/race.rs`).
pub fn package_name(exercise: &Exercise, label: &str) -> String {
    use std::hash::Hasher;
    let mut hash = siphasher::sip::SipHasher13::new();
    hash.write(label.as_bytes());
    let mut short: String = sanitize(label).chars().take(40).collect();
    if short.is_empty() {
        short.push('x');
    }
    format!("{}__{short}_{:08x}", exercise.name, hash.finish() as u32)
}

fn sanitize(variant: &str) -> String {
    variant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn table<'a>(manifest: &'a mut toml::Table, key: &str) -> Result<&'a mut toml::Table, String> {
    match manifest.get_mut(key) {
        Some(toml::Value::Table(t)) => Ok(t),
        _ => Err(format!("the manifest has no [{key}] table")),
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// Rewriting an identical manifest would still bump its mtime and make cargo re-check everything.
fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Copies the directory tree `from` to `to` (created if missing).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_output_is_read_test_by_test() {
        let out = "\nrunning 3 tests\ntest a ... ok\ntest b_c ... FAILED\ntest d ... FAILED\n\nfailures:\n\n\
                   ---- b_c stdout ----\n\nthread 'b_c' panicked at x.rs:1:1:\nnot implemented yet: b\n\n\
                   ---- d stdout ----\nboom\n\nfailures:\n    b_c\n    d\n\ntest result: FAILED.\n";
        let parsed = parse_libtest(out);
        assert_eq!(parsed["a"], Outcome::Passed);
        assert_eq!(
            parsed["b_c"],
            Outcome::Failed("thread 'b_c' panicked at x.rs:1:1:\nnot implemented yet: b".into())
        );
        assert_eq!(parsed["d"], Outcome::Failed("boom".into()));
    }

    #[test]
    fn colour_codes_are_stripped() {
        assert_eq!(
            printable("\u{1b}[31m<   \u{1b}[1;48;5;52;31m3\u{1b}[0m00ms"),
            "<   300ms"
        );
    }

    #[test]
    fn other_control_characters_are_shown_not_obeyed() {
        assert_eq!(
            printable("a\u{1b}Mb\rc\u{9b}2Jd\u{1b}]52;c;eA==\u{7}e\u{202e}f\0\tg\nh"),
            "a\\u{1b}Mb\\u{d}c\\u{9b}2Jd\\u{1b}]52;c;eA==\\u{7}e\\u{202e}f\\u{0}\tg\nh"
        );
    }
}
