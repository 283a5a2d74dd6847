//! The network, as two small traits (given), so that the same coordinator, worker and submitter
//! run on real TCP (the program in `main.rs`) and on a simulated network (the tests use turmoil's).

use std::future::Future;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};

/// Where connections come from: a listening socket.
pub trait Listener: Send + 'static {
    /// A connection's byte stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next incoming connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// How to reach the coordinator: each call opens a new connection.
pub trait Connector: Clone + Send + Sync + 'static {
    /// A connection's byte stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens a connection to the coordinator.
    fn connect(&self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<Self::Stream> {
        let (stream, _) = tokio::net::TcpListener::accept(self).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// Connects to the coordinator over real TCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConnector {
    /// The coordinator's address, `host:port`.
    pub addr: String,
}

impl Connector for TcpConnector {
    type Stream = tokio::net::TcpStream;

    async fn connect(&self) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect(&self.addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}
