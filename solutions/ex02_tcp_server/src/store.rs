//! The shared state: one `HashMap` that every connection reads and writes.
//!
//! Two designs fit the same API, and the chapter shows both:
//!
//! * **a lock** (this file): `Arc<std::sync::Mutex<HashMap>>`. A *std* mutex is the right choice
//!   when every critical section is short and contains no `.await`: locking it never makes a
//!   task wait for another task's I/O, so it cannot stall the executor;
//! * **an actor**: one task owns the map and receives commands over an `mpsc` channel, each with
//!   a `oneshot` for the reply. No lock at all, at the price of a task and two channel hops.
//!
//! `apply` is `async` so that either design fits behind it.

use crate::protocol::{Command, Reply};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The shared key-value store: a cheap handle, cloned into every connection.
///
/// Every clone sees the same data.
#[derive(Clone, Default)]
pub struct Store {
    data: Arc<Mutex<HashMap<String, String>>>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Executes one command and returns its reply:
    ///
    /// * `SET k v` → `OK`;
    /// * `GET k` → `VALUE v`, or `NIL` when `k` is not set;
    /// * `DEL k` → `INT 1` when `k` was set (it is now removed), `INT 0` when it was not;
    /// * `INCR k` → `INT n`, the new value, which is also stored (as decimal text, so a `GET`
    ///   then says `VALUE n`); a key that is not set counts as 0. When the stored value is not a
    ///   decimal `i64`: `ERR value is not an integer`; when adding one would overflow an `i64`:
    ///   `ERR increment would overflow`. In both cases the value is left as it was;
    /// * `QUIT` → `BYE` (nothing to do here: the connection closes after sending it).
    ///
    /// Each command is atomic: two clients that `INCR` the same key a hundred times each leave
    /// it at 200. Must never block the thread, and never keep the data locked across an `.await`.
    pub async fn apply(&self, command: Command) -> Reply {
        // The guard lives only inside this match: no `.await` while the map is locked. (The
        // workspace's clippy lints deny `await_holding_lock`, which would catch a slip.)
        let mut data = self.lock();
        match command {
            Command::Set { key, value } => {
                data.insert(key, value);
                Reply::Ok
            }
            Command::Get { key } => match data.get(&key) {
                Some(value) => Reply::Value(value.clone()),
                None => Reply::Nil,
            },
            Command::Del { key } => Reply::Int(i64::from(data.remove(&key).is_some())),
            Command::Incr { key } => incr(&mut data, key),
            Command::Quit => Reply::Bye,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the lock cannot leave the map half-updated (every command is a
        // single insert or remove), so a poisoned lock is still safe to use.
        self.data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

// Read, add one, write back — under one lock, which is what makes `INCR` atomic.
fn incr(data: &mut HashMap<String, String>, key: String) -> Reply {
    let current = match data.get(&key) {
        None => 0,
        Some(text) => match text.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return Reply::Error("value is not an integer".to_owned()),
        },
    };
    let Some(next) = current.checked_add(1) else {
        return Reply::Error("increment would overflow".to_owned());
    };
    data.insert(key, next.to_string());
    Reply::Int(next)
}
