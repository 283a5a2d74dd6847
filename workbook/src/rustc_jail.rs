//! The compile of a learner's crate, and of the hidden suite against it, in the sandbox.
//!
//! Compile time is an attack surface of its own: `#[path = "…"] mod x;`, `include_str!`,
//! `include_bytes!` and `include!` read any file rustc can read, with paths built by `concat!`,
//! and `env!` reads rustc's environment. A submission whose `mod` lines point at the reference
//! solution compiles the reference into itself; one that `include_str!`s the hidden suite into a
//! panic message prints it. So the rustc that compiles a learner's crate sees only the toolchain,
//! the dependency artifacts it links against, and that crate's own sources; the rustc that compiles
//! the hidden suite against it sees the suite file too, and nothing of the instructor's tree
//! besides. Neither sees another submission, nor the grader's environment. An endless compile
//! (const evaluation that never ends) is stopped after a time limit, and costs that submission
//! only.
//!
//! cargo runs this program in place of `rustc` for the overlay's packages
//! (`RUSTC_WORKSPACE_WRAPPER`: workspace members only — the dependencies are the instructor's and
//! build as usual). It runs rustc in the sandbox with `--out-dir` pointed at a fresh directory of
//! its own, then moves the outputs to where cargo expects them.

use crate::sandbox::{Jail, Rlimits, Sandbox};
use serde_json::{Value, json};
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that carries the wrapper's [`Spec`] as JSON.
pub const SPEC_VAR: &str = "WORKBOOK_RUSTC_JAIL";

/// What the grader tells the wrapper.
pub struct Spec {
    /// The sandbox ([`Sandbox::to_spec`]).
    pub sandbox: Value,
    /// Source files outside a package that a crate may read: the hidden suites.
    pub suites: Vec<PathBuf>,
    /// Library names whose artifacts only their own package's crates may read (the exercises:
    /// every submission's library has the exercise's name).
    pub private_crates: Vec<String>,
    /// Wall-clock limit of one rustc.
    pub timeout: Duration,
}

impl Spec {
    pub fn to_env(&self) -> String {
        json!({
            "sandbox": self.sandbox,
            "suites": self.suites,
            "private_crates": self.private_crates,
            "timeout_ms": self.timeout.as_millis() as u64,
        })
        .to_string()
    }

    fn from_env(text: &str) -> Result<Spec, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("{SPEC_VAR}: {e}"))?;
        Ok(Spec {
            sandbox: v["sandbox"].clone(),
            suites: crate::json_strings(&v["suites"])
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            private_crates: crate::json_strings(&v["private_crates"]),
            timeout: Duration::from_millis(v["timeout_ms"].as_u64().unwrap_or(120_000)),
        })
    }
}

/// `workbook <rustc> <args>…` when cargo runs it as the workspace wrapper: `None` when this is
/// not such a run.
pub fn wrapper_main(args: &[OsString]) -> Option<ExitCode> {
    let spec = std::env::var(SPEC_VAR).ok()?;
    let rustc = args.get(1)?;
    let rustc_args = &args[2..];
    // Queries (`-vV`, `--print …`, cargo's probe of the target from stdin) compile nothing of the
    // learner's.
    let compiles = rustc_args.iter().any(|a| a == "--crate-name")
        && !rustc_args
            .iter()
            .any(|a| a.to_string_lossy().starts_with("--print"))
        && rustc_args
            .iter()
            .any(|a| a.to_string_lossy().ends_with(".rs"));
    if !compiles {
        let error = Command::new(rustc).args(rustc_args).exec();
        eprintln!("workbook: cannot run {}: {error}", rustc.to_string_lossy());
        return Some(ExitCode::FAILURE);
    }
    Some(
        match Spec::from_env(&spec).and_then(|s| compile(&s, rustc, rustc_args)) {
            Ok(code) => code,
            Err(message) => {
                report_error(&format!(
                    "the grader could not compile this crate in its sandbox: {message}"
                ));
                ExitCode::FAILURE
            }
        },
    )
}

/// The parts of a rustc command line the jail needs.
struct Invocation {
    out_dir: PathBuf,
    /// The crate's root source file.
    source: PathBuf,
    /// `--extern name=path` files.
    externs: Vec<PathBuf>,
    /// `-L [kind=]dir` directories.
    search: Vec<PathBuf>,
}

fn parse(args: &[OsString]) -> Result<Invocation, String> {
    let mut out_dir = None;
    let mut source = None;
    let mut externs = Vec::new();
    let mut search = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy();
        // Options that take a value as the next argument.
        let value_of = |it: &mut std::slice::Iter<'_, OsString>| -> Result<String, String> {
            it.next()
                .map(|v| v.to_string_lossy().into_owned())
                .ok_or_else(|| format!("{text} without a value"))
        };
        match text.as_ref() {
            "--out-dir" => out_dir = Some(PathBuf::from(value_of(&mut it)?)),
            "--extern" => {
                let v = value_of(&mut it)?;
                if let Some((_, path)) = v.split_once('=') {
                    externs.push(PathBuf::from(path));
                }
            }
            "-L" => {
                let v = value_of(&mut it)?;
                let dir = v.split_once('=').map_or(v.as_str(), |(_, d)| d);
                search.push(PathBuf::from(dir));
            }
            "--crate-name"
            | "--edition"
            | "--error-format"
            | "--json"
            | "--crate-type"
            | "--emit"
            | "-C"
            | "--cfg"
            | "--check-cfg"
            | "--cap-lints"
            | "-A"
            | "-W"
            | "-D"
            | "-F"
            | "--diagnostic-width"
            | "--target"
            | "--sysroot"
            | "--remap-path-prefix" => {
                value_of(&mut it)?;
            }
            t if t.starts_with("--out-dir=") => out_dir = Some(PathBuf::from(&t[10..])),
            t if !t.starts_with('-') && t.ends_with(".rs") => source = Some(PathBuf::from(t)),
            _ => {}
        }
    }
    Ok(Invocation {
        out_dir: out_dir.ok_or("no --out-dir")?,
        source: source.ok_or("no source file")?,
        externs,
        search,
    })
}

fn compile(spec: &Spec, rustc: &OsStr, args: &[OsString]) -> Result<ExitCode, String> {
    let sandbox = Sandbox::from_spec(&spec.sandbox)?;
    let call = parse(args)?;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let package =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let sysroot = sysroot(rustc)?;

    // rustc writes its outputs (and temporary files) here; they are moved to `--out-dir` after.
    let parent = call.out_dir.parent().unwrap_or(&call.out_dir);
    let staging = parent.join(format!(".workbook-jail-{}", crate::sandbox::random_hex(8)));
    std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    let result = (|| {
        let jail = jail_for(spec, &call, &cwd, &package, &sysroot, &staging, args)?;
        let (status, stdout, stderr) = run(&sandbox, &jail, spec.timeout)?;
        let Some(status) = status else {
            report_error(&format!(
                "compiling this crate took longer than {} s and was stopped (an endless \
                 const evaluation, or a macro that expands without end?)",
                spec.timeout.as_secs()
            ));
            return Ok(ExitCode::FAILURE);
        };
        let staged = staging.to_string_lossy().into_owned();
        let real = call.out_dir.to_string_lossy().into_owned();
        publish(&staging, &call.out_dir, &staged, &real)?;
        use std::io::Write;
        let _ = std::io::stdout().write_all(stdout.replace(&staged, &real).as_bytes());
        let _ = std::io::stderr().write_all(stderr.replace(&staged, &real).as_bytes());
        Ok(match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code @ 1..=255) => ExitCode::from(code as u8),
            _ => {
                report_error(&format!(
                    "rustc ended abnormally ({status}): a resource limit?"
                ));
                ExitCode::FAILURE
            }
        })
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// What one rustc may see: the toolchain, its own package, the suite it compiles (if any), the
/// dependency artifacts but no exercise's library except those it was handed, its staging
/// directory.
#[allow(clippy::too_many_arguments)]
fn jail_for(
    spec: &Spec,
    call: &Invocation,
    cwd: &Path,
    package: &Path,
    sysroot: &Path,
    staging: &Path,
    args: &[OsString],
) -> Result<Jail, String> {
    // `/etc/alternatives`: Debian's `cc` is a link through it. Nothing else of `/etc`.
    let mut read: Vec<PathBuf> = [
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/etc/alternatives",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|p| p.exists())
    .collect();
    read.push(sysroot.to_path_buf());
    read.push(package.to_path_buf());
    let source = cwd.join(&call.source);
    if !source.starts_with(package) {
        if !spec.suites.contains(&source) {
            return Err(format!(
                "{} is not a source the grader knows",
                source.display()
            ));
        }
        read.push(source);
    }
    // The dependency directories, file by file: the dependencies' libraries (`.rlib`, `.rmeta`,
    // proc-macro `.so`), never an exercise's library or test binary (another submission's), nor
    // what other compiles are writing there at this moment.
    let private = |name: &str| {
        spec.private_crates.iter().any(|c| {
            name.strip_prefix("lib")
                .unwrap_or(name)
                .strip_prefix(c.as_str())
                .is_some_and(|rest| rest.starts_with(['-', '.', '_']))
        })
    };
    let library = |name: &str| {
        name.starts_with("lib")
            && [".rlib", ".rmeta", ".so"]
                .iter()
                .any(|ext| name.ends_with(ext))
    };
    let mut masked = Vec::new();
    for dir in &call.search {
        let dir = cwd.join(dir);
        if !dir.is_dir() || masked.contains(&dir) {
            continue;
        }
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let entry = entry.map_err(|e| e.to_string())?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if library(&name) && !private(&name) && entry.file_type().is_ok_and(|t| t.is_file()) {
                read.push(entry.path());
            }
        }
        masked.push(dir);
    }
    read.extend(call.externs.iter().map(|e| cwd.join(e)));
    // The workspace directory holds every submission's package: shown empty, but for this one.
    masked.push(cwd.to_path_buf());

    let mut rustc_args: Vec<OsString> = Vec::with_capacity(args.len() + 2);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--out-dir" {
            it.next();
            rustc_args.extend(["--out-dir".into(), staging.as_os_str().to_owned()]);
        } else {
            rustc_args.push(arg.clone());
        }
    }
    if !args.iter().any(|a| a == "--sysroot") {
        rustc_args.extend(["--sysroot".into(), sysroot.as_os_str().to_owned()]);
    }
    // A test binary without symbols: a learner's code that reaches its own memory (a compiler
    // soundness bug) does not find the kit's statics by name.
    if args.iter().any(|a| a == "--test") {
        rustc_args.extend(["-C".into(), "strip=symbols".into()]);
    }

    // cargo's own variables for the crate (`env!("CARGO_PKG_NAME")` works), and nothing else
    // of the grader's environment.
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            k.starts_with("CARGO_PKG_")
                || matches!(
                    k.as_ref(),
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_RUSTC_CURRENT_DIR"
                )
        })
        .collect();
    for (k, v) in [
        ("PATH", "/usr/bin:/bin"),
        ("TMPDIR", "/tmp"),
        ("HOME", "/tmp"),
        ("LANG", "C.UTF-8"),
    ] {
        env.push((k.into(), v.into()));
    }
    Ok(Jail {
        program: sysroot.join("bin").join("rustc"),
        args: rustc_args,
        read,
        masked,
        write: vec![staging.to_path_buf()],
        cwd: cwd.to_path_buf(),
        env,
        limits: Rlimits {
            address_space: Some(8 << 30),
            cpu_seconds: Some(2 * spec.timeout.as_secs() + 10),
            file_size: Some(256 << 20),
            processes: None,
            open_files: Some(4096),
        },
        unprivileged: false,
        channel: false,
        tmp_size: 1 << 30,
        proc: true,
    })
}

/// rustc's sysroot, asked of the `rustc` cargo named (a rustup proxy, typically: inside the
/// jail the toolchain's own binary runs instead).
fn sysroot(rustc: &OsStr) -> Result<PathBuf, String> {
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", rustc.to_string_lossy()))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || text.is_empty() {
        return Err(format!(
            "{} --print sysroot failed",
            rustc.to_string_lossy()
        ));
    }
    Ok(PathBuf::from(text))
}

/// Runs the jail, killing it after `timeout`: `(None, …)` when it was stopped.
fn run(
    sandbox: &Sandbox,
    jail: &Jail,
    timeout: Duration,
) -> Result<(Option<std::process::ExitStatus>, String, String), String> {
    let mut prepared = sandbox.command(jail)?;
    let command = &mut prepared.command;
    if std::env::var_os("WORKBOOK_JAIL_DEBUG").is_some() {
        eprintln!("{command:?}");
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start rustc: {e}"))?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                // Compiler messages are bounded; a flood of them is not kept.
                let _ = pipe.take(16 << 20).read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if started.elapsed() > timeout {
            if let Some(group) = i32::try_from(child.id())
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok((
        status,
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    ))
}

/// Moves rustc's outputs from the staging directory to cargo's `--out-dir`; the dep-info files
/// name outputs by path, so they are rewritten.
fn publish(staging: &Path, out_dir: &Path, staged: &str, real: &str) -> Result<(), String> {
    for entry in std::fs::read_dir(staging).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let target = out_dir.join(entry.file_name());
        if entry.path().extension().is_some_and(|e| e == "d") {
            let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
            std::fs::write(entry.path(), text.replace(staged, real)).map_err(|e| e.to_string())?;
        }
        std::fs::rename(entry.path(), &target).map_err(|e| {
            format!(
                "moving {} to {}: {e}",
                entry.path().display(),
                target.display()
            )
        })?;
    }
    Ok(())
}

/// An error in the form cargo reads from rustc (`--error-format=json`): it is reported for this
/// package, like any compiler error.
fn report_error(message: &str) {
    let diagnostic = json!({
        "$message_type": "diagnostic",
        "message": message,
        "code": null,
        "level": "error",
        "spans": [],
        "children": [],
        "rendered": format!("error: {message}\n"),
    });
    eprintln!("{diagnostic}");
}
