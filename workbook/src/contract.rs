//! Contract traceability: every sentence of a stub's docs is a rule some hidden test checks, and
//! every hidden test says which rule it checks.
//!
//! A test cites the sentences it checks in its doc comment, one quote per line:
//!
//! ```text
//! /// contract: "each later one no earlier than `period` after the previous one was yielded"
//! #[test]
//! fn throttle_counts_the_period_from_the_previous_item_yielded() { … }
//! ```
//!
//! A quote is a fragment of one sentence of the stub's docs (`///` comments; whitespace is
//! normalised). A sentence that states no rule a test could observe — a pointer to another item,
//! an explanation of why — is listed once in the suite's header with the reason:
//!
//! ```text
//! //! not a rule: "See [`Throttle`]" — a pointer to the type's docs, which state the rules
//! ```
//!
//! The dev check then fails on a test that cites nothing, on a quote found in no sentence (the
//! docs were reworded: the test must follow), and on a sentence no quote falls in. An exercise is
//! traced once its suite cites anything; until then the check lists it as not traced yet.

use crate::exercises::Exercise;

/// What the dev check reports for one exercise.
pub fn check(exercise: &Exercise) -> Vec<String> {
    let Ok(suite) = std::fs::read_to_string(exercise.hidden_suite()) else {
        return Vec::new();
    };
    let citations = citations(&suite);
    let exempt = exemptions(&suite);
    if citations.iter().all(|(_, quotes)| quotes.is_empty()) {
        return Vec::new();
    }
    let sentences = stub_sentences(exercise);
    let label = &exercise.name;
    let mut problems = Vec::new();
    for (test, quotes) in &citations {
        if quotes.is_empty() {
            problems.push(format!(
                "{label}: test {test} cites no sentence of the contract (add `/// contract: \
                 \"…\"` with the words of the stub's docs it checks)"
            ));
        }
    }
    let all_quotes = citations.iter().flat_map(|(_, q)| q).chain(&exempt);
    for quote in all_quotes.clone() {
        if !sentences.iter().any(|(_, s)| s.contains(quote.as_str())) {
            problems.push(format!(
                "{label}: the quote \"{quote}\" is in no sentence of the stub's docs (reworded? \
                 a quote must lie within one sentence)"
            ));
        }
    }
    for (file, sentence) in &sentences {
        if !all_quotes.clone().any(|q| sentence.contains(q.as_str())) {
            problems.push(format!(
                "{label}: {file}: no test checks the sentence \"{sentence}\" (cite it from a \
                 test, or list it in the suite's header as `//! not a rule: \"…\" — why`)"
            ));
        }
    }
    problems
}

/// Whether the suite cites the contract at all.
pub fn is_traced(exercise: &Exercise) -> bool {
    std::fs::read_to_string(exercise.hidden_suite())
        .map(|suite| citations(&suite).iter().any(|(_, q)| !q.is_empty()))
        .unwrap_or(false)
}

/// Every test of the suite, with the quotes its doc comment cites.
fn citations(suite: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut quotes = Vec::new();
    let mut after_test_attribute = false;
    for line in suite.lines() {
        let line = line.trim();
        if let Some(doc) = line.strip_prefix("///") {
            if let Some(quote) = doc.trim().strip_prefix("contract:") {
                quotes.push(unquote(quote));
            }
        } else if line == "#[test]" {
            after_test_attribute = true;
        } else if after_test_attribute && let Some(rest) = line.strip_prefix("fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push((name, std::mem::take(&mut quotes)));
            after_test_attribute = false;
        } else if !line.starts_with("#[") && !after_test_attribute {
            // A doc comment belongs to the item right after it.
            quotes.clear();
        }
    }
    out
}

/// The header's `//! not a rule: "…" — why` quotes.
fn exemptions(suite: &str) -> Vec<String> {
    suite
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("//!")?
                .trim()
                .strip_prefix("not a rule:")
        })
        .map(|rest| unquote(rest.split(" — ").next().unwrap_or(rest)))
        .collect()
}

fn unquote(text: &str) -> String {
    let text = text.trim();
    let text = text.strip_prefix('"').unwrap_or(text);
    let text = text.strip_suffix('"').unwrap_or(text);
    normalise(text)
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The sentences of the stub's `///` docs, file by file, in order. Code blocks and headings are
/// left out; list items and paragraphs end sentences; a sentence ends at `.`, `!` or `?`
/// followed by a space and a capital, a backtick, a bracket or a digit.
pub fn stub_sentences(exercise: &Exercise) -> Vec<(String, String)> {
    let src = exercise.stub_dir().join("src");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for sentence in sentences(&text) {
            out.push((name.clone(), sentence));
        }
    }
    out
}

fn sentences(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut paragraph = String::new();
    let mut in_code = false;
    let flush = |paragraph: &mut String, out: &mut Vec<String>| {
        out.extend(split_sentences(paragraph));
        paragraph.clear();
    };
    for line in source.lines() {
        let Some(doc) = line.trim_start().strip_prefix("///") else {
            flush(&mut paragraph, &mut out);
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if doc.trim_start().starts_with("```") {
            in_code = !in_code;
            flush(&mut paragraph, &mut out);
            continue;
        }
        let trimmed = doc.trim();
        let list_item = trimmed.starts_with("* ")
            || trimmed.starts_with("- ")
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if in_code || trimmed.is_empty() || trimmed.starts_with('#') || list_item {
            flush(&mut paragraph, &mut out);
        }
        if in_code || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        paragraph.push(' ');
        paragraph.push_str(trimmed);
    }
    flush(&mut paragraph, &mut out);
    out
}

/// Splits one paragraph into sentences of three words or more (shorter ones are labels).
fn split_sentences(paragraph: &str) -> Vec<String> {
    let text = normalise(paragraph);
    let bytes: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..bytes.len() {
        let ends = matches!(bytes[i], '.' | '!' | '?')
            && bytes.get(i + 1) == Some(&' ')
            && bytes.get(i + 2).is_some_and(|c| {
                c.is_uppercase() || c.is_ascii_digit() || matches!(c, '`' | '[' | '(' | '*')
            })
            // "e.g. X", "i.e. X": not the end of a sentence.
            && !text_before(&bytes, i).ends_with("e.g")
            && !text_before(&bytes, i).ends_with("i.e");
        if ends {
            out.push(bytes[start..=i].iter().collect::<String>());
            start = i + 2;
        }
    }
    if start < bytes.len() {
        out.push(bytes[start..].iter().collect::<String>());
    }
    out.into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| s.split_whitespace().count() >= 3)
        .collect()
}

fn text_before(chars: &[char], i: usize) -> String {
    chars[i.saturating_sub(4)..i].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_list_items_and_sentence_ends_split_the_docs() {
        let source = "/// Yields every item. Nothing is dropped, e.g. under load.\n\
                      ///\n/// # Panics\n/// * when `max` is 0 — it must be one at least\n\
                      /// ```\n/// let x = 1. Not this.\n/// ```\nfn f() {}\n";
        assert_eq!(
            sentences(source),
            [
                "Yields every item.",
                "Nothing is dropped, e.g. under load.",
                "* when `max` is 0 — it must be one at least"
            ],
            "sentences of three words or more; headings and code left out"
        );
    }

    #[test]
    fn a_tests_citations_are_the_contract_lines_of_its_own_doc_comment() {
        let suite = "//! not a rule: \"See the type\" — a pointer\n\n/// Checks it.\n\
                     /// contract: \"every item\"\n/// contract: \"Nothing  is dropped\"\n\
                     #[test]\nfn one() {}\n\n/// contract: \"stray\"\nfn helper() {}\n\n\
                     #[test]\nfn two() {}\n";
        assert_eq!(
            citations(suite),
            [
                (
                    "one".to_owned(),
                    vec!["every item".to_owned(), "Nothing is dropped".to_owned()]
                ),
                ("two".to_owned(), vec![])
            ],
            "each test gets the quotes of its own doc comment, none of a helper's"
        );
        assert_eq!(
            exemptions(suite),
            ["See the type"],
            "the header's exemptions"
        );
    }
}
