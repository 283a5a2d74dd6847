//! Stub and reference must not drift apart: the same public items, with the same doc comments.
//!
//! The check is textual and deliberately simple. From every `.rs` file under each crate's `src/` it
//! takes, in order, the lines that make up the contract — `pub` items, `impl` lines, methods, enum
//! variants, each with its doc comments and derives — and requires the two lists to be equal.
//! Bodies, private fields and `//` comments are free to differ; the crate-level `//!` docs too (the
//! reference says it is the reference). Signature lines only: a stub's body is `todo!()`.

use std::collections::BTreeMap;
use std::path::Path;

/// The contract lines of every file under `src`, keyed by the file's path relative to `src`.
pub fn contract(src: &Path) -> BTreeMap<String, Vec<String>> {
    let mut files = BTreeMap::new();
    collect(src, src, &mut files);
    files
}

fn collect(base: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<String>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs")
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            let rel = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(rel, contract_lines(&text));
        }
    }
}

/// The contract lines of one file.
pub fn contract_lines(text: &str) -> Vec<String> {
    let public = public_types(text);
    let mut lines = Vec::new();
    // A doc block (with any attributes after it) is kept only if the line it documents is part of
    // the contract: a `pub` item, an `impl` of a public type, a method in one, or an enum
    // variant. Docs on private fields are the implementation's business, and so is everything
    // inside an `impl` of a private type (the reference's helpers) or a `#[cfg(test)]` item.
    let mut pending: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut private_impl_at: Option<i32> = None;
    for line in text.lines().map(str::trim) {
        let depth_before = depth;
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if let Some(at) = private_impl_at {
            if depth <= at {
                private_impl_at = None;
            }
            continue;
        }
        if line.starts_with("///") || line.starts_with("#[") {
            pending.push(line.to_owned());
            continue;
        }
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let test_only = pending.iter().any(|l| l.starts_with("#[cfg(test)]"));
        if test_only || (line.starts_with("impl") && !public.iter().any(|t| mentions(line, t))) {
            pending.clear();
            if depth > depth_before {
                private_impl_at = Some(depth_before);
            }
            continue;
        }
        let documented = pending.iter().any(|l| l.starts_with("///"));
        let is_contract = line.starts_with("pub ")
            || line.starts_with("impl")
            || (documented && !is_private_field(line));
        if is_contract {
            lines.extend(
                pending
                    .drain(..)
                    .filter(|l| l.starts_with("///") || l.starts_with("#[derive")),
            );
            // `mut` on a parameter is a binding detail of the body, not part of the signature.
            lines.push(line.replace("(mut ", "(").replace(", mut ", ", "));
        }
        pending.clear();
    }
    lines
}

/// The names of the `pub struct`/`enum`/`trait`/`type` items declared in `text`.
fn public_types(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|l| {
            ["pub struct ", "pub enum ", "pub trait ", "pub type "]
                .iter()
                .find_map(|kw| l.strip_prefix(kw))
        })
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Whether `line` names the type `name` as a whole word.
fn mentions(line: &str, name: &str) -> bool {
    line.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == name)
}

/// `name: Type,` — a private struct field (documented or not, not part of the contract).
fn is_private_field(line: &str) -> bool {
    line.split_once(':').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
}

/// Differences between the stub's and the reference's contracts, one message each.
pub fn compare(stub_src: &Path, solution_src: &Path) -> Vec<String> {
    let stub = contract(stub_src);
    let solution = contract(solution_src);
    let mut problems = Vec::new();
    for file in stub
        .keys()
        .chain(solution.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (stub.get(file), solution.get(file)) {
            (Some(_), None) => {
                problems.push(format!("{file}: in the stub but not in the reference"))
            }
            (None, Some(_)) => {
                problems.push(format!("{file}: in the reference but not in the stub"))
            }
            (Some(a), Some(b)) if a != b => {
                let at = a
                    .iter()
                    .zip(b)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(b.len()));
                problems.push(format!(
                    "{file}: the public contract differs\n    stub:      {}\n    reference: {}",
                    a.get(at).map_or("(end of file)", String::as_str),
                    b.get(at).map_or("(end of file)", String::as_str),
                ));
            }
            _ => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::contract_lines;

    #[test]
    fn docs_signatures_and_documented_lines_make_the_contract() {
        let text = "//! crate docs\nuse x;\n/// Adds.\n#[derive(Debug)]\npub struct A {\n    /// The field.\n    \
                    field: u32,\n    secret: u8,\n}\nimpl A {\n    /// Runs.\n    fn run() { Ok(x) }\n    \
                    fn helper() { Ok(y) }\n}\npub enum E {\n    /// First.\n    First { at: u32 },\n}\n\
                    struct Private;\nimpl Private {\n    /// Helps.\n    fn help(&self) {\n        if x { y }\n    }\n}\n\
                    impl std::fmt::Display for A {\n}\n#[cfg(test)]\nmod tests {\n    impl Api for Mock {\n    }\n}\n";
        assert_eq!(
            contract_lines(text),
            vec![
                "/// Adds.",
                "#[derive(Debug)]",
                "pub struct A {",
                "impl A {",
                "/// Runs.",
                "fn run() { Ok(x) }",
                "pub enum E {",
                "/// First.",
                "First { at: u32 },",
                "impl std::fmt::Display for A {"
            ]
        );
    }
}
