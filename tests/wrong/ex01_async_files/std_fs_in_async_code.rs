//! Wrong solution: "TokioFs" with std::fs — reads the whole file with std::fs::read inside the
//! async `open`. The runtime thread waits for the disk (here: for a pipe whose writer is a task on
//! that same thread, so it waits forever).
//! replaces: fs.rs
//! expect: on_real_files_reading_does_not_block_the_runtime_thread — blocked the runtime thread

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufRead, AsyncWrite};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub is_dir: bool,
}

pub trait Fs: Clone + Send + Sync + 'static {
    type Reader: AsyncBufRead + Unpin + Send + 'static;
    type Writer: AsyncWrite + Unpin + Send + 'static;
    fn list(&self, dir: &Path) -> impl Future<Output = io::Result<Vec<Entry>>> + Send;
    fn open(&self, path: &Path) -> impl Future<Output = io::Result<Self::Reader>> + Send;
    fn create(&self, path: &Path) -> impl Future<Output = io::Result<Self::Writer>> + Send;
    fn rename(&self, from: &Path, to: &Path) -> impl Future<Output = io::Result<()>> + Send;
    fn remove_file(&self, path: &Path) -> impl Future<Output = io::Result<()>> + Send;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TokioFs;

impl Fs for TokioFs {
    type Reader = std::io::Cursor<Vec<u8>>;
    type Writer = tokio::fs::File;

    async fn list(&self, dir: &Path) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let is_dir = entry.file_type()?.is_dir();
            entries.push(Entry {
                path: entry.path(),
                is_dir,
            });
        }
        Ok(entries)
    }

    async fn open(&self, path: &Path) -> io::Result<Self::Reader> {
        Ok(std::io::Cursor::new(std::fs::read(path)?))
    }

    async fn create(&self, path: &Path) -> io::Result<Self::Writer> {
        tokio::fs::File::create(path).await
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    async fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
}
