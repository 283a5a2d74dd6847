//! The program before: synchronous, one file at a time, with `std::fs`.
//!
//! It works, and it is the specification: your async version must produce the same [`Summary`]
//! for the same tree. Read it first. Everything that makes it unfit for an async program is marked
//! `BLOCKING`, and the two things it gets for free that yours will not are marked `FOR FREE`.

use crate::summary::{FileError, Options, Problem, Summary, Tally, merge_counts, top_words};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Summarises every file under `root`, recursively.
///
/// Fails only if `root` itself cannot be listed; every other failure is one entry of
/// [`Summary::errors`], and the walk goes on.
pub fn summarise(root: &Path, options: &Options) -> io::Result<Summary> {
    let mut walk = Walk {
        root,
        max_line_len: options.max_line_len,
        summary: Summary::default(),
        counts: HashMap::new(),
    };
    // A root that cannot be listed is the caller's mistake: the whole run fails.
    for (path, is_dir) in list_sorted(root)? {
        walk.visit(path, is_dir);
    }
    // FOR FREE: the walk visits entries in sorted order and handles one file at a time, so `files`
    // and `errors` come out sorted by path without ever being sorted.
    walk.summary.top_words = top_words(&walk.counts, options.top_words);
    Ok(walk.summary)
}

/// Writes `summary.render()` to `path`.
pub fn write_report(summary: &Summary, path: &Path) -> io::Result<()> {
    // BLOCKING, and not atomic: the file is truncated first, so a crash (or a full disk) half-way
    // leaves a half-written report where the old one was.
    fs::write(path, summary.render())
}

/// The whole program: summarise `root` and write the report to `report`.
pub fn run(root: &Path, report: &Path, options: &Options) -> io::Result<Summary> {
    let summary = summarise(root, options)?;
    write_report(&summary, report)?;
    Ok(summary)
}

struct Walk<'a> {
    root: &'a Path,
    max_line_len: usize,
    summary: Summary,
    counts: HashMap<String, u64>,
}

impl Walk<'_> {
    fn visit(&mut self, path: PathBuf, is_dir: bool) {
        let relative = path.strip_prefix(self.root).unwrap_or(&path).to_path_buf();
        if is_dir {
            match list_sorted(&path) {
                Ok(entries) => {
                    for (path, is_dir) in entries {
                        self.visit(path, is_dir);
                    }
                }
                Err(e) => self.fail(relative, Problem::Io(e.kind())),
            }
            return;
        }
        match summarise_file(&path, self.max_line_len) {
            Ok(tally) => {
                let (stats, words) = tally.finish(relative);
                self.summary.files.push(stats);
                merge_counts(&mut self.counts, words);
            }
            // A file that fails counts for nothing: its partial tally is dropped with it.
            Err(problem) => self.fail(relative, problem),
        }
    }

    fn fail(&mut self, path: PathBuf, problem: Problem) {
        self.summary.errors.push(FileError { path, problem });
    }
}

// The entries of `dir` as `(path, is a directory)`, sorted by name. Symbolic links are not
// followed into: a link is listed as a file.
fn list_sorted(dir: &Path) -> io::Result<Vec<(PathBuf, bool)>> {
    let mut entries = Vec::new();
    // BLOCKING: `read_dir` and `file_type` are system calls that wait for the disk.
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        entries.push((entry.path(), entry.file_type()?.is_dir()));
    }
    // The order of `read_dir` is whatever the file system likes.
    entries.sort();
    Ok(entries)
}

// Reads one file line by line; never holds more than one line of it.
fn summarise_file(path: &Path, max_line_len: usize) -> Result<Tally, Problem> {
    let io = |e: io::Error| Problem::Io(e.kind());
    // BLOCKING: `open` and every read below wait for the disk.
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut tally = Tally::new();
    let mut line = Vec::new();
    loop {
        match read_line(&mut reader, &mut line, max_line_len).map_err(io)? {
            Line::End => return Ok(tally),
            Line::TooLong => {
                let line = tally.lines() + 1;
                return Err(Problem::LineTooLong { line });
            }
            Line::Read => tally.add_line(&line)?,
        }
    }
}

enum Line {
    // `line` holds the next line, with its `\n` if it has one.
    Read,
    // The next line is longer than the limit; what was read of it is not a line.
    TooLong,
    // The end of the file.
    End,
}

// Reads the next line into `line` (cleared first), but never more than `max_line_len + 1` bytes.
fn read_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    max_line_len: usize,
) -> io::Result<Line> {
    line.clear();
    // `take` stops the read after the longest line allowed plus its `\n`: a line that never ends
    // costs `max_line_len + 1` bytes of memory, not the rest of the file.
    let limit = max_line_len as u64 + 1;
    let n = reader.by_ref().take(limit).read_until(b'\n', line)?;
    Ok(if n == 0 {
        Line::End
    } else if n as u64 == limit && line.last() != Some(&b'\n') {
        Line::TooLong
    } else {
        Line::Read
    })
}
