//! The stubs as shipped, kept where `cargo wb reset` finds them in both editions of the workbook.
//!
//! * The instructor's repository: the stub is what `HEAD` holds under `exercises/<ex>/src/` (the
//!   latest committed stub — not the first one: stubs are improved after they are added).
//! * The student edition: it may have no `.git` at all, or the learner's own commits (so `HEAD` is
//!   the learner's work). The export therefore ships a copy of every stub in [`STUBS_DIR`], and
//!   that copy, when present, wins.

use crate::exercises::Exercise;
use crate::grade;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The folder of the shipped stubs at the root of a student edition:
/// `.stubs/<exercise>/src/<file>`. Tracked by the learner's git (unlike `.workbook/`, which holds
/// local state), so a clone of the learner's repository can still reset.
pub const STUBS_DIR: &str = ".stubs";

/// One stub file: its path under the exercise's `src/`, and its bytes.
pub type StubFile = (PathBuf, Vec<u8>);

/// Where a stub was found, for the message `reset` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The copy shipped with the student edition.
    Shipped(PathBuf),
    /// The stub committed at git's `HEAD`.
    GitHead,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Shipped(dir) => write!(f, "the stub shipped in {}", dir.display()),
            Source::GitHead => f.write_str("the stub committed at git's HEAD"),
        }
    }
}

/// Writes the pristine copy of every exercise's stub (`<out_dir>/<exercise>/src/…`) and a README
/// saying what it is for. The files are the ones the export copies (git's tracked files of the
/// working tree), so the copy is byte for byte the stub the learner receives. Returns how many
/// files were written.
pub fn write_pristine(root: &Path, out_dir: &Path) -> Result<usize, String> {
    let tracked = crate::export::files(root)?;
    let mut written = 0;
    for ex in crate::exercises::all(root) {
        let src = Path::new("exercises").join(&ex.name).join("src");
        for file in tracked.iter().filter(|f| f.starts_with(&src)) {
            let rel = file.strip_prefix(&src).unwrap_or(file);
            let to = out_dir.join(&ex.name).join("src").join(rel);
            std::fs::create_dir_all(to.parent().unwrap_or(out_dir))
                .map_err(|e| format!("{}: {e}", out_dir.display()))?;
            std::fs::copy(root.join(file), &to).map_err(|e| format!("{}: {e}", file.display()))?;
            written += 1;
        }
    }
    std::fs::write(
        out_dir.join("README.md"),
        "# The original stubs\n\nEvery exercise's `src/` as it was shipped. `cargo wb reset NN` \
         restores an exercise from here (your code is backed up first). Leave this folder as it \
         is.\n",
    )
    .map_err(|e| format!("{}: {e}", out_dir.display()))?;
    Ok(written)
}

/// The shipped stub of `exercise`: the student edition's copy if there is one, else git's `HEAD`.
pub fn stub_files(root: &Path, exercise: &Exercise) -> Result<(Source, Vec<StubFile>), String> {
    let shipped = root.join(STUBS_DIR).join(&exercise.name).join("src");
    if shipped.is_dir() {
        let (files, _) =
            grade::read_sources(&shipped).map_err(|e| format!("{}: {e}", shipped.display()))?;
        let files: Vec<StubFile> = files.into_iter().collect();
        if files.is_empty() {
            return Err(format!("{} is empty", shipped.display()));
        }
        return Ok((Source::Shipped(shipped), files));
    }
    committed_stub(root, exercise).map(|files| (Source::GitHead, files))
}

/// The stub's files at git's `HEAD`.
fn committed_stub(root: &Path, exercise: &Exercise) -> Result<Vec<StubFile>, String> {
    let src = format!("exercises/{}/src", exercise.name);
    let no_stub = || {
        format!(
            "cannot tell what the original stub of {} was: this copy of the workbook has neither \
             {STUBS_DIR}/ nor a git history of {src}",
            exercise.name
        )
    };
    let listing = git(root, &["ls-tree", "-r", "--name-only", "HEAD", "--", &src])
        .map_err(|e| format!("{} ({e})", no_stub()))?;
    let listing = String::from_utf8_lossy(&listing).into_owned();
    if listing.trim().is_empty() {
        return Err(no_stub());
    }
    listing
        .lines()
        .map(|path| {
            // `./` makes the path relative to `root`, wherever the repository's top is.
            let bytes = git(root, &["show", &format!("HEAD:./{path}")])?;
            let rel = Path::new(path)
                .strip_prefix(&src)
                .unwrap_or(Path::new(path));
            Ok((rel.to_path_buf(), bytes))
        })
        .collect()
}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
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
}

/// Copies the exercise's current `src/` to `<state dir>/backups/<exercise>-<unix time>/` and
/// returns where. Nothing is overwritten: a second backup in the same second gets a suffix.
pub fn backup(state_dir: &Path, exercise: &Exercise) -> Result<PathBuf, String> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let backups = state_dir.join("backups");
    let mut dest = backups.join(format!("{}-{stamp}", exercise.name));
    let mut n = 1;
    while dest.exists() {
        n += 1;
        dest = backups.join(format!("{}-{stamp}-{n}", exercise.name));
    }
    grade::copy_dir(&exercise.stub_dir().join("src"), &dest)
        .map_err(|e| format!("backup failed, nothing was changed: {e}"))?;
    Ok(dest)
}

/// Replaces the exercise's `src/` with `files` (a file the stub does not have is removed: it is in
/// the backup).
pub fn restore(exercise: &Exercise, files: &[StubFile]) -> Result<(), String> {
    let src = exercise.stub_dir().join("src");
    if src.exists() {
        std::fs::remove_dir_all(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    }
    for (rel, bytes) in files {
        let to = src.join(rel);
        std::fs::create_dir_all(to.parent().unwrap_or(&src)).map_err(|e| e.to_string())?;
        std::fs::write(&to, bytes).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(())
}
