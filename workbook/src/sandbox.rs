//! The grader's sandbox: every process that handles a learner's code — the compile of the learner's
//! crate and of the hidden suite against it, and every hidden-test process — runs where it can see
//! nothing but what it needs.
//!
//! A submission is hostile until proven otherwise. Rules about its source text cannot contain it
//! (paths can be built with `concat!`, and safe Rust has soundness bugs that reach arbitrary
//! memory), so the grader contains it by isolation instead:
//!
//! * **bubblewrap** (`bwrap`), when it can create namespaces: a mount namespace that shows the
//!   process only the files listed in its [`Jail`] (read-only unless listed as writable) on an
//!   empty root, a private `/tmp`, no `/proc`; a PID namespace, so nothing it starts survives it;
//!   a network namespace with only loopback; no capabilities; an environment built from an
//!   allowlist. Hidden tests run as an unprivileged user when the grader is root, so the
//!   process-count limit applies.
//! * **Landlock**, where bubblewrap cannot create namespaces (some containers): the kernel still
//!   lets an unprivileged process restrict its own file access (and, from ABI 4, TCP ports). What
//!   that leaves open — no PID or network namespace, the host's file tree still *listed* — is
//!   reported as missing.
//! * **off**, for trusted local use (`--sandbox off`), or when neither works: every report says so.
//!
//! In every mode the process gets resource limits (address space, CPU time, file size, open files,
//! processes) and, for hidden tests, the verdict channel on fixed file descriptors
//! ([`testkit::verdict`]). Both are applied by this program itself, re-executed as a small helper
//! (`workbook __sandbox-exec <spec> -- <program> …`) that sets them up and then `exec`s the
//! program — or `bwrap`, which passes them on.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;

/// The helper's first argument: `workbook __sandbox-exec <spec> -- <program> <args>…`.
pub const EXEC: &str = "__sandbox-exec";
/// The probe run inside a candidate sandbox to see that it works.
const PROBE: &str = "__sandbox-probe";
/// When the grader is root, each hidden-test process runs as a user of its own, numbered from
/// here (a range no distribution hands out): the process-count limit then applies to it alone, and
/// two tests running at once cannot signal each other.
const SANDBOX_UID_BASE: u32 = 0x3f00_0000;
/// How many such users are used in turn.
const SANDBOX_UIDS: u32 = 1 << 16;
/// Exit code of the helper when it could not set the sandbox up (as `env` and `nohup` use 125).
pub const SETUP_FAILED: u8 = 125;

/// Which sandbox the grader uses (`--sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// bubblewrap if it works here, else Landlock, else none — and every report says which.
    Auto,
    /// bubblewrap or fail.
    Bubblewrap,
    /// Landlock only (what is left where namespaces are not allowed); for testing the fallback.
    Landlock,
    /// No isolation: only for trusted code on your own machine.
    Off,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Mode::Auto),
            "bwrap" | "bubblewrap" => Ok(Mode::Bubblewrap),
            "landlock" => Ok(Mode::Landlock),
            "off" | "none" => Ok(Mode::Off),
            other => Err(format!(
                "unknown sandbox {other:?}: use auto, bwrap, landlock or off"
            )),
        }
    }
}

/// Resource limits of one sandboxed process (`setrlimit`; inherited by everything it starts).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rlimits {
    /// Address space, in bytes: unbounded memory growth ends in an allocation failure.
    pub address_space: Option<u64>,
    /// CPU seconds (all threads): a busy loop that escapes the wall-clock watch still ends.
    pub cpu_seconds: Option<u64>,
    /// Largest file it may write, in bytes.
    pub file_size: Option<u64>,
    /// Processes and threads of its user (effective when it runs unprivileged).
    pub processes: Option<u64>,
    /// Open file descriptors.
    pub open_files: Option<u64>,
}

/// What one sandboxed process may see and do. Paths appear inside at the same place as outside.
#[derive(Debug, Clone, Default)]
pub struct Jail {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Files and directories it may read (and execute).
    pub read: Vec<PathBuf>,
    /// Directories whose own listing is shown empty except for what `read` and `write` put into
    /// them (the shared dependency directory: its files one by one, never the whole of it).
    pub masked: Vec<PathBuf>,
    /// Directories it may write.
    pub write: Vec<PathBuf>,
    /// Where it starts.
    pub cwd: PathBuf,
    /// Its whole environment.
    pub env: Vec<(OsString, OsString)>,
    pub limits: Rlimits,
    /// Run as the unprivileged sandbox user when the grader is root (hidden tests). The compile
    /// runs as the grader's user: the toolchain often lives in a directory only it can read.
    pub unprivileged: bool,
    /// Hand the verdict channel over: the helper's stdin holds the key, its stderr is the verdict
    /// pipe; the program gets them as file descriptors 3 and 4, and stdin from `/dev/null`,
    /// stderr joined to stdout.
    pub channel: bool,
    /// Bytes of the private `/tmp` (bubblewrap) — with Landlock, a private directory instead.
    pub tmp_size: u64,
    /// Mount a `/proc` of the jail's own PID namespace (bubblewrap only): the toolchain needs it
    /// (`$ORIGIN` in rustc's library path, the linker wrapper's `current_exe`). Never for a
    /// process that runs learner code: `/proc/self/mem` would give it its own memory.
    pub proc: bool,
}

/// One sandboxed command, ready to spawn. Keep it until the process has ended: with Landlock,
/// it owns the process's private temporary directory.
pub struct Prepared {
    pub command: Command,
    /// The user it runs as, when it has one of its own.
    user: Option<u32>,
    _tmp: Option<ScratchDir>,
}

/// What protected a grading run, for every report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `bubblewrap`, `landlock` or `off`.
    pub backend: String,
    /// Protections that were not in place, each with the reason.
    pub missing: Vec<String>,
}

impl Status {
    /// One line: `sandbox: bubblewrap (all protections)` or `sandbox: landlock — MISSING: …`.
    pub fn summary(&self) -> String {
        if self.missing.is_empty() {
            format!("sandbox: {} (all protections in place)", self.backend)
        } else {
            format!(
                "sandbox: {} — MISSING: {}",
                self.backend,
                self.missing.join("; ")
            )
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    Bubblewrap(PathBuf),
    Landlock,
    Off,
}

/// The sandbox of one grading run.
pub struct Sandbox {
    backend: Backend,
    /// Run each unprivileged jail as a user of its own (the grader is root).
    user: Option<u32>,
    next_user: std::sync::atomic::AtomicU32,
    /// This program, copied where the sandbox user can execute it.
    helper: PathBuf,
    /// This program where it is: the compile wrapper cargo runs (a path that stays the same from
    /// one grading run to the next, so cargo's fingerprints do too).
    wrapper: PathBuf,
    /// Shared libraries a Rust test binary needs at run time, and the few tools suites use.
    runtime: Vec<PathBuf>,
    missing: Vec<String>,
    /// World-traversable, not listable: staged executables and per-process directories.
    scratch: PathBuf,
    /// Removes `scratch` when the grading run is over (`None` in the compile wrapper, which
    /// borrows the grader's).
    _owned: Option<ScratchDir>,
    staged: Mutex<HashMap<PathBuf, PathBuf>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sandbox({})", self.status().summary())
    }
}

impl Sandbox {
    /// Sets up the sandbox `mode` asks for; `helper` is this program's executable (the CLI's own,
    /// or `CARGO_BIN_EXE_workbook` in tests). `Auto` never fails: it falls back, and says so.
    pub fn new(mode: Mode, helper: &Path) -> Result<Sandbox, String> {
        refuse_inherited_channel_fds()?;
        let scratch = ScratchDir::new("workbook-sandbox", 0o711)
            .map_err(|e| format!("cannot create the sandbox's directory: {e}"))?;
        let staged_helper = scratch.path.join("workbook-helper");
        let scratch_path = scratch.path.clone();
        copy_executable(helper, &staged_helper, 0o755)
            .map_err(|e| format!("cannot stage {}: {e}", helper.display()))?;
        let root = rustix::process::geteuid().is_root();
        let mut sandbox = Sandbox {
            backend: Backend::Off,
            user: None,
            next_user: std::sync::atomic::AtomicU32::new(0),
            helper: staged_helper,
            wrapper: helper.to_path_buf(),
            runtime: runtime_files(helper),
            missing: Vec::new(),
            scratch: scratch_path,
            _owned: Some(scratch),
            staged: Mutex::new(HashMap::new()),
        };
        if mode == Mode::Off {
            sandbox.missing = vec!["every isolation (the sandbox is off: --sandbox off)".into()];
            return Ok(sandbox);
        }
        let mut why_not = Vec::new();
        if matches!(mode, Mode::Auto | Mode::Bubblewrap) {
            match find_in_path("bwrap") {
                None => why_not
                    .push("bubblewrap is not installed (apt-get install bubblewrap)".to_owned()),
                Some(bwrap) => {
                    sandbox.backend = Backend::Bubblewrap(bwrap);
                    let as_user = root.then_some(SANDBOX_UID_BASE);
                    sandbox.user = as_user;
                    match sandbox.probe() {
                        Ok(()) if root => return Ok(sandbox),
                        Ok(()) => {
                            sandbox.missing.push(
                                "a process-count limit per test (the grader is not root, so \
                                 its tests run as its own user and count against its processes)"
                                    .into(),
                            );
                            return Ok(sandbox);
                        }
                        Err(e) if as_user.is_some() => {
                            sandbox.user = None;
                            match sandbox.probe() {
                                Ok(()) => {
                                    sandbox.missing.push(format!(
                                        "process-count limit (bubblewrap cannot start as an \
                                         unprivileged user here: {e}; tests run as root in \
                                         their namespaces, where RLIMIT_NPROC does not apply)"
                                    ));
                                    return Ok(sandbox);
                                }
                                Err(e) => {
                                    why_not.push(format!("bubblewrap does not work here: {e}"))
                                }
                            }
                        }
                        Err(e) => why_not.push(format!("bubblewrap does not work here: {e}")),
                    }
                }
            }
            if mode == Mode::Bubblewrap {
                return Err(why_not.join("; "));
            }
        }
        // Landlock: what an unprivileged process can still do to itself.
        sandbox.backend = Backend::Landlock;
        sandbox.user = root.then_some(SANDBOX_UID_BASE);
        match sandbox.probe() {
            Ok(()) => {
                sandbox.missing = why_not
                    .iter()
                    .map(|w| format!("namespaces ({w})"))
                    .chain([
                        "a private file tree (Landlock hides file contents, not names)".to_owned(),
                        "a PID namespace (what a test starts is killed after it by its user, \
                         not with it)"
                            .to_owned(),
                        "a network namespace (Landlock limits TCP to ephemeral ports, not to \
                         loopback; no limit before Landlock ABI 4)"
                            .to_owned(),
                    ])
                    .collect();
                if !root {
                    sandbox.missing.push(
                        "a user per test (the grader is not root): a process a test leaves \
                         behind in a group of its own survives it"
                            .into(),
                    );
                }
                Ok(sandbox)
            }
            Err(e) if mode == Mode::Landlock => Err(format!("Landlock does not work here: {e}")),
            Err(e) => {
                why_not.push(format!("Landlock does not work here: {e}"));
                sandbox.backend = Backend::Off;
                sandbox.user = None;
                sandbox.missing = vec![format!(
                    "every isolation: no sandbox could be set up ({})",
                    why_not.join("; ")
                )];
                Ok(sandbox)
            }
        }
    }

    /// No isolation at all, for callers that grade trusted code (the dev check's references).
    pub fn off(helper: &Path) -> Result<Sandbox, String> {
        Sandbox::new(Mode::Off, helper)
    }

    pub fn status(&self) -> Status {
        Status {
            backend: match self.backend {
                Backend::Bubblewrap(_) => "bubblewrap",
                Backend::Landlock => "landlock",
                Backend::Off => "off",
            }
            .to_owned(),
            missing: self.missing.clone(),
        }
    }

    /// Whether the file system is confined at all (compile jails are skipped when it is not).
    pub fn is_on(&self) -> bool {
        self.backend != Backend::Off
    }

    /// This sandbox's configuration, for the compile wrapper (a process of its own, started by
    /// cargo) to rebuild it with [`Sandbox::from_spec`] without probing again.
    pub fn to_spec(&self) -> Value {
        json!({
            "backend": match &self.backend {
                Backend::Bubblewrap(path) => json!({"bwrap": path}),
                Backend::Landlock => json!("landlock"),
                Backend::Off => json!("off"),
            },
            "helper": self.helper,
            "scratch": self.scratch,
        })
    }

    /// The sandbox [`Sandbox::to_spec`] described (its directory stays the grader's).
    pub fn from_spec(spec: &Value) -> Result<Sandbox, String> {
        let path = |key: &str| -> Result<PathBuf, String> {
            spec[key]
                .as_str()
                .map(PathBuf::from)
                .ok_or_else(|| format!("the sandbox spec has no {key}"))
        };
        let backend = match &spec["backend"] {
            Value::String(s) if s == "landlock" => Backend::Landlock,
            Value::String(s) if s == "off" => Backend::Off,
            Value::Object(o) => Backend::Bubblewrap(
                o.get("bwrap")
                    .and_then(Value::as_str)
                    .ok_or("the sandbox spec names no bwrap")?
                    .into(),
            ),
            other => return Err(format!("unknown sandbox backend {other}")),
        };
        Ok(Sandbox {
            backend,
            user: None,
            next_user: std::sync::atomic::AtomicU32::new(0),
            helper: path("helper")?,
            wrapper: path("helper")?,
            runtime: Vec::new(),
            missing: Vec::new(),
            scratch: path("scratch")?,
            _owned: None,
            staged: Mutex::new(HashMap::new()),
        })
    }

    /// The files a test binary needs at run time besides itself.
    pub fn runtime_files(&self) -> &[PathBuf] {
        &self.runtime
    }

    /// The program cargo runs in place of `rustc` for the learner's crates
    /// (`RUSTC_WORKSPACE_WRAPPER`): this one, see [`crate::rustc_jail`].
    pub fn rustc_wrapper(&self) -> &Path {
        &self.wrapper
    }

    /// A copy of `executable` that the sandbox user can execute, at a path that names nothing
    /// (copied once per executable).
    pub fn stage(&self, executable: &Path) -> Result<PathBuf, String> {
        let mut staged = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(path) = staged.get(executable) {
            return Ok(path.clone());
        }
        let dir = self.scratch.join(format!("x{}", random_hex(6)));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("test");
        // Execute-only for the test's user: a learner's code cannot read the binary it runs in
        // (the hidden tests' text, the kit's symbols and layout).
        copy_executable(executable, &path, 0o711)
            .map_err(|e| format!("cannot stage {}: {e}", executable.display()))?;
        staged.insert(executable.to_path_buf(), path.clone());
        Ok(path)
    }

    /// Removes the staged copy of `executable` (once its tests have run).
    pub fn unstage(&self, executable: &Path) {
        let mut staged = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(path) = staged.remove(executable)
            && let Some(dir) = path.parent()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// The command that runs `jail`'s program in this sandbox.
    pub fn command(&self, jail: &Jail) -> Result<Prepared, String> {
        let mut spec = json!({
            "rlimits": {
                "as": jail.limits.address_space,
                "cpu": jail.limits.cpu_seconds,
                "fsize": jail.limits.file_size,
                "nproc": jail.limits.processes,
                "nofile": jail.limits.open_files,
            },
            "channel": jail.channel,
        });
        let user = self.user.filter(|_| jail.unprivileged).map(|base| {
            let n = self
                .next_user
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            base + n % SANDBOX_UIDS
        });
        let mut env = jail.env.clone();
        let mut tmp = None;
        let (program, args) = match &self.backend {
            Backend::Bubblewrap(bwrap) => {
                let mut args = bwrap_args(jail);
                args.push("--".into());
                args.push(jail.program.clone().into());
                args.extend(jail.args.iter().cloned());
                env.clear();
                (bwrap.clone(), args)
            }
            Backend::Landlock | Backend::Off => {
                // No private /tmp: a private directory instead, removed with the `Prepared`.
                let dir = ScratchDir::new_in(&self.scratch, "tmp", 0o700)
                    .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
                if let Some(uid) = user {
                    std::os::unix::fs::chown(&dir.path, Some(uid), Some(uid))
                        .map_err(|e| format!("cannot hand the temporary directory over: {e}"))?;
                }
                set_var(&mut env, "TMPDIR", dir.path.as_os_str());
                if self.backend == Backend::Landlock {
                    let mut write: Vec<&Path> = jail.write.iter().map(PathBuf::as_path).collect();
                    write.push(&dir.path);
                    spec["landlock"] = json!({
                        "read": jail.read.iter().chain(&self.runtime).map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
                        // Listing a masked directory shows every name in it (Landlock cannot hide
                        // names), but only what `read` lists can be opened.
                        "list": jail.masked.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
                        "write": write.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
                    });
                }
                tmp = Some(dir);
                (jail.program.clone(), jail.args.clone())
            }
        };
        let mut command = Command::new(&self.helper);
        command
            .arg(EXEC)
            .arg(spec.to_string())
            .arg("--")
            .arg(program)
            .args(args)
            .env_clear()
            .envs(env);
        if let Some(uid) = user {
            command.uid(uid).gid(uid);
        }
        // bubblewrap starts the program in `--chdir`; the others start it here. The helper itself
        // must start somewhere the sandbox user can enter.
        match self.backend {
            Backend::Bubblewrap(_) => command.current_dir("/"),
            _ => command.current_dir(&jail.cwd),
        };
        Ok(Prepared {
            command,
            user,
            _tmp: tmp,
        })
    }

    /// Once a jail's process has ended: without a PID namespace, whatever it started in a process
    /// group of its own may still run — a server a hidden test leaves on loopback for a visible
    /// one to read. Every process of the jail's own user is killed (that user is its alone).
    /// bubblewrap's PID namespace has already done this.
    pub fn clean_up(&self, prepared: &Prepared) {
        let Some(uid) = prepared.user else { return };
        if matches!(self.backend, Backend::Bubblewrap(_)) {
            return;
        }
        // Twice: a process may have started another between the scan and the kill.
        for _ in 0..2 {
            for pid in processes_of(uid) {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        }
    }

    /// Runs the probe in this configuration: the helper, its limits, the program started inside.
    fn probe(&self) -> Result<(), String> {
        let mut read = vec![self.helper.clone()];
        read.extend(self.runtime.iter().cloned());
        let jail = Jail {
            program: self.helper.clone(),
            args: vec![PROBE.into()],
            read,
            cwd: "/".into(),
            unprivileged: true,
            tmp_size: 1 << 20,
            limits: Rlimits {
                address_space: Some(1 << 30),
                ..Rlimits::default()
            },
            ..Jail::default()
        };
        let mut prepared = self.command(&jail)?;
        let output = prepared
            .command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start the helper: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        if output.status.success() && text.trim() == "sandbox-probe: confined" {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&output.stderr);
            let said = format!("{} {}", text.trim(), err.trim());
            Err(format!("{} ({})", said.trim(), output.status))
        }
    }
}

/// bubblewrap's arguments for `jail` (everything before `-- program`).
fn bwrap_args(jail: &Jail) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    for (key, value) in &jail.env {
        args.extend(["--setenv".into(), key.clone(), value.clone()]);
    }
    args.extend(["--dev".into(), "/dev".into()]);
    if jail.proc {
        args.extend(["--proc".into(), "/proc".into()]);
    }
    // Mounts are made in order: a directory before what is mounted inside it.
    enum Mount<'a> {
        Tmp,
        Masked(&'a Path),
        Read(&'a Path),
        Write(&'a Path),
    }
    let mut mounts: Vec<(usize, usize, Mount<'_>)> = vec![(1, 0, Mount::Tmp)];
    let depth = |p: &Path| p.components().count();
    mounts.extend(jail.masked.iter().map(|p| (depth(p), 0, Mount::Masked(p))));
    mounts.extend(jail.read.iter().map(|p| (depth(p), 1, Mount::Read(p))));
    mounts.extend(jail.write.iter().map(|p| (depth(p), 1, Mount::Write(p))));
    mounts.sort_by_key(|(d, order, _)| (*d, *order));
    for (_, _, mount) in mounts {
        match mount {
            Mount::Tmp => args.extend([
                "--size".into(),
                jail.tmp_size.max(1 << 20).to_string().into(),
                "--tmpfs".into(),
                "/tmp".into(),
            ]),
            Mount::Masked(dir) => args.extend(["--tmpfs".into(), dir.into()]),
            Mount::Read(path) => match std::fs::read_link(path) {
                // A link to a directory (`/lib` → `usr/lib`) stays a link, to what is listed too;
                // a file is bound whatever links lead to it.
                Ok(target) if path.is_dir() => {
                    args.extend(["--symlink".into(), target.into(), path.into()])
                }
                // `-try`: a file that went away since it was listed (a build running beside this
                // one) is simply absent, as it would be a moment later.
                _ => {
                    let source = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
                    args.extend(["--ro-bind-try".into(), source.into(), path.into()])
                }
            },
            Mount::Write(dir) => args.extend(["--bind".into(), dir.into(), dir.into()]),
        }
    }
    args.extend(["--chdir".into(), jail.cwd.clone().into()]);
    args
}

/// The processes whose real user is `uid`.
fn processes_of(uid: u32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let real = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            .and_then(|id| id.parse::<u32>().ok());
        if real == Some(uid) {
            pids.push(pid);
        }
    }
    pids
}

fn set_var(env: &mut Vec<(OsString, OsString)>, key: &str, value: &OsStr) {
    env.retain(|(k, _)| k != key);
    env.push((key.into(), value.into()));
}

/// The shared libraries a Rust test binary loads, and the tools hidden suites use (`mkfifo`):
/// what `ldd` lists for this program (a Rust binary built by the same toolchain) and for the tools
/// — run on these trusted binaries only, never on a learner's — plus the rest of the C libraries
/// Rust's standard library links against, found beside `libc`.
fn runtime_files(helper: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    let tools: Vec<PathBuf> = ["mkfifo"].iter().filter_map(|t| find_in_path(t)).collect();
    for binary in std::iter::once(helper.to_path_buf()).chain(tools.iter().cloned()) {
        let Ok(out) = Command::new("ldd").arg(&binary).output() else {
            continue;
        };
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux….so.2 (0x…)`
            if let Some(path) = line
                .split_whitespace()
                .find(|word| word.starts_with('/'))
                .map(PathBuf::from)
                && !files.contains(&path)
            {
                files.push(path);
            }
        }
    }
    let libc_dir = files
        .iter()
        .find(|f| f.file_name().is_some_and(|n| n == "libc.so.6"))
        .and_then(|f| f.parent())
        .map(Path::to_path_buf);
    if let Some(dir) = libc_dir {
        for lib in [
            "libm.so.6",
            "libgcc_s.so.1",
            "libpthread.so.0",
            "libdl.so.2",
            "librt.so.1",
            "libutil.so.1",
        ] {
            let path = dir.join(lib);
            if path.exists() && !files.contains(&path) {
                files.push(path);
            }
        }
    }
    files.extend(tools);
    files
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/bin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn copy_executable(from: &Path, to: &Path, mode: u32) -> std::io::Result<()> {
    // Through a temporary name: a staged file is never seen half-written.
    let partial = to.with_extension("partial");
    std::fs::copy(from, &partial)?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&partial, to)
}

/// A fresh directory, removed (with everything in it) on drop.
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn new(prefix: &str, mode: u32) -> std::io::Result<Self> {
        Self::new_in(&std::env::temp_dir(), prefix, mode)
    }

    fn new_in(parent: &Path, prefix: &str, mode: u32) -> std::io::Result<Self> {
        let path = parent.join(format!("{prefix}-{}", random_hex(8)));
        std::fs::create_dir(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        Ok(Self { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `n` random bytes from the OS, as hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------------------------------------
// The helper: runs in the child, sets the limits and the channel up, then becomes the program.
// ------------------------------------------------------------------------------------------------

/// `workbook __sandbox-exec <spec> -- <program> <args>…` and `workbook __sandbox-probe`. Returns
/// `None` when `args` is not a helper invocation.
pub fn helper_main(args: &[OsString]) -> Option<ExitCode> {
    match args.get(1).and_then(|a| a.to_str()) {
        Some(EXEC) => Some(match exec(args) {
            Ok(never) => match never {},
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "workbook sandbox: {e}");
                ExitCode::from(SETUP_FAILED)
            }
        }),
        Some(PROBE) => Some(probe_inside()),
        _ => None,
    }
}

/// Inside a candidate sandbox: it works if the program started, and the host's files are out of
/// reach.
fn probe_inside() -> ExitCode {
    let confined = std::fs::read_dir("/etc").is_err() && std::fs::read("/etc/hostname").is_err();
    println!(
        "sandbox-probe: {}",
        if confined { "confined" } else { "NOT confined" }
    );
    if confined {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

enum Never {}

fn exec(args: &[OsString]) -> Result<Never, String> {
    let spec: Value = args
        .get(2)
        .and_then(|s| s.to_str())
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or("the first argument must be the sandbox's JSON spec")?;
    if args.get(3).map(OsString::as_os_str) != Some(OsStr::new("--")) || args.len() < 5 {
        return Err("usage: __sandbox-exec <spec> -- <program> [args…]".into());
    }
    // Dies with whoever started it (the grader, or the compile wrapper): a grader that is
    // stopped leaves nothing running.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| format!("prctl: {e}"))?;
    if spec["channel"].as_bool() == Some(true) {
        hand_over_channel()?;
    }
    set_limits(&spec["rlimits"])?;
    if let Some(rules) = spec.get("landlock").filter(|v| !v.is_null()) {
        landlock(rules)?;
    }
    let error = Command::new(&args[4]).args(&args[5..]).exec();
    Err(format!(
        "cannot start {}: {error}",
        args[4].to_string_lossy()
    ))
}

/// Every test program gets the verdict channel on file descriptors 3 and 4
/// ([`hand_over_channel`]), so they must be free in what the grader hands its children. A
/// descriptor the grader *inherited* there without close-on-exec — `time -o FILE` leaves its file
/// on 3, a CI runner may pass one — would be inherited by every test, which could then not be run:
/// every submission, the reference included, would score 0. Refused at once, with the cause. (The
/// grader's own files are opened close-on-exec and never reach a child.)
fn refuse_inherited_channel_fds() -> Result<(), String> {
    for fd in [testkit::verdict::KEY_FD, testkit::verdict::VERDICT_FD] {
        let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
            continue; // not open (or no /proc: nothing to check)
        };
        let flags = info
            .lines()
            .find_map(|line| line.strip_prefix("flags:"))
            .and_then(|octal| u32::from_str_radix(octal.trim(), 8).ok());
        let close_on_exec = flags.is_some_and(|f| f & 0o2_000_000 != 0);
        if !close_on_exec {
            let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|t| format!(" ({})", t.display()))
                .unwrap_or_default();
            return Err(format!(
                "file descriptor {fd}{target} is open in the grader's environment and would be \
                 inherited by every test, which needs descriptors 3 and 4 for its verdict: \
                 start the grader without it (e.g. `time` without `-o`, or close it with \
                 `{fd}>&-`)"
            ));
        }
    }
    Ok(())
}

/// The verdict channel: the key arrives on stdin (written and closed by the grader), the verdict
/// pipe is stderr. The program gets the key on a pipe at fd 3 and the verdict pipe at fd 4; stdin
/// becomes `/dev/null` and stderr joins stdout. Only the kit reads fd 3 and writes fd 4: safe
/// Rust cannot name a file descriptor, and there is no `/proc/self/fd` in the sandbox.
fn hand_over_channel() -> Result<(), String> {
    use rustix::io::{FdFlags, fcntl_dupfd_cloexec, fcntl_setfd};
    let mut key = Vec::new();
    std::io::stdin()
        .take(256)
        .read_to_end(&mut key)
        .map_err(|e| format!("reading the key: {e}"))?;
    let (read, write) = rustix::pipe::pipe().map_err(|e| format!("pipe: {e}"))?;
    std::fs::File::from(write)
        .write_all(&key)
        .map_err(|e| format!("writing the key: {e}"))?;
    let place = |fd: &dyn std::os::fd::AsFd, number: i32| -> Result<(), String> {
        let placed = fcntl_dupfd_cloexec(fd, number).map_err(|e| format!("dup: {e}"))?;
        if std::os::fd::AsRawFd::as_raw_fd(&placed) != number {
            return Err(format!("file descriptor {number} is taken"));
        }
        fcntl_setfd(&placed, FdFlags::empty()).map_err(|e| format!("fcntl: {e}"))?;
        // Stays open across `exec`: the program's, not ours.
        let _ = std::os::fd::IntoRawFd::into_raw_fd(placed);
        Ok(())
    };
    // Out of the way first (the pipe itself may sit on 3 and 4), then into place.
    let key = fcntl_dupfd_cloexec(&read, 10).map_err(|e| format!("dup: {e}"))?;
    drop(read);
    let verdict = fcntl_dupfd_cloexec(std::io::stderr(), 10).map_err(|e| format!("dup: {e}"))?;
    place(&key, testkit::verdict::KEY_FD)?;
    place(&verdict, testkit::verdict::VERDICT_FD)?;
    drop((key, verdict));
    let null = std::fs::File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
    rustix::stdio::dup2_stdin(&null).map_err(|e| format!("stdin: {e}"))?;
    rustix::stdio::dup2_stderr(std::io::stdout()).map_err(|e| format!("stderr: {e}"))?;
    Ok(())
}

fn set_limits(limits: &Value) -> Result<(), String> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let mut wanted = vec![(Resource::Core, Some(0))];
    for (key, resource) in [
        ("as", Resource::As),
        ("cpu", Resource::Cpu),
        ("fsize", Resource::Fsize),
        ("nproc", Resource::Nproc),
        ("nofile", Resource::Nofile),
    ] {
        if let Some(n) = limits[key].as_u64() {
            wanted.push((resource, Some(n)));
        }
    }
    for (resource, value) in wanted {
        let limit = Rlimit {
            current: value,
            maximum: value,
        };
        setrlimit(resource, limit).map_err(|e| format!("setrlimit {resource:?}: {e}"))?;
    }
    Ok(())
}

/// Restricts this process (and what it `exec`s) to reading `read`, writing `write`, binding
/// ephemeral TCP ports and connecting to them, and signalling only inside its domain.
fn landlock(rules: &Value) -> Result<(), String> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, NetPort, PathBeneath, PathFd, Ruleset, RulesetAttr,
        RulesetCreatedAttr, RulesetStatus, Scope,
    };
    let abi = ABI::V6;
    let err = |e: &dyn std::fmt::Display| format!("landlock: {e}");
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(|e| err(&e))?
        .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
        .map_err(|e| err(&e))?
        .scope(Scope::from_all(abi))
        .map_err(|e| err(&e))?
        .create()
        .map_err(|e| err(&e))?;
    let mut fs_rules = Vec::new();
    for path in crate::json_strings(&rules["read"]) {
        fs_rules.push((path, AccessFs::from_read(abi)));
    }
    for path in crate::json_strings(&rules["list"]) {
        fs_rules.push((path, AccessFs::ReadDir.into()));
    }
    for path in ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"] {
        fs_rules.push((
            path.to_owned(),
            AccessFs::from_read(abi) | AccessFs::WriteFile,
        ));
    }
    for path in crate::json_strings(&rules["write"]) {
        fs_rules.push((path, AccessFs::from_all(abi)));
    }
    for (path, access) in fs_rules {
        // A file that went away since it was listed is simply out of reach.
        if std::fs::symlink_metadata(&path).is_err() {
            continue;
        }
        let fd = PathFd::new(&path).map_err(|e| format!("landlock: {path}: {e}"))?;
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|e| err(&e))?;
    }
    // Servers in the tests bind port 0 and clients connect to what they got: the ephemeral range.
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().filter_map(|n| n.parse::<u16>().ok());
            Some((it.next()?, it.next()?))
        })
        .unwrap_or((32768, 60999));
    ruleset = ruleset
        .add_rule(NetPort::new(0, AccessNet::BindTcp))
        .map_err(|e| err(&e))?;
    for port in low..=high {
        ruleset = ruleset
            .add_rule(NetPort::new(
                port,
                AccessNet::BindTcp | AccessNet::ConnectTcp,
            ))
            .map_err(|e| err(&e))?;
    }
    let status = ruleset.restrict_self().map_err(|e| err(&e))?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("landlock: this kernel does not enforce it".into());
    }
    Ok(())
}
