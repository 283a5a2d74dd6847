//! The scorecard of `cargo wb check`: the tests grouped by the chapter's steps in the chapter's
//! order, the step to work on opened (failing tests first, each with a one-line reason), every
//! other step collapsed to one line, and a "next:" line naming the file and the item to write.
//! It fits one screen: a learner reads it top to bottom without scrolling.
//!
//! The steps come from an HTML comment in the chapter (invisible in the book):
//!
//! ```text
//! <!-- steps: …
//! timeout.rs | with_timeout | with_timeout_*
//! retry.rs | retry | retry_* backoff_is_measured_*
//! -->
//! ```
//!
//! A test no step names (a hidden test, in the instructor's repository) goes to "other tests".

use crate::learner::{Check, Kind};

/// One step of a chapter: the file to edit, the item to write, and the tests that check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub file: String,
    pub item: String,
    /// Test names; `*` stands for any run of characters.
    pub patterns: Vec<String>,
}

/// The steps listed in the chapter's `<!-- steps: … -->` comment, in order (none if it has none).
pub fn steps(chapter: &str) -> Vec<Step> {
    let Some(start) = chapter.find("<!-- steps:") else {
        return Vec::new();
    };
    let block = &chapter[start..];
    let block = &block[..block.find("-->").unwrap_or(block.len())];
    block
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim);
            let (file, item, tests) = (cells.next()?, cells.next()?, cells.next()?);
            // The comment's own legend ("file | what to write | tests …") is not a step.
            if !file.ends_with(".rs") {
                return None;
            }
            Some(Step {
                file: file.to_owned(),
                item: item.to_owned(),
                patterns: tests.split_whitespace().map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// `*` matches any run of characters (none included); everything else matches itself.
pub fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*`: the whole name
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The index of the first step whose patterns match `test`.
pub fn step_of(steps: &[Step], test: &str) -> Option<usize> {
    steps
        .iter()
        .position(|s| s.patterns.iter().any(|p| glob(p, test)))
}

/// A failing test's message in one line: the assertion's own words (the first line after the
/// panic's location), or what was not implemented yet.
pub fn one_line_reason(message: &str) -> String {
    let verdict = message.rsplit("panicked at").next().unwrap_or(message);
    let line = verdict
        .lines()
        .skip(1)
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("note: run with"))
        .unwrap_or("failed (no message)");
    // The assertion macros' preamble says nothing the message does not.
    let line = [
        "assertion failed: `(left == right)`",
        "assertion `left == right` failed",
    ]
    .iter()
    .find_map(|p| line.strip_prefix(p))
    .map_or(line, |rest| rest.trim_start_matches(':').trim());
    line.to_owned()
}

/// One group of the scorecard: a step (or "other tests") with its tests' outcomes.
#[derive(Debug, Default)]
struct Group<'a> {
    title: String,
    passed: usize,
    failed: Vec<(&'a str, &'a str, Kind)>,
}

impl Group<'_> {
    fn total(&self) -> usize {
        self.passed + self.failed.len()
    }
    fn untouched(&self) -> bool {
        self.passed == 0
            && self
                .failed
                .iter()
                .all(|(_, _, k)| *k == Kind::NotImplemented)
    }
}

/// The check's tests sorted into the chapter's steps, in the chapter's order; empty groups are
/// left out, "other tests" comes last.
fn groups<'a>(check: &'a Check, steps: &[Step]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group> = steps
        .iter()
        .map(|s| Group {
            title: format!("{} — {}", s.file, s.item),
            ..Group::default()
        })
        .chain(std::iter::once(Group {
            title: "other tests".to_owned(),
            ..Group::default()
        }))
        .collect();
    let other = steps.len();
    for name in &check.passed {
        groups[step_of(steps, name).unwrap_or(other)].passed += 1;
    }
    // Within a kind, the suite's order; the most actionable kinds first (as `first_failure`).
    for kind in Kind::ACTIONABLE {
        for (name, message) in check.failed.get(&kind).into_iter().flatten() {
            groups[step_of(steps, name).unwrap_or(other)].failed.push((
                name.as_str(),
                message.as_str(),
                kind,
            ));
        }
    }
    groups.retain(|g| g.total() > 0);
    groups
}

/// What a learner should do next: the first step (in the chapter's order) with a failing test,
/// its first failing test and that test's one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    /// "`timeout.rs` — `with_timeout`", or "other tests".
    pub step: String,
    pub test: String,
    pub reason: String,
}

pub fn next(check: &Check, steps: &[Step]) -> Option<Next> {
    let groups = groups(check, steps);
    let group = groups.iter().find(|g| !g.failed.is_empty())?;
    let (test, message, _) = group.failed[0];
    let step = match group.title.split_once(" — ") {
        Some((file, item)) => format!("`{file}` — `{item}`"),
        None => group.title.clone(),
    };
    Some(Next {
        step,
        test: test.to_owned(),
        reason: one_line_reason(message),
    })
}

/// The scorecard (not for a compile error: the caller shows the compiler's messages). `short` is
/// what names the exercise on the command line (`06`); `width` the terminal's columns.
pub fn render(check: &Check, steps: &[Step], short: &str, colour: bool, width: usize) -> String {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let fit = |text: String, indent: usize| clip(&text, width.saturating_sub(indent).max(20));
    let groups = groups(check, steps);
    let title_width = groups
        .iter()
        .map(|g| g.title.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let bar = crate::learner::progress_bar(check.passed.len(), check.total(), 30);
    let status = if check.done() {
        paint("32", "done ✓")
    } else {
        format!("{}/{} tests pass", check.passed.len(), check.total())
    };
    out.push_str(&format!("{} {bar} {status}\n\n", check.exercise));
    let current = groups.iter().position(|g| !g.failed.is_empty());
    for (i, group) in groups.iter().enumerate() {
        let count = format!("{}/{}", group.passed, group.total());
        let (mark, note) = if group.failed.is_empty() {
            (paint("32", "✓"), String::new())
        } else if group.untouched() {
            ("·".to_owned(), "  not implemented yet".to_owned())
        } else {
            (paint("31", "✗"), String::new())
        };
        out.push_str(&format!(
            "{mark} {:<title_width$}  {count:>5}{note}\n",
            group.title
        ));
        if Some(i) == current {
            out.push_str(&details(group, &paint, &fit));
        }
    }
    if let Some(next) = next(check, steps) {
        out.push_str(&format!(
            "\nnext: {} — make {} pass\n      {}\n",
            next.step,
            fit(format!("`{}`", next.test), 24),
            fit(next.reason.clone(), 6)
        ));
        let kind = Kind::of(
            check
                .failed
                .values()
                .flatten()
                .find(|(n, _)| *n == next.test)
                .map_or("", |(_, m)| m.as_str()),
        );
        if matches!(kind, Kind::Blocked | Kind::WaitedForever | Kind::Leaked) {
            out.push_str(&format!("      {}\n", fit(kind.heading().to_owned(), 6)));
        }
        out.push_str(&format!(
            "more: `cargo wb check {short} --full` (every message) · `cargo wb hint {short}`\n"
        ));
    }
    out
}

/// The open step: its failing tests (at most four, each with its one-line reason), then the
/// passing ones as a count.
fn details(
    group: &Group,
    paint: &dyn Fn(&str, &str) -> String,
    fit: &dyn Fn(String, usize) -> String,
) -> String {
    const SHOWN: usize = 4;
    let mut out = String::new();
    for (name, message, _) in group.failed.iter().take(SHOWN) {
        out.push_str(&format!(
            "    {} {}\n",
            paint("31", "✗"),
            fit(name.to_string(), 6)
        ));
        out.push_str(&format!("        {}\n", fit(one_line_reason(message), 8)));
    }
    let more = group.failed.len().saturating_sub(SHOWN);
    let mut tail = Vec::new();
    if more > 0 {
        tail.push(format!("{more} more failing"));
    }
    if group.passed > 0 {
        tail.push(format!("{} passing", group.passed));
    }
    if !tail.is_empty() {
        out.push_str(&format!("    … {}\n", tail.join(", ")));
    }
    out
}

/// `text` cut to `width` characters, with an ellipsis when cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Every failing test with its whole message (`check --full`), grouped by kind of failure.
pub fn render_full(check: &Check, colour: bool) -> String {
    let mut out = String::new();
    let mark = if colour { "\x1b[31m✗\x1b[0m" } else { "✗" };
    for kind in Kind::ACTIONABLE {
        let Some(tests) = check.failed.get(&kind) else {
            continue;
        };
        out.push_str(&format!("\n{mark} {} ({})\n", kind.heading(), tests.len()));
        for (name, message) in tests {
            out.push_str(&format!("  • {name}\n"));
            if kind == Kind::NotImplemented {
                // What is not implemented is all there is to say.
                out.push_str(&format!("      {}\n", one_line_reason(message)));
                continue;
            }
            let verdict = message.rsplit("panicked at").next().unwrap_or(message);
            for line in verdict.lines().skip(1).filter(|l| !l.trim().is_empty()) {
                out.push_str(&format!("      {line}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const CHAPTER: &str = "# Ex\n\n<!-- steps: groups, in order.\n     file | what to write | tests (`*`)\n\
        timeout.rs | with_timeout | with_timeout_*\n\
        retry.rs | retry | retry_* each_attempt_*\n-->\n## What the tests check\n";

    fn check(passed: &[&str], failed: &[(&str, &str)]) -> Check {
        let mut by_kind: BTreeMap<Kind, Vec<(String, String)>> = BTreeMap::new();
        for (name, message) in failed {
            by_kind
                .entry(Kind::of(message))
                .or_default()
                .push((name.to_string(), message.to_string()));
        }
        Check {
            exercise: "ex06_timeouts".into(),
            compile_errors: None,
            passed: passed.iter().map(|s| s.to_string()).collect(),
            failed: by_kind,
        }
    }

    #[test]
    fn steps_are_read_from_the_chapters_comment_in_order() {
        let s = steps(CHAPTER);
        assert_eq!(s.len(), 2, "two steps, the legend line is not one: {s:?}");
        assert_eq!(
            (s[1].file.as_str(), s[1].item.as_str()),
            ("retry.rs", "retry"),
            "the second step"
        );
        assert_eq!(s[1].patterns, ["retry_*", "each_attempt_*"], "its tests");
        assert!(steps("# no comment").is_empty(), "no comment, no steps");
    }

    #[test]
    fn a_pattern_star_matches_any_run_of_characters() {
        assert!(glob("with_timeout_*", "with_timeout_x"), "a prefix");
        assert!(
            glob("a_*_b", "a_xyz_b") && glob("a_*_b", "a__b"),
            "a middle"
        );
        assert!(
            glob("exact", "exact") && !glob("exact", "exact_not"),
            "no star: the whole name"
        );
        assert!(!glob("retry_*", "the_retry_x"), "anchored at the start");
        assert!(!glob("*_end", "the_end_not"), "anchored at the end");
    }

    #[test]
    fn the_scorecard_opens_the_first_failing_step_and_collapses_the_rest() {
        let c = check(
            &["with_timeout_a", "with_timeout_b", "retry_c", "hidden_x"],
            &[
                (
                    "each_attempt_d",
                    "thread 'x' panicked at tests/t.rs:1:1:\nattempt 2 started at t=100ms, expected t=300ms\nnote: run with `RUST_BACKTRACE=1`",
                ),
                (
                    "retry_e",
                    "thread 'x' panicked at src/retry.rs:1:1:\nnot implemented yet: retry",
                ),
            ],
        );
        let text = render(&c, &steps(CHAPTER), "06", false, 100);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("4/6 tests pass"),
            "the score first: {text}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("✓ timeout.rs — with_timeout") && l.ends_with("2/2")),
            "a passing step is one line with its count: {text}"
        );
        let open = lines
            .iter()
            .position(|l| l.starts_with("✗ retry.rs — retry"))
            .expect(&text);
        assert!(
            lines[open + 1].contains("✗ each_attempt_d")
                && lines[open + 2].trim() == "attempt 2 started at t=100ms, expected t=300ms",
            "the open step lists a failure that is not a todo first, with its reason: {text}"
        );
        assert!(
            lines[open + 3].contains("✗ retry_e"),
            "then the todo: {text}"
        );
        assert!(
            text.contains("… 1 passing"),
            "passing tests are a count: {text}"
        );
        assert!(
            text.contains("✓ other tests"),
            "a test no step names is not lost: {text}"
        );
        assert!(
            text.contains("next: `retry.rs` — `retry` — make `each_attempt_d` pass"),
            "the next line names file, item and test: {text}"
        );
        assert!(
            !text.contains("RUST_BACKTRACE"),
            "cargo's note is not a reason: {text}"
        );
    }

    #[test]
    fn a_typical_exercise_fits_one_screen() {
        let names: Vec<String> = (0..38).map(|i| format!("retry_{i}")).collect();
        let failed: Vec<(&str, &str)> = names
            .iter()
            .map(|n| {
                (
                    n.as_str(),
                    "thread 'x' panicked at a:1:1:\nnot implemented yet: retry",
                )
            })
            .collect();
        let text = render(&check(&[], &failed), &steps(CHAPTER), "06", false, 80);
        assert!(
            text.lines().count() <= 24,
            "{} lines: {text}",
            text.lines().count()
        );
        assert!(
            text.lines().all(|l| l.chars().count() <= 80),
            "every line fits 80 columns: {text}"
        );
    }
}
