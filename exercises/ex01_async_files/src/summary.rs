//! What the program computes, whoever reads the files: the types of a summary, the counting of one
//! line, the top words, and the text of the report.
//!
//! This module is provided, complete, and shared by the synchronous program and your async one.
//! Converting a program to async changes *how it does I/O*, not what it computes: nothing here
//! touches a file or awaits anything.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

/// How to summarise a tree of log files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The most files open at once; 0 counts as 1. The synchronous program opens one at a time.
    pub max_open: usize,
    /// The longest line allowed, in bytes, not counting the `\n` that ends it. A longer line is a
    /// [`Problem::LineTooLong`] for its file, so no line longer than this is ever held in memory.
    pub max_line_len: usize,
    /// How many of the most frequent words the summary lists.
    pub top_words: usize,
}

impl Default for Options {
    /// 8 files at once, lines up to 64 KiB, the top 10 words.
    fn default() -> Self {
        Self {
            max_open: 8,
            max_line_len: 64 * 1024,
            top_words: 10,
        }
    }
}

/// The counts of one file that was read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStats {
    /// The file's path relative to the root that was summarised.
    pub path: PathBuf,
    /// Lines: each `\n` ends one, and text after the last `\n` is one more.
    pub lines: u64,
    /// Whitespace-separated words.
    pub words: u64,
    /// The size of the file in bytes, line endings included.
    pub bytes: u64,
    /// Lines that contain `ERROR`.
    pub error_lines: u64,
}

/// Why a file (or a directory) could not be summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Listing, opening or reading failed: not found, permission denied, a read error...
    Io(io::ErrorKind),
    /// Line `line` (counted from 1) is not valid UTF-8.
    InvalidUtf8 { line: u64 },
    /// Line `line` (counted from 1) is longer than [`Options::max_line_len`].
    LineTooLong { line: u64 },
}

/// A file or directory that could not be summarised, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// Relative to the root, like [`FileStats::path`].
    pub path: PathBuf,
    /// What went wrong.
    pub problem: Problem,
}

/// The summary of a tree of files. Two runs over the same tree give equal summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every file read to its end, sorted by path.
    pub files: Vec<FileStats>,
    /// Every file or directory that failed, sorted by path. A file that failed counts nowhere
    /// else: not in `files`, not in `top_words`.
    pub errors: Vec<FileError>,
    /// The most frequent words of all `files`, most frequent first, ties in alphabetical order;
    /// at most [`Options::top_words`] of them.
    pub top_words: Vec<(String, u64)>,
}

/// The running counts of one file, fed one line at a time.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    lines: u64,
    words: u64,
    bytes: u64,
    error_lines: u64,
    counts: HashMap<String, u64>,
}

impl Tally {
    /// Nothing counted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one line. `raw` is the line as read, with its `\n` if it has one (the last line of a
    /// file may not). Fails, counting nothing, if the line is not UTF-8.
    pub fn add_line(&mut self, raw: &[u8]) -> Result<(), Problem> {
        let number = self.lines + 1;
        let text = raw.strip_suffix(b"\n").unwrap_or(raw);
        let text = std::str::from_utf8(text).map_err(|_| Problem::InvalidUtf8 { line: number })?;
        self.lines = number;
        self.bytes += raw.len() as u64;
        if text.contains("ERROR") {
            self.error_lines += 1;
        }
        for word in text.split_whitespace() {
            self.words += 1;
            // Look up before inserting: most words were seen before, and `entry` would allocate
            // a `String` for every one of them.
            match self.counts.get_mut(word) {
                Some(count) => *count += 1,
                None => {
                    self.counts.insert(word.to_owned(), 1);
                }
            }
        }
        Ok(())
    }

    /// Lines counted so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The file's counts, and how often each word occurred in it.
    pub fn finish(self, path: PathBuf) -> (FileStats, HashMap<String, u64>) {
        let stats = FileStats {
            path,
            lines: self.lines,
            words: self.words,
            bytes: self.bytes,
            error_lines: self.error_lines,
        };
        (stats, self.counts)
    }
}

/// Adds one file's word counts to the running totals.
pub fn merge_counts(totals: &mut HashMap<String, u64>, file: HashMap<String, u64>) {
    for (word, count) in file {
        *totals.entry(word).or_insert(0) += count;
    }
}

/// The `k` most frequent words: most frequent first, ties in alphabetical order.
///
/// Linear in the number of distinct words plus `k log k`, but over a big tree that can still be
/// millions of words: CPU work worth keeping off the async executor.
pub fn top_words(counts: &HashMap<String, u64>, k: usize) -> Vec<(String, u64)> {
    let order = |a: &(&String, &u64), b: &(&String, &u64)| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0));
    let mut all: Vec<(&String, &u64)> = counts.iter().collect();
    if k < all.len() {
        // Partition around the k-th word, then sort only the k in front.
        all.select_nth_unstable_by(k, order);
        all.truncate(k);
    }
    all.sort_unstable_by(order);
    all.into_iter().map(|(w, c)| (w.clone(), *c)).collect()
}

impl Summary {
    /// The report, as text: totals, one line per file, one per failure, then the top words.
    pub fn render(&self) -> String {
        let total = |f: fn(&FileStats) -> u64| self.files.iter().map(f).sum::<u64>();
        let mut out = String::new();
        // Writing to a String cannot fail: the `let _` discards an always-Ok result.
        let _ = writeln!(
            out,
            "{} files read, {} failed\n{} lines, {} words, {} bytes, {} error lines",
            self.files.len(),
            self.errors.len(),
            total(|f| f.lines),
            total(|f| f.words),
            total(|f| f.bytes),
            total(|f| f.error_lines),
        );
        out.push_str("\nfiles (lines, words, bytes, error lines):\n");
        for f in &self.files {
            let _ = writeln!(
                out,
                "  {}  {} {} {} {}",
                f.path.display(),
                f.lines,
                f.words,
                f.bytes,
                f.error_lines
            );
        }
        out.push_str("\nfailed:\n");
        for e in &self.errors {
            let why = match &e.problem {
                Problem::Io(kind) => kind.to_string(),
                Problem::InvalidUtf8 { line } => format!("line {line} is not valid UTF-8"),
                Problem::LineTooLong { line } => format!("line {line} is too long"),
            };
            let _ = writeln!(out, "  {}  {why}", e.path.display());
        }
        out.push_str("\ntop words:\n");
        for (rank, (word, count)) in self.top_words.iter().enumerate() {
            let _ = writeln!(out, "  {:>2}. {word}  {count}", rank + 1);
        }
        out
    }
}
