//! A shared record of (virtual instant, event) pairs, compared with a readable diff.

use crate::{clock, fmt_duration};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A log of what happened when. Clone it into mocks and tasks; every clone writes to the same log.
///
/// ```
/// # testkit::run(|| async {
/// let timeline = testkit::Timeline::new();
/// timeline.record("request 1");
/// tokio::time::sleep(testkit::ms(100)).await;
/// timeline.record("request 2");
/// timeline.assert_eq(&[(0, "request 1"), (100, "request 2")], "the client paces its requests");
/// # });
/// ```
#[derive(Clone, Default)]
pub struct Timeline {
    events: Arc<Mutex<Vec<(Duration, String)>>>,
}

impl Timeline {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `event` at the current virtual instant.
    pub fn record(&self, event: impl Into<String>) {
        let at = clock::now();
        self.lock().push((at, event.into()));
    }

    /// The events in the order they were recorded, each formatted as [`at`] formats expectations.
    pub fn lines(&self) -> Vec<String> {
        self.lock().iter().map(|(t, e)| line(*t, e)).collect()
    }

    /// The raw `(instant, event)` pairs.
    pub fn entries(&self) -> Vec<(Duration, String)> {
        self.lock().clone()
    }

    /// The events with their instants in whole milliseconds: the shape in which a differential
    /// check compares two runs (`testkit::differential::same_events`).
    pub fn millis(&self) -> Vec<(u64, String)> {
        self.lock()
            .iter()
            .map(|(t, e)| (t.as_millis() as u64, e.clone()))
            .collect()
    }

    /// The instants of every event equal to `event`.
    pub fn instants_of(&self, event: &str) -> Vec<Duration> {
        self.lock()
            .iter()
            .filter(|(_, e)| e == event)
            .map(|(t, _)| *t)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Asserts the whole timeline. `expected` is `(milliseconds, event)`; `what` names the
    /// behaviour being checked. On a mismatch the two timelines are printed side by side, each row
    /// marked `ok` or `XX`, so the first wrong instant stands out without colour.
    #[track_caller]
    pub fn assert_eq(&self, expected: &[(u64, &str)], what: &str) {
        let expected: Vec<String> = expected.iter().map(|(t, e)| at(*t, e)).collect();
        let observed = self.lines();
        if observed != expected {
            panic!("{what}\n{}", side_by_side(&observed, &expected));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Duration, String)>> {
        // A panicking test may poison the lock; the events are still worth reporting.
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Formats an expected timeline entry: `at(100, "attempt 2")` is `"t=100ms  attempt 2"`.
pub fn at(millis: u64, event: &str) -> String {
    line(Duration::from_millis(millis), event)
}

/// Two timelines as a table: `ok` rows agree, `XX` rows differ.
pub(crate) fn side_by_side(observed: &[String], expected: &[String]) -> String {
    let width = observed
        .iter()
        .chain(expected)
        .map(|l| l.len())
        .max()
        .unwrap_or(0)
        .max(23);
    let mut out = format!("     {:<width$} | expected\n", "observed (virtual time)");
    for i in 0..observed.len().max(expected.len()) {
        let o = observed.get(i).map_or("(nothing)", String::as_str);
        let e = expected.get(i).map_or("(nothing)", String::as_str);
        let mark = if o == e { "ok" } else { "XX" };
        out.push_str(&format!("  {mark} {o:<width$} | {e}\n"));
    }
    out
}

fn line(t: Duration, event: &str) -> String {
    format!("t={:<7} {event}", fmt_duration(t))
}
