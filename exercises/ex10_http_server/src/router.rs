//! A small router: a handler per (method, path), and the answers HTTP requires when none fits.
//!
//! Shared state is not the router's business: a handler is a closure, and it captures what it
//! shares (an `Arc<Mutex<..>>`, an `Arc<AtomicU64>`) — the same idea as axum's `State`, without
//! the extractor machinery.

use crate::request::Request;
use crate::response::Response;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

// Given, to change as you like. A handler with its future boxed: routes with different closures
// (and so different future types) fit in one list. `Arc`, not `Box`, so that a route can be
// cloned cheaply. In `route`: `let handler: Handler = Arc::new(move |r| Box::pin(handler(r)));`
type Handler = Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

struct Route {
    method: String,
    path: String,
    handler: Handler,
}

/// Routes each request to the handler registered for its method and path.
///
/// A `Router` is `Send + Sync`: [`serve`](crate::serve) shares one among all connections.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// A router with no routes: every request is answered 404.
    pub fn new() -> Self {
        todo!("an empty router")
    }

    /// Registers `handler` for requests whose method is `method` (case-sensitive) and whose path
    /// ([`Request::path`]: the target without its query) is exactly `path`. Registering the same
    /// method and path again replaces the earlier handler.
    pub fn route<H, F>(mut self, method: &str, path: &str, handler: H) -> Self
    where
        H: Fn(Request) -> F + Send + Sync + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        todo!("register (or replace) the handler for this method and path")
    }

    /// Answers one request:
    ///
    /// * the handler registered for its method and path, when there is one;
    /// * for `HEAD` without a `HEAD` route: the `GET` handler of that path (the connection then
    ///   sends the headers without the body);
    /// * **404** ([`Response::error`]) when no route has this path;
    /// * **405** ([`Response::error`]) when routes have this path but none this method, with an
    ///   `Allow` header listing the methods that path accepts — each once, `HEAD` included when
    ///   `GET` is there, sorted, joined by `", "`: `Allow: GET, HEAD, POST`.
    pub async fn handle(&self, request: Request) -> Response {
        todo!("find the route: the handler, HEAD as GET, 404, 405 with Allow")
    }
}
