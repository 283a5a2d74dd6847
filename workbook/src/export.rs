//! The student edition: a learner's repository with the exercises, the curriculum, the test kit,
//! the CLI and the *visible* tests — no reference solutions, no hidden tests, no known-wrong
//! solutions, no grading manifest — that builds and runs on its own.

use crate::exercises;
use crate::manifest::Manifest;
use std::path::{Path, PathBuf};
use std::process::Command;

mod edition;
mod leaks;
pub use edition::{MAINTAINER_ONLY, README_TEMPLATE};
pub use leaks::find_leaks;

/// Paths (relative to the root, `/`-separated) never copied into the student edition.
const LEFT_OUT: &[&str] = &[
    "solutions/",
    "tests/reference/",
    "tests/wrong/",
    "tests/grading.toml",
    "workbook/tests/",
    ".ci/",
    "grading/",
    "target/",
    ".git/",
];

/// Writes the student edition of the workbook at `root` into `dest` (which must not exist or be
/// empty). Returns one line per exercise saying how many tests it keeps.
pub fn export_student(
    root: &Path,
    dest: &Path,
    manifest: &Manifest,
) -> Result<Vec<String>, String> {
    if dest.exists()
        && std::fs::read_dir(dest)
            .map_err(|e| e.to_string())?
            .next()
            .is_some()
    {
        return Err(format!("{} exists and is not empty", dest.display()));
    }
    let hidden_suites: Vec<String> = exercises::all(root)
        .iter()
        .map(|ex| format!("tests/{}.rs", ex.name))
        .collect();
    // Without git every file is listed: leave out what git would not track (the built book, …).
    let local_only = edition::ignored_dirs(root);
    for file in files(root)? {
        let rel = file.to_string_lossy().replace('\\', "/");
        if LEFT_OUT.iter().any(|p| rel.starts_with(p))
            || MAINTAINER_ONLY.iter().any(|p| rel.starts_with(p))
            || local_only.iter().any(|p| rel.starts_with(p))
            || hidden_suites.contains(&rel)
        {
            continue;
        }
        let to = dest.join(&file);
        std::fs::create_dir_all(to.parent().unwrap_or(dest)).map_err(|e| e.to_string())?;
        std::fs::copy(root.join(&file), &to).map_err(|e| format!("{rel}: {e}"))?;
    }

    let mut notes = Vec::new();
    for ex in exercises::all(root) {
        let suite = std::fs::read_to_string(ex.hidden_suite()).map_err(|e| e.to_string())?;
        let (visible, kept, dropped) = visible_suite(&suite, |test| {
            manifest
                .weight(&ex.name, test)
                .visibility
                .shown_to_learner()
        });
        std::fs::write(dest.join("tests").join(format!("{}.rs", ex.name)), visible)
            .map_err(|e| e.to_string())?;
        let stub_manifest = dest.join("exercises").join(&ex.name).join("Cargo.toml");
        let text = std::fs::read_to_string(&stub_manifest).map_err(|e| e.to_string())?;
        std::fs::write(&stub_manifest, student_package_manifest(&text))
            .map_err(|e| e.to_string())?;
        notes.push(format!(
            "{}: {kept} visible tests kept, {dropped} hidden tests left out",
            ex.name
        ));
    }
    // The kit's differential feature (and proptest) serve only the instructor-only tests.
    let kit_manifest = dest.join("tests").join("kit").join("Cargo.toml");
    let text = std::fs::read_to_string(&kit_manifest).map_err(|e| e.to_string())?;
    std::fs::write(&kit_manifest, without_instructor_only_block(&text))
        .map_err(|e| e.to_string())?;
    let manifest_path = dest.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| e.to_string())?;
    std::fs::write(&manifest_path, student_workspace(&text)?).map_err(|e| e.to_string())?;
    // The stubs as shipped, for `cargo wb reset` where git's HEAD is the learner's own work.
    let stubs = crate::pristine::write_pristine(root, &dest.join(crate::pristine::STUBS_DIR))?;
    notes.push(format!(
        "{}/: {stubs} stub files kept for `cargo wb reset`",
        crate::pristine::STUBS_DIR
    ));
    // Last: it checks, and commits, what the steps above wrote.
    notes.extend(edition::finish(
        root,
        dest,
        &exercises::all(root),
        manifest,
    )?);
    Ok(notes)
}

/// The files to consider: git's tracked files when `root` is a checkout, else every file.
/// The workbook's files, relative to `root`: git's tracked files, or every file when there is no
/// git.
pub(crate) fn files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let git = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z"])
        .output();
    if let Ok(out) = git
        && out.status.success()
    {
        return Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .filter(|p| root.join(p).is_file())
            .collect());
    }
    let mut all = Vec::new();
    walk(root, Path::new(""), &mut all);
    Ok(all)
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(root.join(rel))
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = rel.join(entry.file_name());
        if entry.path().is_dir() {
            walk(root, &path, out);
        } else {
            out.push(path);
        }
    }
}

/// The workspace manifest without the reference solutions; a plain `cargo test` then checks the
/// kit and the CLI, and each exercise is tested with `cargo test -p <exercise>`.
fn student_workspace(text: &str) -> Result<String, String> {
    let mut manifest: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let workspace = manifest
        .get_mut("workspace")
        .and_then(|w| w.as_table_mut())
        .ok_or("no [workspace]")?;
    // The same members, listed one by one as here, without the references and the benchmark.
    for key in ["members", "default-members"] {
        if let Some(toml::Value::Array(list)) = workspace.get_mut(key) {
            list.retain(|m| {
                m.as_str().is_some_and(|m| {
                    !m.starts_with("solutions/")
                        && !m.starts_with("tests/reference/")
                        && m != "bench"
                })
            });
        }
    }
    // The references' crates and the property-testing crate serve the instructor-only tests.
    if let Some(toml::Value::Table(deps)) = workspace.get_mut("dependencies") {
        deps.retain(|name, _| !name.ends_with("_reference") && name != "proptest");
    }
    toml::to_string(&manifest).map_err(|e| e.to_string())
}

/// The suite with every test for which `keep` is false removed (with its doc comments and
/// attributes). Returns the text and how many tests were kept and dropped.
pub fn visible_suite(suite: &str, keep: impl Fn(&str) -> bool) -> (String, usize, usize) {
    // The instructor-only part goes first, whole: it uses the reference and the differential
    // feature of the kit, which the student edition (and the visible tests' binary) do not have.
    let (suite, instructor_only) = split_instructor_only(suite);
    let (mut kept, mut dropped) = (0, test_names(instructor_only).len());
    let mut out = String::new();
    let mut rest = suite;
    while let Some(at) = find_test_attribute(rest) {
        // The item starts at its first doc comment or attribute line.
        let start = item_start(rest, at);
        let Some((name, end)) = test_fn_extent(rest, at) else {
            break;
        };
        if keep(&name) {
            kept += 1;
            out.push_str(&rest[..end]);
        } else {
            dropped += 1;
            out.push_str(&rest[..start]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    if dropped > 0 {
        // Helpers used only by hidden tests are now unused; that is expected.
        let header_end = leading_inner_docs(&out);
        out.insert_str(
            header_end,
            &format!(
                "//!\n//! Student edition: the {dropped} hidden tests are graded by your instructor.\n\
                 #![allow(dead_code, unused_imports)]\n"
            ),
        );
    }
    (out, kept, dropped)
}

/// The line that opens a hidden suite's instructor-only part: from it to the end of the file,
/// tests that use the reference (`exNN_<slug>_reference`) — differential tests. Every test there
/// is hidden (the dev check makes sure), and the student edition cuts the part out whole.
pub const INSTRUCTOR_ONLY: &str = "// ---- instructor only: tests against the reference";

/// The suite before the instructor-only line, and the part from it on (empty when there is none).
pub fn split_instructor_only(suite: &str) -> (&str, &str) {
    let mut at = 0;
    for line in suite.split_inclusive('\n') {
        if line.trim_end() == INSTRUCTOR_ONLY {
            return suite.split_at(at);
        }
        at += line.len();
    }
    (suite, "")
}

/// The names of the `#[test]` functions in `text`, in order.
pub fn test_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = find_test_attribute(rest) {
        let Some((name, end)) = test_fn_extent(rest, at) else {
            break;
        };
        names.push(name);
        rest = &rest[end..];
    }
    names
}

/// A stub's manifest for the student edition: without the dev-dependencies only the
/// instructor-only part of a suite uses (the reference, the kit's `differential` feature). Edited
/// line by line so that the comments written for learners stay.
fn student_package_manifest(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let key = line.split(['.', '=', ' ']).next().unwrap_or("");
        if key.ends_with("_reference") {
            continue;
        }
        if line.starts_with("testkit = ") && line.contains("\"differential\"") {
            out.push_str("testkit.workspace = true\n");
            continue;
        }
        out.push_str(line);
    }
    out
}

/// A manifest without its instructor-only block: from the comment line that starts with
/// `# ---- instructor only` to the end of the file.
fn without_instructor_only_block(text: &str) -> String {
    match text.find("\n# ---- instructor only") {
        Some(at) => format!("{}\n", text[..at].trim_end()),
        None => text.to_owned(),
    }
}

/// Byte offset of the next line that is exactly `#[test]`.
fn find_test_attribute(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "#[test]" {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// Walks back from the line at `at` over doc comments and attributes directly above it.
fn item_start(text: &str, at: usize) -> usize {
    let mut start = at;
    while start > 0 {
        let before = &text[..start - 1];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = text[line_start..start - 1].trim();
        if line.starts_with("///") || line.starts_with("#[") {
            start = line_start;
        } else {
            break;
        }
    }
    start
}

/// From a `#[test]` line: the function's name and the offset just after its closing brace (and
/// the newline after it).
fn test_fn_extent(text: &str, at: usize) -> Option<(String, usize)> {
    let fn_at = at + text[at..].find("fn ")?;
    let name: String = text[fn_at + 3..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let open = fn_at + text[fn_at..].find('{')?;
    let close = matching_brace(text, open)?;
    let end = text[close..]
        .find('\n')
        .map_or(text.len(), |i| close + i + 1);
    Some((name, end))
}

/// The offset of the `}` that closes the `{` at `open`, skipping strings, chars and comments.
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => i += text[i..].find('\n')?,
            b'/' if bytes.get(i + 1) == Some(&b'*') => i += text[i..].find("*/")? + 1,
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#')) && !ident_before(bytes, i) => {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                if bytes.get(i + 1 + hashes) == Some(&b'"') {
                    let closing = format!("\"{}", "#".repeat(hashes));
                    let body = i + 2 + hashes;
                    i = body + text[body..].find(&closing)? + closing.len() - 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'\'' => {
                // A char literal ('x', '\n', '{'), or a lifetime ('a), which has no closing quote.
                if bytes.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < bytes.len() && bytes[i] != b'\'' {
                        i += 1;
                    }
                } else if bytes.get(i + 2) == Some(&b'\'') {
                    i += 2;
                } else if let Some(c) = text[i + 1..].chars().next()
                    && text[i + 1 + c.len_utf8()..].starts_with('\'')
                {
                    i += c.len_utf8() + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn ident_before(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')
}

/// The end of the leading `//!` block (where inner attributes may go).
fn leading_inner_docs(text: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("//!") {
            offset += line.len();
        } else {
            break;
        }
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE: &str = "//! Suite.\n\nuse x::*;\n\nfn helper() -> &'static str { \"}\" }\n\n\
        /// Documented.\n#[test]\nfn keep_me() {\n    let s = \"{ not a brace\";\n    let c = '{';\n    \
        let r = r#\"}}\"#;\n    // }\n}\n\n#[test]\nfn drop_me() {\n    if true { assert!(format!(\"{}\", 1) == \"1\"); }\n}\n\nfn tail() {}\n";

    #[test]
    fn hidden_tests_are_cut_out_with_their_docs_and_the_rest_is_kept() {
        let (out, kept, dropped) = visible_suite(SUITE, |name| name == "keep_me");
        assert_eq!((kept, dropped), (1, 1));
        assert!(
            out.contains("fn keep_me()") && out.contains("/// Documented."),
            "{out}"
        );
        assert!(!out.contains("drop_me"), "{out}");
        assert!(
            out.contains("fn helper()") && out.contains("fn tail() {}"),
            "{out}"
        );
        assert!(
            out.starts_with("//! Suite.\n//!\n//! Student edition: the 1 hidden tests"),
            "{out}"
        );
        assert!(
            out.contains("#![allow(dead_code, unused_imports)]\n\nuse x::*;"),
            "{out}"
        );
    }

    #[test]
    fn a_suite_with_every_test_visible_is_unchanged() {
        let (out, kept, dropped) = visible_suite(SUITE, |_| true);
        assert_eq!(
            (out.as_str(), kept, dropped),
            (SUITE, 2, 0),
            "nothing hidden: the suite goes out as it is"
        );
    }

    #[test]
    fn the_instructor_only_part_is_cut_whole_and_its_tests_counted_as_hidden() {
        let suite = format!(
            "{SUITE}\n{INSTRUCTOR_ONLY}\nuse ex_reference as reference;\n\
             fn replay() {{}}\n\n#[test]\nfn differential() {{ replay() }}\n"
        );
        let (out, kept, dropped) = visible_suite(&suite, |_| true);
        assert_eq!(
            (out.as_str(), kept, dropped),
            (
                format!("//! Suite.\n//!\n//! Student edition: the 1 hidden tests are graded by your instructor.\n#![allow(dead_code, unused_imports)]\n{}\n", &SUITE["//! Suite.\n".len()..]).as_str(),
                2,
                1
            ),
            "everything from the instructor-only line on (the reference, its helpers, its \
             tests) must be left out"
        );
        assert_eq!(
            test_names(split_instructor_only(&suite).1),
            ["differential"],
            "the instructor-only part's tests"
        );
    }

    #[test]
    fn a_stubs_manifest_loses_the_reference_and_the_differential_feature_and_keeps_its_comments() {
        let manifest = "[dev-dependencies]\n# The kit.\n\
            testkit = { workspace = true, features = [\"differential\"] }\n\
            ex07_stream_library_reference.workspace = true\npretty_assertions.workspace = true\n";
        assert_eq!(
            student_package_manifest(manifest),
            "[dev-dependencies]\n# The kit.\ntestkit.workspace = true\n\
             pretty_assertions.workspace = true\n",
            "the student edition has neither the reference nor proptest"
        );
    }
}
