//! Everything the async program does to the disk goes through the [`Fs`] trait: [`TokioFs`] in
//! production, an in-memory file system whose reads take virtual time in the tests.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufRead, AsyncWrite, BufReader};

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The directory's path joined with the entry's name.
    pub path: PathBuf,
    /// A directory (to walk into) rather than a file (to read). A symbolic link is not a
    /// directory, even when it points at one: links are never followed into.
    pub is_dir: bool,
}

/// A file system, as the async program needs it.
///
/// `Clone + Send + Sync + 'static` so that you can move a clone into a spawned task if your design
/// spawns; every method's future is `Send` for the same reason.
pub trait Fs: Clone + Send + Sync + 'static {
    /// A file open for reading, buffered.
    type Reader: AsyncBufRead + Unpin + Send + 'static;
    /// A file open for writing. Like `tokio::fs::File`, it may keep written bytes in memory until
    /// it is flushed: call `flush` (or `shutdown`) before relying on them being in the file.
    type Writer: AsyncWrite + Unpin + Send + 'static;

    /// Lists the entries of `dir`, in no particular order.
    fn list(&self, dir: &Path) -> impl Future<Output = io::Result<Vec<Entry>>> + Send;

    /// Opens the file at `path` for reading. The file counts as open until the reader is dropped.
    fn open(&self, path: &Path) -> impl Future<Output = io::Result<Self::Reader>> + Send;

    /// Creates the file at `path` for writing, or truncates it if it exists.
    fn create(&self, path: &Path) -> impl Future<Output = io::Result<Self::Writer>> + Send;

    /// Renames `from` to `to`, replacing `to` if it exists, in one step: whoever looks at `to`
    /// sees either the old file or the new one, never a mix.
    fn rename(&self, from: &Path, to: &Path) -> impl Future<Output = io::Result<()>> + Send;

    /// Removes the file at `path`.
    fn remove_file(&self, path: &Path) -> impl Future<Output = io::Result<()>> + Send;
}

/// The real file system, through `tokio::fs`.
///
/// `tokio::fs` does not make the disk asynchronous: operating systems offer no portable async file
/// I/O, so every call runs the blocking `std::fs` call on tokio's blocking thread pool
/// (`spawn_blocking`) and awaits its result. What it buys you is that the executor's threads never
/// wait for the disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioFs;

// How much of a file one read asks for. `tokio::fs::File` sends every read to the blocking pool,
// so bigger reads mean fewer round trips; the buffer is also the most of a file held at once.
const READ_BUFFER: usize = 64 * 1024;

impl Fs for TokioFs {
    type Reader = BufReader<tokio::fs::File>;
    type Writer = tokio::fs::File;

    async fn list(&self, dir: &Path) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let mut dir = tokio::fs::read_dir(dir).await?;
        while let Some(entry) = dir.next_entry().await? {
            // `file_type` does not follow symbolic links: a link to a directory is not walked into.
            let is_dir = entry.file_type().await?.is_dir();
            entries.push(Entry {
                path: entry.path(),
                is_dir,
            });
        }
        Ok(entries)
    }

    async fn open(&self, path: &Path) -> io::Result<Self::Reader> {
        let file = tokio::fs::File::open(path).await?;
        Ok(BufReader::with_capacity(READ_BUFFER, file))
    }

    async fn create(&self, path: &Path) -> io::Result<Self::Writer> {
        tokio::fs::File::create(path).await
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        tokio::fs::rename(from, to).await
    }

    async fn remove_file(&self, path: &Path) -> io::Result<()> {
        tokio::fs::remove_file(path).await
    }
}
