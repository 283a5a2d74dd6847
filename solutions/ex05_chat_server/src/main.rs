//! `ex05-chat [ADDRESS]`: runs the chat server (default `127.0.0.1:7878`) until Ctrl-C.
//!
//! Chat with it from a few terminals: `nc 127.0.0.1 7878` (type a nickname, then talk; `/list`,
//! `/msg <nick> <text>`, `/nick <new>`, `/quit`).

use ex05_chat_server::{Config, Room, serve};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_owned());
    let listener = TcpListener::bind(&address).await?;
    let local = listener.local_addr()?;
    println!(
        "chat server on {local}; connect with: nc {} {}",
        local.ip(),
        local.port()
    );

    let room = Room::new(Config::default());
    let closer = room.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("shutting down");
            closer.shutdown();
        }
    });
    serve(listener, room).await
}
