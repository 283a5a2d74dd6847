//! Hints for the terminal: the chapter's Markdown rendered by termimad (bold, lists and code blocks
//! drawn, not shown as `**` and fences), links made readable from the workbook's root, and a tier
//! narrowed to the step the learner is stuck on.

use crate::scorecard::Step;
use std::path::Path;

/// Renders a hint's Markdown for a terminal `width` columns wide. Links are rewritten first:
/// `[cancellation](concepts/cancellation.md)` becomes `cancellation (curriculum/src/concepts/
/// cancellation.md)`, a path a learner can open from the workbook's root (`chapter_dir`: the
/// chapter's folder relative to it); web links keep their address.
pub fn render(markdown: &str, chapter_dir: &Path, colour: bool, width: usize) -> String {
    let text = readable_links(markdown, chapter_dir);
    // A fence's info string (```rust,ignore) is the book's business, not the learner's.
    let text: String = text
        .lines()
        .map(|l| match l.trim_start().strip_prefix("```") {
            Some(_) => "```",
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let skin = if colour {
        termimad::MadSkin::default()
    } else {
        termimad::MadSkin::no_style()
    };
    let rendered = skin.text(&text, Some(width.max(20))).to_string();
    // termimad pads every line to the width; trailing blanks only wrap badly when pasted.
    rendered
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `[text](target)` → `text (target)`, with a relative target resolved from the chapter's folder.
pub fn readable_links(markdown: &str, chapter_dir: &Path) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|close| {
            let target_end = after[close + 2..].find(')')?;
            let text = &after[..close];
            // Not a link when the "text" spans lines or holds another bracket (an array index).
            (!text.contains(['\n', '[', ']'])).then_some((
                text,
                &after[close + 2..close + 2 + target_end],
                close + 2 + target_end + 1,
            ))
        });
        match link {
            Some((text, target, len)) => {
                out.push_str(&rest[..open]);
                out.push_str(&format!("{text} ({})", resolve(target, chapter_dir)));
                rest = &after[len..];
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn resolve(target: &str, chapter_dir: &Path) -> String {
    if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
        return target.to_owned();
    }
    let mut path = chapter_dir.to_path_buf();
    for part in target.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                path.pop();
            }
            _ => path.push(part),
        }
    }
    path.display().to_string()
}

/// One piece of a hint: a top-level bullet (with its continuation lines), a code block or a
/// paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub text: String,
}

impl Part {
    /// The label a part gives itself: a bullet that starts `**worker:**`, or a code block whose
    /// first line is `// worker.rs — …`. Lower case, without `.rs`.
    fn label(&self) -> Option<String> {
        let first = self.text.lines().next()?.trim();
        let label = if let Some(bold) = first
            .strip_prefix("- **")
            .or_else(|| first.strip_prefix("* **"))
        {
            bold.split("**").next()?.trim_end_matches(':').to_owned()
        } else if first.starts_with("```") {
            let comment = self.text.lines().nth(1)?.trim().strip_prefix("//")?;
            comment.split_whitespace().next()?.to_owned()
        } else {
            return None;
        };
        Some(label.trim_end_matches(".rs").to_lowercase())
    }

    /// Whether this part is about `step`: by its label if it has one, else by naming the step's
    /// file or one of its items.
    fn is_about(&self, step: &Step) -> bool {
        let names = step_names(step);
        match self.label() {
            Some(label) => names.contains(&label),
            None => {
                let text = self.text.to_lowercase();
                text.contains(&step.file.to_lowercase())
                    || words(&text).any(|w| names.iter().any(|n| n.len() >= 5 && *n == w))
            }
        }
    }
}

/// The names a step goes by, lower case: its file's stem and the identifiers in its item
/// (`RetryPolicy::backoff` → `retrypolicy`, `backoff`).
fn step_names(step: &Step) -> Vec<String> {
    let stem = step.file.trim_end_matches(".rs").to_lowercase();
    let mut names: Vec<String> = words(&step.item.to_lowercase())
        .map(str::to_owned)
        .collect();
    if stem != "lib" {
        names.push(stem);
    }
    names
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// A hint's body cut into parts.
pub fn parts(body: &str) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    let mut flush = |current: &mut String| {
        if !current.trim().is_empty() {
            parts.push(Part {
                text: current.trim_end().to_owned(),
            });
        }
        current.clear();
    };
    for line in body.lines() {
        let fence = line.trim_start().starts_with("```");
        if in_code {
            current.push_str(line);
            current.push('\n');
            if fence {
                in_code = false;
                flush(&mut current);
            }
            continue;
        }
        let starts_part = fence || line.starts_with("- ") || line.starts_with("* ");
        if starts_part || line.trim().is_empty() {
            flush(&mut current);
        }
        if fence {
            in_code = true;
        }
        if !line.trim().is_empty() {
            current.push_str(line);
            current.push('\n');
        }
    }
    flush(&mut current);
    parts
}

/// A hint narrowed to `step`: the parts about it and the parts about no step in particular.
/// Returns the narrowed Markdown and whether anything in it is about the step itself (when
/// nothing is, the caller says so rather than show generalities as if they were the answer), and
/// the other steps (`file — item`) that the full hint also covers.
pub fn for_step(body: &str, step: &Step, steps: &[Step]) -> (String, bool, Vec<String>) {
    let mut kept = Vec::new();
    let mut specific = false;
    let mut others: Vec<String> = Vec::new();
    for part in parts(body) {
        let about: Vec<&Step> = steps.iter().filter(|s| part.is_about(s)).collect();
        if part.is_about(step) {
            specific = true;
            kept.push(part.text);
        } else if about.is_empty() {
            kept.push(part.text);
        } else {
            for s in about {
                let name = format!("{} — {}", s.file, s.item);
                if !others.contains(&name) && s != step {
                    others.push(name);
                }
            }
        }
    }
    (kept.join("\n\n"), specific, others)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(file: &str, item: &str) -> Step {
        Step {
            file: file.into(),
            item: item.into(),
            patterns: vec![],
        }
    }

    #[test]
    fn links_are_made_readable_from_the_root() {
        let dir = Path::new("curriculum/src");
        assert_eq!(
            readable_links(
                "see [cancel](concepts/cancellation.md#safety) and [tokio](https://docs.rs/tokio)",
                dir
            ),
            "see cancel (curriculum/src/concepts/cancellation.md#safety) and tokio (https://docs.rs/tokio)",
            "relative links resolved, web links kept"
        );
        assert_eq!(
            readable_links("v[0] and [x](../README.md)", dir),
            "v[0] and x (curriculum/README.md)",
            "an index is not a link; `..` climbs"
        );
    }

    #[test]
    fn markdown_is_rendered_not_shown_raw() {
        let out = render(
            "- **retry:** compute `deadline` once\n\n```rust,ignore\nlet x = 1;\n```\n",
            Path::new("curriculum/src"),
            false,
            60,
        );
        assert!(
            !out.contains("**") && !out.contains("```"),
            "no raw markup: {out}"
        );
        assert!(
            out.contains("retry:") && out.contains("let x = 1;"),
            "the words stay: {out}"
        );
    }

    #[test]
    fn a_hint_is_narrowed_to_the_step_and_says_what_else_it_covers() {
        let steps = [
            step("timeout.rs", "with_timeout"),
            step("retry.rs", "retry"),
            step("worker.rs", "run_worker"),
        ];
        let body = "Think about time.\n\n- **retry:** one deadline.\n- **worker:** two selects.\n\n\
                    ```rust,ignore\n// worker.rs — the loop\nloop {}\n```\n\n- `with_timeout` is `tokio::time::timeout` with a typed error.";
        let (text, specific, others) = for_step(body, &steps[2], &steps);
        assert!(specific, "the worker has parts of its own");
        assert!(
            text.contains("two selects") && text.contains("loop {}"),
            "{text}"
        );
        assert!(
            text.contains("Think about time."),
            "a general part stays: {text}"
        );
        assert!(
            !text.contains("one deadline"),
            "another step's part goes: {text}"
        );
        assert_eq!(
            others,
            ["retry.rs — retry", "timeout.rs — with_timeout"],
            "and is named"
        );

        let (text, specific, _) = for_step("- **worker:** two selects.", &steps[0], &steps);
        assert!(
            !specific && text.is_empty(),
            "nothing for timeout.rs: {text}"
        );
    }
}
