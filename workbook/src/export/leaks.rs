//! The check that nothing of a reference solution and no hidden test's name reached the student
//! edition: every non-trivial block of code in `solutions/` that the stubs, the kit and the suites
//! do not already hold (the given code) is looked for, normalized, in every exported file — Rust sources, the Rust
//! code blocks of the book, and every other text file — and every hidden test's name too.
//!
//! Normalized means: comments taken out and all whitespace dropped, so that re-indenting or
//! re-wrapping a copied body does not hide it. "Block" means a function's body and every `{ … }`
//! inside it, so a copied `match` or `loop` out of a longer function is caught as well.

use super::matching_brace;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Blocks shorter than this (normalized) are not evidence of anything: `{ Ok(()) }`,
/// `{ self.inner.len() }`, a one-line getter. The shortest reference body this catches is a
/// short loop or a `select!` with two arms.
pub const MIN_BLOCK: usize = 80;

/// One block of reference code: where it comes from, and its normalized text.
struct Block {
    origin: String,
    text: String,
}

/// Problems found in the edition at `dest` (one line each): a reference block found in an
/// exported file, or a hidden test named in one. `root` is the instructor's repository.
pub fn find_leaks(
    root: &Path,
    dest: &Path,
    hidden_tests: &[String],
) -> Result<Vec<String>, String> {
    if !dest.is_dir() {
        return Err(format!("{}: not a directory", dest.display()));
    }
    // Given code: the stubs, the test kit, and the suites (a test's helper may do what the
    // reference does — parse a header the same way — and the visible tests ship on purpose).
    // Not the known-wrong solutions: they are copies of the references.
    let mut given_files = rust_files(&root.join("exercises"));
    given_files.extend(rust_files(&root.join("tests")).into_iter().filter(|f| {
        f.parent() == Some(&root.join("tests")) || f.starts_with(root.join("tests/kit"))
    }));
    let given: String = given_files
        .iter()
        .map(|f| normalize_rust(&read(f)))
        .collect();
    let mut seen = BTreeSet::new();
    let blocks: Vec<Block> = rust_files(&root.join("solutions"))
        .iter()
        .flat_map(|file| {
            let origin = file
                .strip_prefix(root)
                .unwrap_or(file)
                .display()
                .to_string();
            blocks_of(&read(file), &origin)
        })
        .filter(|b| !given.contains(&b.text) && seen.insert(b.text.clone()))
        .collect();

    let mut problems = Vec::new();
    for file in edition_files(dest) {
        let Ok(text) = std::fs::read_to_string(dest.join(&file)) else {
            continue; // not text: nothing of a reference can be read in it
        };
        let shown = file.display();
        let code = normalized_code(&file, &text);
        // One report per file and reference file is enough to find the copy.
        let mut reported = BTreeSet::new();
        for block in blocks.iter().filter(|b| code.contains(&b.text)) {
            if reported.insert(&block.origin) {
                problems.push(format!(
                    "{shown}: holds reference code from {} ({} characters: {}…)",
                    block.origin,
                    block.text.len(),
                    block.text.chars().take(60).collect::<String>()
                ));
            }
        }
        for name in hidden_tests.iter().filter(|n| names(&text, n)) {
            problems.push(format!("{shown}: names the hidden test `{name}`"));
        }
    }
    Ok(problems)
}

/// Every file of the edition at `dest`, relative to it, but its `.git` and `target`. Walked, not
/// asked of git: an edition written inside another repository is not that repository's.
pub(super) fn edition_files(dest: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    super::walk(dest, Path::new(""), &mut all);
    all.retain(|f| !f.starts_with(".git") && !f.starts_with("target"));
    all
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    super::walk(dir, Path::new(""), &mut all);
    let mut rust: Vec<PathBuf> = all
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .map(|f| dir.join(f))
        .collect();
    rust.sort();
    rust
}

/// The code of an exported file, normalized the way reference blocks are: a Rust file whole, a
/// Markdown file's fenced code blocks (with rustdoc's hidden `# ` lines shown), anything else as
/// plain text without whitespace.
fn normalized_code(file: &Path, text: &str) -> String {
    match file.extension().and_then(|e| e.to_str()) {
        Some("rs") => normalize_rust(text),
        Some("md") => normalize_rust(&fenced_code(text)),
        _ => squash(text),
    }
}

/// The lines inside the ``` fences of a Markdown text.
fn fenced_code(markdown: &str) -> String {
    let mut code = String::new();
    let mut inside = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            inside = !inside;
            code.push('\n');
        } else if inside {
            let line = trimmed.strip_prefix("# ").unwrap_or(trimmed);
            code.push_str(if trimmed == "#" { "" } else { line });
            code.push('\n');
        }
    }
    code
}

/// Every block of `source` worth looking for: function bodies and the blocks inside them.
fn blocks_of(source: &str, origin: &str) -> Vec<Block> {
    let code = strip_comments(source);
    let mut out = Vec::new();
    for body in fn_bodies(&code) {
        collect_blocks(&code, body, origin, &mut out);
    }
    out
}

/// The `{` offsets of the bodies of the `fn` items in `code` (comments already removed).
fn fn_bodies(code: &str) -> Vec<usize> {
    let bytes = code.as_bytes();
    let mut bodies = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("fn ").map(|i| from + i) {
        from = at + 3;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        // The body is the first `{` after the signature; a `;` first means a body-less
        // declaration (in a trait), a `fn(` type, or a `Fn` bound.
        let Some(open) = code[at..].find(['{', ';']).map(|i| at + i) else {
            break;
        };
        if bytes[open] == b'{' {
            bodies.push(open);
        }
    }
    bodies
}

/// The block opening at `open` and every block nested in it, normalized, when long enough.
fn collect_blocks(code: &str, open: usize, origin: &str, out: &mut Vec<Block>) {
    let Some(close) = matching_brace(code, open) else {
        return;
    };
    let text = squash(&code[open..=close]);
    if text.len() < MIN_BLOCK {
        return; // nothing inside it is long enough either
    }
    out.push(Block {
        origin: origin.to_string(),
        text,
    });
    let mut at = open + 1;
    while let Some(inner) = code[at..close].find('{').map(|i| at + i) {
        collect_blocks(code, inner, origin, out);
        at = matching_brace(code, inner).map_or(close, |c| c + 1);
    }
}

/// Rust source without comments and without whitespace.
fn normalize_rust(source: &str) -> String {
    squash(&strip_comments(source))
}

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `source` with its `//` and `/* */` comments replaced by a space; string and char literals
/// are kept as they are (a `"//"` in a string is not a comment).
fn strip_comments(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                out.push_str(&source[copied..i]);
                i = source[i..].find('\n').map_or(bytes.len(), |n| i + n);
                copied = i;
                out.push(' ');
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                out.push_str(&source[copied..i]);
                i = end_of_block_comment(source, i);
                copied = i;
                out.push(' ');
                continue;
            }
            b'"' => i = end_of_string(bytes, i),
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                if bytes.get(i + 1 + hashes) == Some(&b'"') {
                    let closing = format!("\"{}", "#".repeat(hashes));
                    let body = i + 2 + hashes;
                    i = source[body..]
                        .find(&closing)
                        .map_or(bytes.len(), |n| body + n + closing.len());
                    continue;
                }
                i += 1;
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') && bytes[i + 1] != b'\\' => i += 3,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                // '\n', '\'', '\u{..}': the closing quote comes after the escaped character.
                i = source[i + 3..]
                    .find('\'')
                    .map_or(bytes.len(), |n| i + 3 + n + 1);
            }
            _ => i += 1,
        }
    }
    out.push_str(&source[copied.min(source.len())..]);
    out
}

/// The offset just past the `*/` closing the (possibly nested) comment opening at `open`.
fn end_of_block_comment(source: &str, open: usize) -> usize {
    let bytes = source.as_bytes();
    let (mut depth, mut i) = (0usize, open);
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The offset just past the `"` closing the string literal opening at `open`.
fn end_of_string(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while i < bytes.len() && bytes[i] != b'"' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// Whether `text` contains `name` as a whole identifier (not inside a longer one).
fn names(text: &str, name: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(name).any(|(at, _)| {
        !ident(text[..at].chars().next_back()) && !ident(text[at + name.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = "/// Doc.\npub fn answer(xs: &[u32]) -> u32 {\n    // the sum of the squares\n    \
        let mut total = 0;\n    for x in xs {\n        total += x * x; /* squared */\n    }\n    \
        println!(\"// not a comment\");\n    \
        let big = xs.iter().filter(|x| **x > 10).count() as u32;\n    total + big\n}\n\npub fn short() -> u32 { 1 }\n";

    #[test]
    fn a_body_is_found_re_indented_and_without_its_comments() {
        let blocks = blocks_of(REFERENCE, "ref.rs");
        assert_eq!(
            blocks.len(),
            1,
            "only the long body is a block: {:?}",
            blocks.len()
        );
        let copied = "```rust\nfn mine(xs: &[u32]) -> u32 {\nlet mut total = 0; for x in xs { total += x * x; }\n\
            println!(\"// not a comment\");\n  let big = xs.iter().filter(|x| **x > 10)\n    .count() as u32;\n  total + big }\n```\n";
        let code = normalized_code(Path::new("hint.md"), copied);
        assert!(
            code.contains(&blocks[0].text),
            "the copied body is found in a Markdown code block: {} in {code}",
            blocks[0].text
        );
    }

    #[test]
    fn comments_go_but_strings_that_look_like_comments_stay() {
        let stripped = strip_comments(
            "let a = \"//x\"; // gone\nlet b = '/'; /* gone /* nested */ */ let c = r#\"/*\"#;",
        );
        assert_eq!(
            squash(&stripped),
            "leta=\"//x\";letb='/';letc=r#\"/*\"#;",
            "comments are removed, literals kept"
        );
    }

    #[test]
    fn a_hidden_name_counts_only_as_a_whole_identifier() {
        assert!(
            names("see `no_job_is_lost`.", "no_job_is_lost"),
            "a whole name is found"
        );
        assert!(
            !names("fn no_job_is_lost_twice()", "no_job_is_lost"),
            "a longer identifier is not the hidden name"
        );
    }
}
