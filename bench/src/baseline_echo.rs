//! `baseline-echo [ADDRESS]`: the canonical minimal tokio line-echo server, the reference point
//! for ex02 in `bench`. Accept loop, a task per connection, `BufReader::lines`, write each line
//! back. No limits, no timeouts, no shutdown: just the floor that tokio itself sets.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6381".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    loop {
        let (socket, _) = listener.accept().await?;
        tokio::spawn(async move {
            let (reader, mut writer) = socket.into_split();
            let mut lines = BufReader::new(reader).lines();
            while let Ok(Some(mut line)) = lines.next_line().await {
                // One write per reply, like ex02's `Framed::send` (two small writes would meet
                // Nagle's algorithm).
                line.push('\n');
                if writer.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
}
