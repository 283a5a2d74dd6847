//! Probes: when did a future start, finish, or get dropped before finishing (cancelled)?

use crate::clock;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

#[derive(Default, Clone, Copy, Debug)]
struct State {
    started: Option<Duration>,
    completed: Option<Duration>,
    cancelled: Option<Duration>,
}

/// Watches one future. Hand `probe.wrap(fut)` to the code under test and ask the probe afterwards.
///
/// "Cancelled" means the future was dropped after it started and before it completed: in Rust
/// that is the only way an async operation is cancelled, so a probe is how a test sees that a
/// losing branch of a race really stopped — and at which virtual instant.
#[derive(Clone)]
pub struct Probe {
    name: Arc<str>,
    state: Arc<Mutex<State>>,
}

impl Probe {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Arc::from(name.into()),
            state: Arc::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Wraps `fut` so that its first poll, its completion and its drop are recorded.
    pub fn wrap<F: Future>(&self, fut: F) -> Probed<F> {
        Probed {
            inner: Box::pin(fut),
            probe: self.clone(),
            done: false,
        }
    }

    /// When the future was first polled, if it was.
    pub fn started_at(&self) -> Option<Duration> {
        self.get().started
    }

    /// When the future returned `Ready`, if it did.
    pub fn completed_at(&self) -> Option<Duration> {
        self.get().completed
    }

    /// When the future was dropped before completing, if it was.
    pub fn cancelled_at(&self) -> Option<Duration> {
        self.get().cancelled
    }

    /// Started, not completed, not dropped: the future is still alive somewhere.
    pub fn is_running(&self) -> bool {
        let s = self.get();
        s.started.is_some() && s.completed.is_none() && s.cancelled.is_none()
    }

    /// One line for a failure message: `"backup: started t=50ms, cancelled t=80ms"`.
    pub fn describe(&self) -> String {
        let s = self.get();
        let f = |label: &str, t: Option<Duration>| {
            t.map(|t| format!("{label} t={}", crate::fmt_duration(t)))
        };
        let parts: Vec<String> = [
            f("started", s.started),
            f("completed", s.completed),
            f("cancelled", s.cancelled),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            format!("{}: never polled", self.name)
        } else {
            format!("{}: {}", self.name, parts.join(", "))
        }
    }

    fn get(&self) -> State {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// A future wrapped by [`Probe::wrap`]. It is `Unpin` (the inner future is boxed), so it can be
/// used wherever the original could.
pub struct Probed<F> {
    inner: Pin<Box<F>>,
    probe: Probe,
    done: bool,
}

impl<F: Future> Future for Probed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let now = clock::now();
        self.probe.update(|s| {
            s.started.get_or_insert(now);
        });
        let out = self.inner.as_mut().poll(cx);
        if out.is_ready() {
            self.done = true;
            self.probe.update(|s| s.completed = Some(now));
        }
        out
    }
}

impl<F> Drop for Probed<F> {
    fn drop(&mut self) {
        if !self.done {
            let now = clock::now();
            self.probe.update(|s| {
                if s.started.is_some() {
                    s.cancelled = Some(now);
                }
            });
        }
    }
}
