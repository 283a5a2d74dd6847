//! The async summary: walk the tree, stream every file line by line, several files at once.

use crate::fs::Fs;
use crate::summary::{FileError, Options, Problem, Summary, Tally, merge_counts, top_words};
use futures::StreamExt;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Summarises every file under `root`, recursively, through `fs`: the same [`Summary`] as
/// [`crate::sync_version::summarise`] gives for the same tree.
///
/// * **Concurrent, bounded**: up to `options.max_open` files are open at once, never more; as soon
///   as one is done the next is opened (a sliding window, not batches).
/// * **Streaming**: each file is read line by line, never whole. A line longer than
///   `options.max_line_len` ends its file with [`crate::Problem::LineTooLong`] without being read
///   to its end, so memory stays bounded whatever the files hold.
/// * **Errors per file**: a file or subdirectory that fails (missing, permission denied, vanished
///   since it was listed, a read error, invalid UTF-8, a line too long) becomes one entry of
///   [`Summary::errors`] and counts nowhere else; the other files complete. Only a `root` that
///   cannot be listed fails the whole call.
/// * **Deterministic**: `files` and `errors` are sorted by path, whatever order the files finish
///   in; paths are relative to `root`.
/// * **The executor is never blocked**: all I/O goes through `fs` (no `std::fs`). Counting a line
///   is CPU work small enough to do between two reads (at most `max_line_len` bytes); ranking the
///   words of a whole tree is not (it can hold millions of distinct words): run
///   [`crate::top_words`] on the blocking pool (`tokio::task::spawn_blocking`). Merging one
///   file's counts into the totals as that file finishes is small enough; keeping every file's
///   counts to merge them all at the end is whole-tree work again, and holds the executor as long.
pub async fn summarise<F: Fs>(fs: &F, root: &Path, options: &Options) -> io::Result<Summary> {
    let (paths, mut errors) = walk(fs, root).await?;

    // `buffer_unordered(n)` polls at most n of the per-file futures at once and starts the next one
    // the moment one finishes: exactly "at most n files open, and no slot left idle". All of them
    // run inside this one task, so nothing needs to be `'static` and nothing is spawned.
    let max_open = options.max_open.max(1);
    let mut finished = futures::stream::iter(paths)
        .map(|path| summarise_file(fs, path, options.max_line_len))
        .buffer_unordered(max_open);

    let mut files = Vec::new();
    let mut counts = HashMap::new();
    while let Some((path, outcome)) = finished.next().await {
        let path = relative(root, &path);
        match outcome {
            Ok(tally) => {
                let (stats, words) = tally.finish(path);
                files.push(stats);
                merge_counts(&mut counts, words);
            }
            // A failed file's partial tally was dropped: it counts nowhere.
            Err(problem) => errors.push(FileError { path, problem }),
        }
    }

    // The synchronous program got sorted output for free by reading one file at a time in walk
    // order. `buffer_unordered` yields files in the order they *finish*: sort explicitly.
    files.sort_by(|a, b| a.path.cmp(&b.path));
    errors.sort_by(|a, b| a.path.cmp(&b.path));

    let top_words = top_words_off_the_executor(counts, options.top_words).await;
    Ok(Summary {
        files,
        errors,
        top_words,
    })
}

// Lists the whole tree: every file to read, and every subdirectory that could not be listed.
// Only `root` itself failing is an error.
async fn walk<F: Fs>(fs: &F, root: &Path) -> io::Result<(Vec<PathBuf>, Vec<FileError>)> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    // A stack instead of recursion: a recursive `async fn` would need boxing, and the order does
    // not matter since the results are sorted at the end.
    let mut pending = fs.list(root).await?;
    while let Some(entry) = pending.pop() {
        if !entry.is_dir {
            files.push(entry.path);
            continue;
        }
        match fs.list(&entry.path).await {
            Ok(children) => pending.extend(children),
            Err(e) => errors.push(FileError {
                path: relative(root, &entry.path),
                problem: Problem::Io(e.kind()),
            }),
        }
    }
    Ok((files, errors))
}

// Reads one file; returns its path with the outcome so that results can be matched up whatever
// order they finish in.
async fn summarise_file<F: Fs>(
    fs: &F,
    path: PathBuf,
    max_line_len: usize,
) -> (PathBuf, Result<Tally, Problem>) {
    let outcome = read_file(fs, &path, max_line_len).await;
    (path, outcome)
}

async fn read_file<F: Fs>(fs: &F, path: &Path, max_line_len: usize) -> Result<Tally, Problem> {
    let io = |e: io::Error| Problem::Io(e.kind());
    // The reader is dropped (the file closed) when this function returns, before the next file
    // can take its place.
    let mut reader = fs.open(path).await.map_err(io)?;
    let mut tally = Tally::new();
    let mut line = Vec::new();
    loop {
        match read_line(&mut reader, &mut line, max_line_len)
            .await
            .map_err(io)?
        {
            Line::End => return Ok(tally),
            Line::TooLong => {
                let line = tally.lines() + 1;
                return Err(Problem::LineTooLong { line });
            }
            // Counting one line is CPU work, but at most `max_line_len` bytes of it between two
            // awaits: far less than handing it to another thread would cost. It stays here.
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

// The async twin of the synchronous `read_line`: reads the next line into `line` (cleared
// first), but never more than `max_line_len + 1` bytes.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max_line_len: usize,
) -> io::Result<Line> {
    line.clear();
    // `AsyncBufReadExt::lines` would read a line that never ends until memory runs out; `take`
    // stops after the longest line allowed plus its `\n`.
    let limit = max_line_len as u64 + 1;
    let n = (&mut *reader).take(limit).read_until(b'\n', line).await?;
    Ok(if n == 0 {
        Line::End
    } else if n as u64 == limit && line.last() != Some(&b'\n') {
        Line::TooLong
    } else {
        Line::Read
    })
}

// The top words over every file read. The map can hold every distinct word of a big tree, so
// ranking it is real CPU work: it runs on the blocking pool, where a long computation stalls no
// other task.
async fn top_words_off_the_executor(counts: HashMap<String, u64>, k: usize) -> Vec<(String, u64)> {
    match tokio::task::spawn_blocking(move || top_words(&counts, k)).await {
        Ok(top) => top,
        // Re-raise a panic from the closure as it was, rather than a second, vaguer one.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

// `path` relative to `root` (the listing joined them).
fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}
