//! The async summary: walk the tree, stream every file line by line, several files at once.

use crate::fs::Fs;
use crate::summary::{Options, Summary};
use std::io;
use std::path::Path;

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
    todo!("walk the tree under `root` and summarise its files, at most `max_open` at once")
}
