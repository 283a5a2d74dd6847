//! `ex02-server`: the key-value server as a program, to try by hand.
//!
//! ```text
//! cargo run -p ex02_tcp_server --bin ex02-server               # listens on 127.0.0.1:6380
//! cargo run -p ex02_tcp_server --bin ex02-server -- 127.0.0.1:7000
//! nc 127.0.0.1 6380                                             # in another terminal
//! ```
//!
//! Ctrl-C asks for a graceful shutdown.

use ex02_tcp_server::{Config, Store, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6380".to_owned());
    let config = Config::default();
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "ex02-server: listening on {} (try `nc {}`; Ctrl-C stops)",
        listener.local_addr()?,
        listener.local_addr()?.to_string().replace(':', " "),
    );

    let shutdown = CancellationToken::new();
    let ctrl_c = shutdown.clone();
    tokio::spawn(async move {
        match tokio::signal::ctrl_c().await {
            Ok(()) => {
                eprintln!(
                    "ex02-server: shutting down (grace {:?})",
                    config.shutdown_grace
                );
                ctrl_c.cancel();
            }
            Err(e) => eprintln!("ex02-server: cannot listen for Ctrl-C: {e}"),
        }
    });

    serve(listener, config, Store::new(), shutdown).await;
    eprintln!("ex02-server: stopped");
    Ok(())
}
