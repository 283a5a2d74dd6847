//! The maintainers' dev check: the hidden suite can tell right from wrong.
//!
//! * every untouched stub compiles and fails **every** hidden test with "not implemented yet";
//! * every known-wrong solution in `tests/wrong/<exercise>/` is rejected by the tests its header
//!   names, with a message that names the flaw;
//! * stub and reference publish the same contract (see [`crate::drift`]).
//!
//! (That every hidden test *passes* on the reference is checked by the reference packages' own
//! `cargo test`.)

use crate::exercises::Exercise;
use crate::grade::{Built, Graded, Outcome, Overlay, Sources, Variant, read_sources};
use std::path::Path;
use std::time::Duration;

/// How long one grading run (build + suite) may take before it is stopped.
const LIMIT: Duration = Duration::from_secs(600);

/// Problems with the untouched stub's results; none when every hidden test fails as "not
/// implemented yet".
fn judge_stub(exercise: &Exercise, graded: Graded) -> Vec<String> {
    let outcomes = match graded {
        Graded::DidNotCompile(errors) => {
            return vec![format!(
                "{}: the untouched stub does not compile:\n{errors}",
                exercise.name
            )];
        }
        Graded::Ran(outcomes) => outcomes,
    };
    if outcomes.is_empty() {
        return vec![format!(
            "{}: the hidden suite ran no test against the stub",
            exercise.name
        )];
    }
    outcomes
        .iter()
        .filter_map(|(test, outcome)| match outcome {
            Outcome::Passed => Some(format!(
                "{}: `{test}` passes on the untouched stub",
                exercise.name
            )),
            Outcome::Failed(message) if !message.contains("not implemented yet") => Some(format!(
                "{}: `{test}` fails on the stub without saying \"not implemented yet\":\n{message}",
                exercise.name
            )),
            Outcome::Failed(_) => None,
        })
        .collect()
}

/// What a known-wrong solution's header promises: `//! expect: <test> — <text in the message>`,
/// and optionally `//! replaces: <file under src/>` (default `lib.rs`).
#[derive(Debug, PartialEq, Eq)]
pub struct WrongSolution {
    pub replaces: String,
    pub expectations: Vec<(String, String)>,
}

pub fn parse_header(text: &str) -> Result<WrongSolution, String> {
    let mut replaces = "lib.rs".to_owned();
    let mut expectations = Vec::new();
    for line in text
        .lines()
        .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
    {
        let line = line.trim_start_matches("//!").trim();
        if let Some(file) = line.strip_prefix("replaces:") {
            replaces = file.trim().to_owned();
        } else if let Some(rest) = line.strip_prefix("expect:") {
            let (test, text) = rest.split_once(" — ").ok_or_else(|| {
                format!("`expect:` line without \" — \" between test and text: {line}")
            })?;
            expectations.push((test.trim().to_owned(), text.trim().to_owned()));
        }
    }
    if expectations.is_empty() {
        return Err("the header names no `//! expect: <test> — <text>` line".to_owned());
    }
    Ok(WrongSolution {
        replaces,
        expectations,
    })
}

/// Problems with one known-wrong solution's results; none when the suite rejects it as its header
/// says.
fn judge_wrong(label: &str, wrong: &WrongSolution, graded: Graded) -> Vec<String> {
    let outcomes = match graded {
        Graded::DidNotCompile(errors) => {
            return vec![format!("{label}: does not compile:\n{errors}")];
        }
        Graded::Ran(outcomes) => outcomes,
    };
    wrong
        .expectations
        .iter()
        .filter_map(|(test, expected)| match outcomes.get(test) {
            None => Some(format!("{label}: the suite has no test `{test}`")),
            Some(Outcome::Passed) => Some(format!(
                "{label}: `{test}` passes, but it should reject this solution"
            )),
            Some(Outcome::Failed(message)) if !message.contains(expected.as_str()) => {
                Some(format!(
                    "{label}: `{test}` fails, but its message does not say {expected:?}:\n{message}"
                ))
            }
            Some(Outcome::Failed(_)) => None,
        })
        .collect()
}

/// Applies the `// ---- find` / `// ---- replace` / `// ---- end` blocks of a `.edit` file to the
/// reference's text. Each find block must occur exactly once: when the reference changes under an
/// edit, the edit fails loudly instead of silently testing something else.
pub fn apply_edits(reference: &str, edits: &str) -> Result<String, String> {
    let mut text = reference.to_owned();
    let mut rest = edits;
    let mut count = 0;
    while let Some(start) = rest.find("// ---- find\n") {
        let after = &rest[start + "// ---- find\n".len()..];
        let (find, after) = after
            .split_once("// ---- replace\n")
            .ok_or("a find block without `// ---- replace`")?;
        let (replace, after) = after
            .split_once("// ---- end")
            .ok_or("a replace block without `// ---- end`")?;
        count += 1;
        // A block that reaches the end of the reference has no newline after its last line.
        let (find, replace) = if text.matches(find).count() == 1 {
            (find.to_owned(), replace.to_owned())
        } else {
            (
                find.trim_end_matches('\n').to_owned(),
                replace.trim_end_matches('\n').to_owned(),
            )
        };
        match text.matches(find.as_str()).count() {
            1 => text = text.replacen(find.as_str(), &replace, 1),
            0 => {
                return Err(format!(
                    "edit {count}: its find block is not in the reference (did the reference change?)"
                ));
            }
            n => {
                return Err(format!(
                    "edit {count}: its find block occurs {n} times in the reference; add context"
                ));
            }
        }
        rest = after;
    }
    if count == 0 {
        return Err("an .edit file with no `// ---- find` block".to_owned());
    }
    Ok(text)
}

/// Grades the untouched stub and every known-wrong solution of `exercise` (built together, in
/// one cargo invocation) and returns every problem found.
pub fn check_exercise(overlay: &Overlay, exercise: &Exercise) -> Vec<String> {
    let mut problems = Vec::new();
    let mut wrongs = Vec::new();
    for file in exercise.wrong_solutions() {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let label = format!("{}/{name}", exercise.name);
        match std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                let wrong = parse_header(&text)?;
                let text = if file.extension().is_some_and(|e| e == "edit") {
                    let reference = exercise.solution_dir().join("src").join(&wrong.replaces);
                    let reference = std::fs::read_to_string(&reference)
                        .map_err(|e| format!("{}: {e}", reference.display()))?;
                    apply_edits(&reference, &text)?
                } else {
                    text
                };
                Ok((text, wrong))
            }) {
            Ok((text, wrong)) => wrongs.push((label, format!("wrong_{name}"), text, wrong)),
            Err(e) => problems.push(format!("{label}: {e}")),
        }
    }
    let read = |src: &Path| -> Result<Sources, String> {
        let (files, refused) = read_sources(src)?;
        match refused.first() {
            Some(problem) => Err(format!("{}: {problem}", src.display())),
            None => Ok(files),
        }
    };
    let (stub, reference) = match (
        read(&exercise.stub_dir().join("src")),
        read(&exercise.solution_dir().join("src")),
    ) {
        (Ok(stub), Ok(reference)) => (stub, reference),
        (Err(e), _) | (_, Err(e)) => return vec![format!("{}: {e}", exercise.name)],
    };
    // Each wrong solution: the reference with one file replaced.
    let wrong_sources: Vec<Sources> = wrongs
        .iter()
        .map(|(_, _, text, wrong)| {
            let mut files = reference.clone();
            files.insert(wrong.replaces.clone().into(), text.clone().into_bytes());
            files
        })
        .collect();
    let mut variants = vec![Variant {
        label: "stub",
        sources: &stub,
    }];
    for ((_, package, _, _), sources) in wrongs.iter().zip(&wrong_sources) {
        variants.push(Variant {
            label: package,
            sources,
        });
    }
    let built = match overlay.build_many(exercise, &variants, LIMIT, None) {
        Ok(built) => built,
        Err(e) => return vec![format!("{}: {e}", exercise.name)],
    };
    let run = |built: &Result<Built, String>| -> Result<Graded, String> {
        match built {
            Ok(Built { suite: Ok(exe), .. }) => overlay.run_all(exe, LIMIT),
            Ok(Built {
                suite: Err(errors), ..
            })
            | Err(errors) => Ok(Graded::DidNotCompile(errors.clone())),
        }
    };
    match run(&built[0]) {
        Ok(graded) => problems.extend(judge_stub(exercise, graded)),
        Err(e) => problems.push(format!("{}: the stub: {e}", exercise.name)),
    }
    for ((label, _, _, wrong), exe) in wrongs.iter().zip(&built[1..]) {
        match run(exe) {
            Ok(graded) => problems.extend(judge_wrong(label, wrong, graded)),
            Err(e) => problems.push(format!("{label}: {e}")),
        }
    }
    problems
}

/// Problems with the contract: the stub's docs and pub items drifted from the reference's, or (in
/// a traced suite, see [`crate::contract`]) a sentence of the docs no test checks, or a test that
/// cites no sentence.
pub fn check_drift(exercise: &Exercise) -> Vec<String> {
    let mut problems: Vec<String> = crate::drift::compare(
        &exercise.stub_dir().join("src"),
        &exercise.solution_dir().join("src"),
    )
    .into_iter()
    .map(|p| format!("{}: {p}", exercise.name))
    .collect();
    // The same docs are only worth comparing if each of their sentences is a tested rule.
    problems.extend(crate::contract::check(exercise));
    problems
}

/// Assertions of the hidden suite that carry no message: a learner who meets one sees
/// `assertion failed: left == right` and two values, not the rule they broke.
pub fn check_messages(exercise: &Exercise) -> Vec<String> {
    let suite = std::fs::read_to_string(exercise.hidden_suite()).unwrap_or_default();
    bare_assertions(&suite)
        .into_iter()
        .map(|(line, mac)| {
            format!(
                "tests/{}.rs:{line}: {mac}! without a message (say what the contract requires \
                 and the likely flaw)",
                exercise.name
            )
        })
        .collect()
}

/// `(line, macro)` of every `assert!`, `assert_eq!` and `assert_ne!` in `source` without a
/// message argument. Reads Rust's literals and comments well enough that a comma or a bracket in
/// a string, a character or a comment is not taken for one of the call's own.
pub fn bare_assertions(source: &str) -> Vec<(usize, &'static str)> {
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    for (name, needed) in [("assert", 2), ("assert_eq", 3), ("assert_ne", 3)] {
        let pattern = format!("{name}!(");
        let mut from = 0;
        while let Some(at) = source[from..].find(&pattern).map(|i| i + from) {
            from = at + pattern.len();
            let before = source[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if count_arguments(bytes, from - 1) < needed {
                let line = source[..at].matches('\n').count() + 1;
                found.push((line, name));
            }
        }
    }
    found.sort();
    found
}

/// The top-level arguments of the call whose `(` is at `open` (a trailing comma adds none).
fn count_arguments(bytes: &[u8], open: usize) -> usize {
    let (mut depth, mut i, mut commas, mut any) = (0usize, open, 0, false);
    let mut trailing = false;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"') | Some(b'#'))
                && !bytes[..i]
                    .last()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
            {
                // A raw string: r"…", r#"…"#.
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                if bytes.get(i + 1 + hashes) == Some(&b'"') {
                    let close: Vec<u8> = std::iter::once(b'"')
                        .chain(std::iter::repeat_n(b'#', hashes))
                        .collect();
                    i += 2 + hashes;
                    while i < bytes.len() && !bytes[i..].starts_with(&close) {
                        i += 1;
                    }
                    i += close.len();
                    any = true;
                    trailing = false;
                    continue;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                any = true;
                trailing = false;
                continue;
            }
            // A character literal ('(' or '\'') — not a lifetime ('a).
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => {
                i += 3;
                any = true;
                trailing = false;
                continue;
            }
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
                i += 1;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return if any {
                        commas + 1 - usize::from(trailing)
                    } else {
                        0
                    };
                }
            }
            b',' if depth == 1 => {
                commas += 1;
                trailing = true;
                i += 1;
                continue;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if depth >= 1 && i != open {
            any = true;
            trailing = false;
        }
        i += 1;
    }
    0
}

/// Problems with the grading manifest: it must parse, and every entry must name a real test.
pub fn check_manifest(root: &Path) -> Vec<String> {
    let manifest = match crate::manifest::Manifest::load(root) {
        Ok(m) => m,
        Err(e) => return vec![format!("tests/grading.toml: {e}")],
    };
    let mut problems: Vec<String> = manifest
        .entries()
        .filter_map(
            |(exercise, test)| match crate::exercises::find(root, exercise) {
                Err(_) => Some(format!("tests/grading.toml: no exercise {exercise}")),
                Ok(ex) if !crate::grader::expected_tests(&ex).contains(test) => Some(format!(
                    "tests/grading.toml: {exercise} has no hidden test {test}"
                )),
                Ok(_) => None,
            },
        )
        .collect();
    problems.extend(
        crate::exercises::all(root)
            .iter()
            .flat_map(|ex| instructor_only_but_visible(ex, &manifest)),
    );
    problems
}

/// The tests of a suite's instructor-only part (they run the reference) that the manifest would
/// show to learners: the visible tests' binary and the student edition leave that part out, so
/// each of them must be `hidden` or `after_due_date`.
fn instructor_only_but_visible(
    ex: &crate::exercises::Exercise,
    manifest: &crate::manifest::Manifest,
) -> Vec<String> {
    let Ok(suite) = std::fs::read_to_string(ex.hidden_suite()) else {
        return Vec::new();
    };
    let (_, instructor_only) = crate::export::split_instructor_only(&suite);
    crate::export::test_names(instructor_only)
        .into_iter()
        .filter(|test| {
            manifest
                .weight(&ex.name, test)
                .visibility
                .shown_to_learner()
        })
        .map(|test| {
            format!(
                "tests/grading.toml: {}::{test} runs the reference (it is below the line \
                 `{}`), so learners must not see it: give it visibility = \"hidden\"",
                ex.name,
                crate::export::INSTRUCTOR_ONLY
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertions_without_a_message_are_found_whatever_their_arguments_hold() {
        let suite = r##"
fn t() {
    assert_eq!(a, b);
    assert_eq!(f(1, 2), [3, 4], "the sum, pairwise");
    assert!(x.contains(','), "a comma in a char");
    assert!(y.starts_with("(,"));
    assert_ne!(
        g("a,b"),
        'x',
    );
    assert!(done, r#"raw, "quoted""#);
    pretty_assertions::assert_eq!(now(), ms(10), "at t={:?}", now());
    debug_assert!(z);
    assert!(w, // a comment, with a comma
    );
}"##;
        assert_eq!(
            bare_assertions(suite),
            vec![
                (3, "assert_eq"),
                (6, "assert"),
                (7, "assert_ne"),
                (14, "assert")
            ],
            "the bare ones, by line"
        );
    }

    #[test]
    fn edits_apply_to_exactly_one_place() {
        let reference = "fn a() {\n    one();\n}\nfn b() {\n    two();\n}";
        let edit = "//! expect: t — x\n// ---- find\nfn b() {\n    two();\n}\n// ---- replace\nfn b() {}\n// ---- end\n";
        assert_eq!(
            apply_edits(reference, edit).unwrap(),
            "fn a() {\n    one();\n}\nfn b() {}"
        );
        let ambiguous = "// ---- find\n();\n// ---- replace\n// ---- end\n";
        assert!(
            apply_edits(reference, ambiguous)
                .unwrap_err()
                .contains("occurs 2 times")
        );
        let stale = "// ---- find\nfn c() {\n// ---- replace\n// ---- end\n";
        assert!(
            apply_edits(reference, stale)
                .unwrap_err()
                .contains("not in the reference")
        );
    }

    #[test]
    fn the_header_names_the_file_and_the_expectations() {
        let text = "//! Wrong solution: sleeps.\n//! replaces: retry.rs\n//! expect: a_test — blocked the executor\n\nuse x;\n//! expect: ignored — after code";
        assert_eq!(
            parse_header(text),
            Ok(WrongSolution {
                replaces: "retry.rs".into(),
                expectations: vec![("a_test".into(), "blocked the executor".into())],
            })
        );
        assert!(parse_header("//! Wrong solution: nothing expected\n").is_err());
    }
}
