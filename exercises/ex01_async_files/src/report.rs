//! Writing the report atomically, and the whole program.

use crate::fs::Fs;
use crate::summary::{Options, Summary};
use std::io;
use std::path::Path;

/// Writes `summary.render()` to `path` atomically: whoever reads `path` — during the write, after
/// a crash, after a failure — sees the old report whole or the new report whole, never a mix.
///
/// * The new report is written to a temporary file **in the same directory** as `path` (a
///   rename is atomic only within one file system), flushed, then renamed over `path`.
/// * `path` itself is never opened for writing.
/// * If anything fails, the temporary file is removed (best effort), the error is returned, and
///   the old report is untouched.
pub async fn write_report<F: Fs>(fs: &F, summary: &Summary, path: &Path) -> io::Result<()> {
    todo!("write the report to a temporary file next to `path`, flush it, rename it over `path`")
}

/// Summarises `root` and writes the report to `report` atomically: [`summarise`], then
/// [`write_report`]. Returns the summary.
pub async fn run<F: Fs>(
    fs: &F,
    root: &Path,
    report: &Path,
    options: &Options,
) -> io::Result<Summary> {
    todo!("summarise `root`, then write the report")
}
