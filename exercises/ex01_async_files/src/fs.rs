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

impl Fs for TokioFs {
    type Reader = BufReader<tokio::fs::File>;
    type Writer = tokio::fs::File;

    async fn list(&self, dir: &Path) -> io::Result<Vec<Entry>> {
        todo!("list `dir` with tokio::fs::read_dir")
    }

    async fn open(&self, path: &Path) -> io::Result<Self::Reader> {
        todo!("open `path` with tokio::fs::File and buffer it")
    }

    async fn create(&self, path: &Path) -> io::Result<Self::Writer> {
        todo!("create `path` with tokio::fs::File")
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        todo!("rename with tokio::fs")
    }

    async fn remove_file(&self, path: &Path) -> io::Result<()> {
        todo!("remove the file with tokio::fs")
    }
}
