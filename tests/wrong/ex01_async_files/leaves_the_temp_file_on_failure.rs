//! Wrong solution: returns the error of a failed write but leaves the temporary file behind.
//! replaces: report.rs
//! expect: a_failed_write_leaves_the_old_report_and_no_temporary_file — must remove its temporary file

use crate::fs::Fs;
use crate::summarise::summarise;
use crate::summary::{Options, Summary};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

pub async fn write_report<F: Fs>(fs: &F, summary: &Summary, path: &Path) -> io::Result<()> {
    let temp = temp_path(path)?;
    write_then_rename(fs, summary.render().as_bytes(), &temp, path).await
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
    // `write_all` may return while the last bytes are still on their way: `tokio::fs::File` hands
    // each write to the blocking pool and reports its error on the *next* operation. `flush` waits
    // for them and reports that error; renaming before it could publish a half-written report.
    file.flush().await?;
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
