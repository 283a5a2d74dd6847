//! Which code held the executor. "Blocked the executor for 300ms" says *that* something blocked;
//! this says *what*: the task that was being polled, named by the line that spawned it, or the
//! test's own future (the code it awaits directly) when no task was.
//!
//! tokio calls a hook before and after it polls each task, with the task's spawn location
//! (`TaskMeta::spawned_at`: `tokio::spawn` and friends are `#[track_caller]`, so that is the
//! learner's line). Those hooks are unstable: they exist only when tokio is built with
//! `--cfg tokio_unstable`, which the workbook's `.cargo/config.toml` sets for every build —
//! learners', CI's and the grader's. A learner whose own `RUSTFLAGS` replace that list still gets a
//! working kit; the message then says how to get the line.
//!
//! Why not something stable: `#[track_caller]` on the kit's functions sees only the test's calls,
//! never the `tokio::spawn` inside the learner's code; std cannot sample another thread's stack;
//! and `Handle::dump` (task dumps) is just as unstable and Linux-only.

use std::panic::Location;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the time of a busy stretch went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Culprit {
    /// A spawned task, by the line that spawned it.
    Task(&'static Location<'static>),
    /// The test's own future: the code it runs or awaits directly, not a task spawned from it.
    TestBody,
    /// tokio was built without `--cfg tokio_unstable`: no task hooks to ask.
    Unknown,
}

impl std::fmt::Display for Culprit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Culprit::Task(at) => write!(
                f,
                "in the task spawned at {}:{}:{} (the blocking call is in the code that task runs)",
                at.file(),
                at.line(),
                at.column()
            ),
            Culprit::TestBody => write!(
                f,
                "in code the test ran directly, not in a task it spawned: the function under \
                 test itself"
            ),
            Culprit::Unknown => write!(
                f,
                "in code this build cannot name (the workbook's .cargo/config.toml builds tokio \
                 with --cfg tokio_unstable so that the kit can name the task by the line that \
                 spawned it; a RUSTFLAGS of your own replaces that setting: add \
                 `--cfg tokio_unstable` to it)"
            ),
        }
    }
}

/// The wall time of one busy stretch, shared out between the tasks polled in it. Fed by tokio's
/// poll hooks and by the stretch meter's park/unpark, all on the runtime thread; the watchdog reads
/// the poll in progress from its own thread.
#[derive(Default)]
pub(crate) struct Tally {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When the current stretch began (`None` while the runtime is parked).
    stretch_began: Option<Instant>,
    /// The task being polled now, and since when its time counts in this stretch.
    polling: Option<(&'static Location<'static>, Instant)>,
    /// Time each spawn location's polls took in this stretch (a handful of entries).
    by_task: Vec<(&'static Location<'static>, Duration)>,
}

impl State {
    /// Credits the poll in progress with its time up to `now`.
    fn credit_poll(&mut self, now: Instant) {
        if let Some((at, since)) = &mut self.polling {
            let spent = now.saturating_duration_since(*since);
            *since = now;
            match self.by_task.iter_mut().find(|(loc, _)| loc == at) {
                Some((_, total)) => *total += spent,
                None => self.by_task.push((*at, spent)),
            }
        }
    }
}

impl Tally {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while the lock is held cannot leave the tally inconsistent in a way that matters.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A busy stretch begins (the runtime unparked). A poll already in progress — the kit's panic
    /// hook closes and reopens a stretch in the middle of one — counts from now on.
    pub(crate) fn open(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        state.stretch_began = Some(now);
        if let Some((_, since)) = &mut state.polling {
            *since = now;
        }
    }

    /// The stretch ends (the runtime parks): who held most of it. Time in no task's poll was spent
    /// in the test's own future (tokio polls it outside the task hooks).
    pub(crate) fn close(&self) -> Culprit {
        if !cfg!(tokio_unstable) {
            return Culprit::Unknown;
        }
        let now = Instant::now();
        let mut state = self.lock();
        state.credit_poll(now);
        let stretch = state
            .stretch_began
            .take()
            .map_or(Duration::ZERO, |began| now.saturating_duration_since(began));
        let in_tasks: Duration = state.by_task.iter().map(|(_, spent)| *spent).sum();
        let busiest = state
            .by_task
            .iter()
            .max_by_key(|(_, spent)| *spent)
            .copied();
        state.by_task.clear();
        match busiest {
            Some((at, spent)) if spent > stretch.saturating_sub(in_tasks) => Culprit::Task(at),
            _ => Culprit::TestBody,
        }
    }

    /// The code running right now (the watchdog asks while the runtime never parks).
    pub(crate) fn in_progress(&self) -> Culprit {
        if !cfg!(tokio_unstable) {
            return Culprit::Unknown;
        }
        match self.lock().polling {
            Some((at, _)) => Culprit::Task(at),
            None => Culprit::TestBody,
        }
    }

    /// tokio is about to poll the task spawned at `at`.
    #[cfg_attr(not(tokio_unstable), allow(dead_code))]
    fn before_poll(&self, at: &'static Location<'static>) {
        self.lock().polling = Some((at, Instant::now()));
    }

    /// tokio has polled it.
    #[cfg_attr(not(tokio_unstable), allow(dead_code))]
    fn after_poll(&self) {
        let mut state = self.lock();
        state.credit_poll(Instant::now());
        state.polling = None;
    }
}

/// Hooks the tally into the runtime's task polls (with `--cfg tokio_unstable`; a no-op without).
pub(crate) fn install(builder: &mut tokio::runtime::Builder, tally: &Arc<Tally>) {
    #[cfg(tokio_unstable)]
    {
        let (before, after) = (tally.clone(), tally.clone());
        builder
            .on_before_task_poll(move |meta| before.before_poll(meta.spawned_at()))
            .on_after_task_poll(move |_| after.after_poll());
    }
    #[cfg(not(tokio_unstable))]
    let _ = (builder, tally);
}
