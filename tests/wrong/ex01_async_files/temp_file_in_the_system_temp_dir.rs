//! Wrong solution: writes the temporary file in the system's temporary directory — renaming it
//! into the report's directory is atomic only if both are on one file system (and fails with
//! EXDEV otherwise).
//! replaces: report.rs
//! expect: the_temporary_file_is_created_next_to_the_report — must be in the report's directory

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
    let mut temp = std::ffi::OsString::from(name);
    temp.push(format!(".{}.tmp", std::process::id()));
    Ok(std::env::temp_dir().join(temp))
}
