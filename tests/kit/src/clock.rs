//! The test's virtual clock origin: every instant a test reports is "time since the test started".

use std::cell::Cell;
use std::time::Duration;
use tokio::time::Instant;

thread_local! {
    // The runner sets this on the runtime thread before the body starts. A current-thread runtime
    // polls every task on that one thread, so probes and timelines living in tasks see it too.
    static ORIGIN: Cell<Option<Instant>> = const { Cell::new(None) };
}

pub(crate) fn set_origin(origin: Instant) {
    ORIGIN.with(|o| o.set(Some(origin)));
}

/// Virtual time since the test started (`t = 0` is the first instant of the body).
///
/// Outside [`crate::run`] (for example in a plain `#[tokio::test]`) the origin is the first call.
pub fn now() -> Duration {
    ORIGIN.with(|o| match o.get() {
        Some(origin) => origin.elapsed(),
        None => {
            o.set(Some(Instant::now()));
            Duration::ZERO
        }
    })
}

/// `ms(250)` reads better than `Duration::from_millis(250)` in a table of expected instants.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `secs(3)` is `Duration::from_secs(3)`.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
