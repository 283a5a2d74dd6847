//! `ex02-server-1k ADDRESS MAX_CONNECTIONS`: ex02's reference server — the same `serve`, `Store`
//! and `Config` as `ex02-server` — with `max_connections` raised so that `bench` can hold 1 000
//! clients on it at once. (The stock binary keeps `Config::default()`: 100 connections, and the
//! 101st is answered `ERR busy`.) No Ctrl-C handling: `bench` kills it.

use ex02_tcp_server::{Config, Store, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:6380".to_owned());
    let max_connections = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|e| std::io::Error::other(format!("MAX_CONNECTIONS {n:?}: {e}")))?,
        None => 1024,
    };
    let config = Config {
        max_connections,
        ..Config::default()
    };
    let listener = TcpListener::bind(&addr).await?;
    serve(listener, config, Store::new(), CancellationToken::new()).await;
    Ok(())
}
