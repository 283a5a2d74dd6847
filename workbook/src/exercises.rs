//! Finding the workbook and its exercises on disk.

use std::path::{Path, PathBuf};

/// One exercise: its stub, its reference, its hidden suite and its known-wrong solutions.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// The package (and library) name, e.g. `ex06_timeouts`.
    pub name: String,
    pub root: PathBuf,
}

impl Exercise {
    pub fn stub_dir(&self) -> PathBuf {
        self.root.join("exercises").join(&self.name)
    }

    pub fn solution_dir(&self) -> PathBuf {
        self.root.join("solutions").join(&self.name)
    }

    pub fn hidden_suite(&self) -> PathBuf {
        self.root.join("tests").join(format!("{}.rs", self.name))
    }

    /// The package name of the reference solution.
    pub fn solution_package(&self) -> String {
        format!("{}_solution", self.name)
    }

    /// `tests/wrong/<name>/*.rs` (whole replacement files) and `*.edit` (edits of the reference),
    /// sorted.
    pub fn wrong_solutions(&self) -> Vec<PathBuf> {
        let dir = self.root.join("tests").join("wrong").join(&self.name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs" || e == "edit"))
            .collect();
        files.sort();
        files
    }
}

/// The workspace root: the nearest ancestor of `start` with both `exercises/` and `Cargo.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("exercises").is_dir() && dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// Every exercise that has a stub, sorted by name (`ex00_…`, `ex01_…`).
pub fn all(root: &Path) -> Vec<Exercise> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("exercises"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        // An exercise is a folder whose package has its name: a copy kept as a backup
        // (`ex06_timeouts_backup`) is not one.
        .filter(|name| package_name(&root.join("exercises").join(name)).as_deref() == Some(name))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| Exercise {
            name,
            root: root.to_path_buf(),
        })
        .collect()
}

/// The exercise whose folder (stub or reference) holds `dir`, if any.
pub fn containing(root: &Path, dir: &Path) -> Option<Exercise> {
    let dir = dir.canonicalize().ok()?;
    let root = root.canonicalize().ok()?;
    let rest = ["exercises", "solutions"]
        .iter()
        .find_map(|kind| dir.strip_prefix(root.join(kind)).ok())?;
    let name = rest.components().next()?.as_os_str().to_str()?;
    all(&root).into_iter().find(|e| e.name == name)
}

/// The `name` of the package whose manifest is in `dir`.
fn package_name(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let manifest: toml::Table = text.parse().ok()?;
    Some(manifest.get("package")?.get("name")?.as_str()?.to_owned())
}

/// Looks an exercise up by full name (`ex06_timeouts`), number (`6`, `06`), prefix (`ex06`) or
/// slug (`timeouts`, `web-crawler`, or the start of one).
pub fn find(root: &Path, query: &str) -> Result<Exercise, String> {
    let all = all(root);
    let wanted = match query.parse::<u32>() {
        Ok(n) => format!("ex{n:02}_"),
        Err(_) => query.replace('-', "_"),
    };
    let by_name: Vec<&Exercise> = all
        .iter()
        .filter(|e| e.name == wanted || e.name.starts_with(&wanted))
        .collect();
    let matches: Vec<&Exercise> = if by_name.is_empty() && !wanted.is_empty() {
        all.iter()
            .filter(|e| {
                e.name
                    .split_once('_')
                    .is_some_and(|(_, slug)| slug.starts_with(&wanted))
            })
            .collect()
    } else {
        by_name
    };
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "no exercise matches {query:?}; the exercises are: {}",
            all.iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        many => Err(format!(
            "{query:?} matches several exercises: {}",
            many.iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
