//! `ex10-server`: the HTTP server as a program, with a few routes to try by hand.
//!
//! ```text
//! cargo run -p ex10_http_server --bin ex10-server                # listens on 127.0.0.1:8080
//! cargo run -p ex10_http_server --bin ex10-server -- 127.0.0.1:9000
//! curl -i http://127.0.0.1:8080/                                 # in another terminal
//! curl -i --data-binary 'hello' http://127.0.0.1:8080/echo
//! curl -i -X POST -d 'buy milk' http://127.0.0.1:8080/notes
//! ```
//!
//! Routes: `GET /` (a greeting), `GET /count` (a counter shared by every connection), `POST /echo`
//! (the body back), `GET /notes` and `POST /notes` (a list shared by every connection).
//! Ctrl-C asks for a graceful shutdown.

use ex10_http_server::{Config, Response, Router, serve};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let config = Config::default();
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "ex10-server: listening on http://{} (Ctrl-C stops)",
        listener.local_addr()?
    );

    let shutdown = CancellationToken::new();
    let ctrl_c = shutdown.clone();
    tokio::spawn(async move {
        match tokio::signal::ctrl_c().await {
            Ok(()) => {
                eprintln!(
                    "ex10-server: shutting down (grace {:?})",
                    config.shutdown_grace
                );
                ctrl_c.cancel();
            }
            Err(e) => eprintln!("ex10-server: cannot listen for Ctrl-C: {e}"),
        }
    });

    serve(listener, routes(), config, shutdown).await;
    eprintln!("ex10-server: stopped");
    Ok(())
}

// The shared state lives in the handlers' closures: each captures its own clone of an `Arc`.
fn routes() -> Router {
    let visits = Arc::new(AtomicU64::new(0));
    let notes: Arc<Mutex<Vec<String>>> = Arc::default();
    let (read_notes, write_notes) = (notes.clone(), notes);
    Router::new()
        .route("GET", "/", |_| async { Response::text(200, "hello\n") })
        .route("GET", "/count", move |_| {
            let n = visits.fetch_add(1, Ordering::Relaxed) + 1;
            async move { Response::text(200, format!("{n}\n")) }
        })
        .route("POST", "/echo", |request| async move {
            Response::new(200)
                .with_header("Content-Type", "application/octet-stream")
                .with_body(request.body)
        })
        .route("GET", "/notes", move |_| {
            // The lock is held only to copy the list, never across an `.await`.
            let list = lock(&read_notes).join("\n");
            async move { Response::text(200, list) }
        })
        .route("POST", "/notes", move |request| {
            let note = String::from_utf8_lossy(&request.body).into_owned();
            let count = {
                let mut notes = lock(&write_notes);
                notes.push(note);
                notes.len()
            };
            async move { Response::text(201, format!("{count} notes\n")) }
        })
}

fn lock(notes: &Mutex<Vec<String>>) -> std::sync::MutexGuard<'_, Vec<String>> {
    // A panic while holding the lock cannot leave the list half-updated (one push).
    notes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
