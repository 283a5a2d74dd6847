//! What the grader's corpora share: a scratch submission made from a reference with one planted
//! fault or attack, the workbook's root, and the sandbox they run in.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use workbook::exercises::{self, Exercise};
use workbook::grader::Limits;
use workbook::sandbox::{Mode, Sandbox};

/// The sandbox the corpus runs in: `WORKBOOK_SANDBOX` (auto, bwrap, landlock, off), auto by
/// default. CI runs the corpus with bubblewrap installed, so every attack meets the real sandbox.
pub fn sandbox() -> Arc<Sandbox> {
    static SANDBOX: OnceLock<Arc<Sandbox>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            let mode: Mode = std::env::var("WORKBOOK_SANDBOX")
                .unwrap_or_else(|_| "auto".into())
                .parse()
                .unwrap();
            Arc::new(Sandbox::new(mode, env!("CARGO_BIN_EXE_workbook").as_ref()).unwrap())
        })
        .clone()
}

pub fn default_limits() -> Limits {
    Limits::new(sandbox())
}

pub fn root() -> PathBuf {
    exercises::find_root(env!("CARGO_MANIFEST_DIR").as_ref()).expect("the workbook root")
}

pub fn exercise(name: &str) -> Exercise {
    exercises::find(&root(), name).expect("exercise")
}

/// A scratch directory under the system's temporary directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("wb-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A scratch submission directory, removed on drop.
pub struct Submission(pub PathBuf);

impl Submission {
    pub fn new(label: &str) -> Self {
        let dir = root()
            .join("target")
            .join("workbook")
            .join("corpus")
            .join(label);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Copies the reference of `exercise` in as the submitted exercise.
    pub fn with_reference(self, exercise: &Exercise) -> Self {
        workbook::grade::copy_dir(
            &exercise.solution_dir().join("src"),
            &self.crate_dir(exercise).join("src"),
        )
        .unwrap();
        self
    }

    pub fn crate_dir(&self, exercise: &Exercise) -> PathBuf {
        self.0.join("exercises").join(&exercise.name)
    }

    /// Inserts `code` right after the first occurrence of `anchor` in `src/<file>`.
    pub fn inject(self, exercise: &Exercise, file: &str, anchor: &str, code: &str) -> Self {
        let path = self.crate_dir(exercise).join("src").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let at = text
            .find(anchor)
            .unwrap_or_else(|| panic!("anchor {anchor:?} not in {file}"))
            + anchor.len();
        std::fs::write(&path, format!("{}{code}\n{}", &text[..at], &text[at..])).unwrap();
        self
    }

    pub fn write(self, relative: &str, text: &str) -> Self {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }
}

impl Drop for Submission {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
