//! Wrong solution: TokioFs::open reads the whole file with tokio::fs::read and serves it from
//! memory — nothing blocks, but a huge file (or one endless line) is held in memory at once.
//! replaces: fs.rs
//! expect: on_real_files_a_line_that_never_ends_is_not_read_to_the_end — holds a whole file in memory

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
        let mut dir = tokio::fs::read_dir(dir).await?;
        while let Some(entry) = dir.next_entry().await? {
            let is_dir = entry.file_type().await?.is_dir();
            entries.push(Entry {
                path: entry.path(),
                is_dir,
            });
        }
        Ok(entries)
    }

    async fn open(&self, path: &Path) -> io::Result<Self::Reader> {
        Ok(std::io::Cursor::new(tokio::fs::read(path).await?))
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
