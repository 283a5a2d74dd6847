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

// A handler with its future boxed: routes with different closures (and so different future
// types) fit in one list. `Arc`, not `Box`, so that a route can be cloned cheaply.
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
        Self::default()
    }

    /// Registers `handler` for requests whose method is `method` (case-sensitive) and whose path
    /// ([`Request::path`]: the target without its query) is exactly `path`. Registering the same
    /// method and path again replaces the earlier handler.
    pub fn route<H, F>(mut self, method: &str, path: &str, handler: H) -> Self
    where
        H: Fn(Request) -> F + Send + Sync + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |request| Box::pin(handler(request)));
        // A repeated registration replaces the earlier one in place: the latest wins, and the
        // method appears once in `Allow`.
        match self
            .routes
            .iter_mut()
            .find(|r| r.method == method && r.path == path)
        {
            Some(existing) => existing.handler = handler,
            None => self.routes.push(Route {
                method: method.to_owned(),
                path: path.to_owned(),
                handler,
            }),
        }
        self
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
        // Pick the handler first and call it after: the borrow of `request` ends before the
        // request is moved into the handler.
        let handler = match self.find(&request.method, request.path()) {
            Ok(handler) => handler,
            Err(refusal) => return refusal,
        };
        handler(request).await
    }

    fn find(&self, method: &str, path: &str) -> Result<Handler, Response> {
        let on_path: Vec<&Route> = self.routes.iter().filter(|r| r.path == path).collect();
        if on_path.is_empty() {
            return Err(Response::error(404));
        }
        let exact = on_path.iter().find(|r| r.method == method);
        // A server that answers GET must answer HEAD the same way (RFC 9110 §9.3.2).
        let head_as_get = || {
            (method == "HEAD")
                .then(|| on_path.iter().find(|r| r.method == "GET"))
                .flatten()
        };
        match exact.or_else(head_as_get) {
            Some(route) => Ok(route.handler.clone()),
            None => Err(Response::error(405).with_header("Allow", &allow(&on_path))),
        }
    }
}

// The methods a path accepts, for `Allow`: each once, HEAD implied by GET, sorted.
fn allow(routes: &[&Route]) -> String {
    let mut methods: Vec<&str> = routes.iter().map(|r| r.method.as_str()).collect();
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.sort_unstable();
    methods.dedup();
    methods.join(", ")
}
