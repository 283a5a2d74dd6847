//! `baseline-chat [ADDRESS]`: the canonical minimal broadcast chat server of tokio's tutorial,
//! the reference point for ex05 in `bench`. One `broadcast` channel for the room; a task per
//! client that `select!`s over its next line and the receiver.
//!
//! Its lines match ex05's where the load generator looks: the first line is the nickname
//! (answered `* welcome <nick>`, announced `* <nick> joined`), then every line is broadcast to the
//! others as `<nick>: <line>`. The channel holds 64 messages, ex05's capacity in `ex05-chat`; a
//! receiver that falls further behind skips what it missed (ex05 also tells the client how many).
//! No nickname checks, no commands, no shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{self, error::RecvError};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7879".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    let (tx, _rx) = broadcast::channel::<(Arc<str>, SocketAddr)>(64);
    loop {
        let (socket, peer) = listener.accept().await?;
        let _ = socket.set_nodelay(true); // as ex05 does: chat lines go out at once
        let tx = tx.clone();
        tokio::spawn(async move {
            let (reader, mut writer) = socket.into_split();
            let mut lines = BufReader::new(reader).lines();
            let Ok(Some(nick)) = lines.next_line().await else {
                return;
            };
            let mut rx = tx.subscribe();
            let _ = tx.send((format!("* {nick} joined\n").into(), peer));
            if writer
                .write_all(format!("* welcome {nick}\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            loop {
                tokio::select! {
                    line = lines.next_line() => match line {
                        Ok(Some(line)) => {
                            let _ = tx.send((format!("{nick}: {line}\n").into(), peer));
                        }
                        _ => break,
                    },
                    msg = rx.recv() => match msg {
                        Ok((msg, from)) if from != peer => {
                            if writer.write_all(msg.as_bytes()).await.is_err() {
                                break;
                            }
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => break,
                    },
                }
            }
            let _ = tx.send((format!("* {nick} left\n").into(), peer));
        });
    }
}
