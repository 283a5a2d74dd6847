//! Near-identical submissions, for an academic-integrity review: the way MOSS compares programs.
//!
//! Each submission's Rust sources are read as tokens with the layout, the comments and the names
//! taken out (every identifier is the same token, every number, every string), so that
//! reformatting, recommenting and renaming change nothing. Runs of [`K`] tokens are hashed, and
//! winnowing keeps the smallest hash of every window of [`W`] of them: the submission's
//! fingerprints. What the stub already contains is not evidence of anything, so the stub's
//! fingerprints are removed first; two submissions are then as similar as the share of their
//! remaining fingerprints they have in common (Jaccard). A grade is never changed by any of this:
//! it only points an instructor at files to read.

use crate::grade::Sources;
use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};

/// Tokens per hashed run: long enough that common idioms (`let x = y.await?;`) do not match by
/// themselves.
pub const K: usize = 12;
/// Winnowing window: any run of `W + K - 1` tokens shared by two submissions yields a shared
/// fingerprint.
pub const W: usize = 8;
/// Fewer fingerprints than this (beyond the stub's) is too little code to compare.
pub const MIN_FINGERPRINTS: usize = 10;

/// A submission's fingerprints.
pub type Fingerprints = HashSet<u64>;

/// The Rust files of `sources` as one stream of normalised tokens.
pub fn tokens(sources: &Sources) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in sources {
        if path.extension().is_some_and(|e| e == "rs") {
            tokenize(&String::from_utf8_lossy(bytes), &mut out);
        }
    }
    out
}

/// Rust's keywords stay what they are; every other word is a name.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while",
];

fn tokenize(text: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push("S".into());
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push("C".into());
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push("C".into());
        } else if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push("N".into());
        } else if c.is_alphabetic() || c == '_' || c == '\'' {
            // A name, a keyword or a lifetime.
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(if KEYWORDS.contains(&word.as_str()) {
                word
            } else {
                "I".into()
            });
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
}

/// The winnowed fingerprints of a token stream.
pub fn fingerprints(tokens: &[String]) -> Fingerprints {
    let hashes: Vec<u64> = tokens
        .windows(K)
        .map(|run| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            run.hash(&mut h);
            h.finish()
        })
        .collect();
    if hashes.len() < W {
        return hashes.into_iter().collect();
    }
    hashes
        .windows(W)
        .filter_map(|window| window.iter().min().copied())
        .collect()
}

/// The share of two fingerprint sets they have in common.
pub fn jaccard(a: &Fingerprints, b: &Fingerprints) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.intersection(b).count() as f64;
    common / (a.len() as f64 + b.len() as f64 - common)
}

/// A group of submissions to review together, with the lowest similarity between linked members.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub members: Vec<String>,
    pub similarity: f64,
    /// Every member's normalised code is the same token for token.
    pub identical: bool,
}

/// Groups of `submissions` (label, sources) whose code beyond `stub` is at least `threshold`
/// similar, linked transitively; largest first.
pub fn groups(stub: &Sources, submissions: &[(String, Sources)], threshold: f64) -> Vec<Group> {
    let base = fingerprints(&tokens(stub));
    let prints: Vec<(String, Vec<String>, Fingerprints)> = submissions
        .iter()
        .map(|(label, sources)| {
            let t = tokens(sources);
            let mut f = fingerprints(&t);
            f.retain(|h| !base.contains(h));
            (label.clone(), t, f)
        })
        .filter(|(_, _, f)| f.len() >= MIN_FINGERPRINTS)
        .collect();
    // Union-find over the pairs at or above the threshold.
    let mut parent: Vec<usize> = (0..prints.len()).collect();
    fn find(parent: &mut [usize], i: usize) -> usize {
        let mut root = i;
        while parent[root] != root {
            root = parent[root];
        }
        parent[i] = root;
        root
    }
    let mut lowest = vec![1.0f64; prints.len()];
    for i in 0..prints.len() {
        for j in i + 1..prints.len() {
            let s = jaccard(&prints[i].2, &prints[j].2);
            if s >= threshold {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a] = b;
                lowest[b] = lowest[b].min(lowest[a]).min(s);
            }
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..prints.len() {
        let root = find(&mut parent, i);
        by_root.entry(root).or_default().push(i);
    }
    let mut groups: Vec<Group> = by_root
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .map(|(root, members)| {
            let streams: BTreeSet<&Vec<String>> = members.iter().map(|&m| &prints[m].1).collect();
            Group {
                members: members.iter().map(|&m| prints[m].0.clone()).collect(),
                similarity: lowest[root],
                identical: streams.len() == 1,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members.cmp(&b.members))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(text: &str) -> Sources {
        [("lib.rs".into(), text.as_bytes().to_vec())]
            .into_iter()
            .collect()
    }

    const STUB: &str = "pub fn total(xs: &[u64]) -> u64 { todo!(\"add them up\") }\n";
    const ALICE: &str = "/// Adds.\npub fn total(xs: &[u64]) -> u64 {\n    let mut sum = 0;\n    for x in xs {\n        if *x > 10 { sum += x * 2; } else { sum += x; }\n    }\n    let extra = xs.iter().filter(|v| **v == 7).count() as u64;\n    sum + extra\n}\n";
    // Alice's, reformatted, recommented, every name changed.
    const MALLORY: &str = "// my own work\npub fn total(values: &[u64]) -> u64 { let mut acc = 0; for v in values { if *v > 10 { acc += v * 2; } else { acc += v; } } /* bonus */ let bonus = values.iter().filter(|n| **n == 7).count() as u64; acc + bonus }";
    const BOB: &str = "pub fn total(xs: &[u64]) -> u64 {\n    xs.iter().map(|&x| match x { 0..=10 => x, _ => 2 * x }).sum::<u64>()\n        + xs.iter().copied().filter(|&x| x == 7).map(|_| 1).sum::<u64>()\n}\n";

    #[test]
    fn reformatting_recommenting_and_renaming_change_nothing() {
        let a = fingerprints(&tokens(&sources(ALICE)));
        let m = fingerprints(&tokens(&sources(MALLORY)));
        assert_eq!(tokens(&sources(ALICE)), tokens(&sources(MALLORY)));
        assert!((jaccard(&a, &m) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn copies_are_grouped_and_an_independent_solution_is_not() {
        let class = vec![
            ("alice".to_owned(), sources(ALICE)),
            ("bob".to_owned(), sources(BOB)),
            ("mallory".to_owned(), sources(MALLORY)),
            ("stub".to_owned(), sources(STUB)),
        ];
        let found = groups(&sources(STUB), &class, 0.8);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].members, ["alice", "mallory"]);
        assert!(found[0].identical);
    }

    #[test]
    fn the_stubs_own_code_is_no_evidence() {
        // Two untouched stubs share everything, and it is all the stub's.
        let class = vec![
            ("a".to_owned(), sources(STUB)),
            ("b".to_owned(), sources(STUB)),
        ];
        assert!(groups(&sources(STUB), &class, 0.8).is_empty());
    }
}
