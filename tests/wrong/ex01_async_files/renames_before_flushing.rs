//! Wrong solution: renames the temporary file as soon as write_all returns, without flushing —
//! bytes an async writer still holds never reach the file that is renamed into place.
//! replaces: report.rs
//! expect: write_report_flushes_the_report_before_renaming_it — Call flush()
//! expect: write_report_replaces_the_old_report_in_one_step — in one step

use crate::fs::Fs;
use crate::summarise::summarise;
use crate::summary::{Options, Summary};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

pub async fn write_report<F: Fs>(fs: &F, summary: &Summary, path: &Path) -> io::Result<()> {
    let temp = temp_path(path)?;
    let written = write_then_rename(fs, summary.render().as_bytes(), &temp, path).await;
    if written.is_err() {
        // The report was never touched; only the temporary file may be left to clean up. Its
        // removal can fail too (it may never have been created): the first error is the news.
        let _ = fs.remove_file(&temp).await;
    }
    written
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

async fn write_then_rename<F: Fs>(fs: &F, text: &[u8], temp: &Path, path: &Path) -> io::Result<()> {
    let mut file = fs.create(temp).await?;
    file.write_all(text).await?;
    drop(file);
    fs.rename(temp, path).await
}

/// `dir/report.txt` → `dir/.report.txt.tmp`: next to the report, so that the rename stays within
/// one file system, and hidden, so that nobody mistakes it for a report.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(".tmp");
    Ok(path.with_file_name(temp))
}
