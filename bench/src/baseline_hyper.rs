//! `baseline-hyper [ADDRESS]`: a minimal hyper HTTP/1.1 server, the reference point for ex10 in
//! `bench`. Accept loop, a task per connection, hyper's `http1` connection driver (keep-alive is
//! its default), one route: `GET /` answers `hello\n` like `ex10-server`; anything else is a 404.
//! No limits, no timeouts, no shutdown: the floor a production HTTP library sets on tokio.

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tokio::net::TcpListener;

async fn route(request: Request<hyper::body::Incoming>) -> Result<Response<String>, Infallible> {
    let mut response = Response::new(String::new());
    if request.method() == Method::GET && request.uri().path() == "/" {
        *response.body_mut() = "hello\n".to_owned();
    } else {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    loop {
        let (socket, _) = listener.accept().await?;
        tokio::spawn(async move {
            let connection =
                http1::Builder::new().serve_connection(TokioIo::new(socket), service_fn(route));
            // A client that goes away mid-request is its own business.
            let _ = connection.await;
        });
    }
}
