//! A gauge of "how many at once": in-flight requests, open files, items held in a pipeline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts how many guards are alive now and the peak over the test.
///
/// A mock server calls `let _g = gauge.enter();` for the duration of each request; the test then
/// asserts `gauge.peak()` against the configured cap (and, to prove the work overlapped at all,
/// that the peak *reached* the cap).
#[derive(Clone, Default)]
pub struct Gauge {
    inner: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    current: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
}

impl Gauge {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one more until the guard is dropped.
    pub fn enter(&self) -> GaugeGuard {
        let now = self.inner.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.peak.fetch_max(now, Ordering::SeqCst);
        self.inner.total.fetch_add(1, Ordering::SeqCst);
        GaugeGuard {
            inner: self.inner.clone(),
        }
    }

    pub fn current(&self) -> usize {
        self.inner.current.load(Ordering::SeqCst)
    }

    pub fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::SeqCst)
    }

    /// How many guards were ever handed out.
    pub fn total(&self) -> usize {
        self.inner.total.load(Ordering::SeqCst)
    }
}

/// Returned by [`Gauge::enter`]; dropping it counts one fewer.
pub struct GaugeGuard {
    inner: Arc<Counts>,
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.inner.current.fetch_sub(1, Ordering::SeqCst);
    }
}
