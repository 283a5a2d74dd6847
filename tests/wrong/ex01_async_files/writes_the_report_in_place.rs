//! Wrong solution: writes the new report straight into the report's path — the file is truncated
//! first, so for a while (or for good, after a crash or a full disk) the report is half-written.
//! replaces: report.rs
//! expect: write_report_replaces_the_old_report_in_one_step — in one step
//! expect: a_failed_write_leaves_the_old_report_and_no_temporary_file — the old report must stay untouched

use crate::fs::Fs;
use crate::summarise::summarise;
use crate::summary::{Options, Summary};
use std::io;
use std::path::Path;
use tokio::io::AsyncWriteExt;

pub async fn write_report<F: Fs>(fs: &F, summary: &Summary, path: &Path) -> io::Result<()> {
    let mut file = fs.create(path).await?;
    file.write_all(summary.render().as_bytes()).await?;
    file.flush().await
}

/// Summarises `root` and writes the report to `report` atomically: [`summarise`], then
/// [`write_report`]. Returns the summary.
pub async fn run<F: Fs>(
    fs: &F,
    root: &Path,
    report: &Path,
    options: &Options,
) -> io::Result<Summary> {
    let summary = summarise(fs, root, options).await?;
    write_report(fs, &summary, report).await?;
    Ok(summary)
}
