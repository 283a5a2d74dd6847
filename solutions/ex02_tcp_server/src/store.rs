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
#[derive(Clone)]
pub struct Store {
    data: Arc<Mutex<Data>>,
}

// The map, the limits, and how much of them is used: kept together under one lock, so that the
// check against a limit and the change it allows are one atomic step.
struct Data {
    map: HashMap<String, String>,
    max_keys: usize,
    max_bytes: usize,
    /// The sum of `key.len() + value.len()` over every entry.
    bytes: usize,
}

impl Default for Store {
    /// Same as [`Store::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store with the default limits: 10 000 keys, and 1 MiB (1 048 576 bytes) of keys
    /// and values together (see [`Store::bounded`]).
    pub fn new() -> Self {
        Self::bounded(10_000, 1024 * 1024)
    }

    /// An empty store that holds at most `max_keys` keys and at most `max_bytes` bytes, counted
    /// as the sum of `key.len() + value.len()` (in bytes of UTF-8) over every key stored. A
    /// command that would take the store beyond either limit — a `SET` or an `INCR` of a new
    /// key when `max_keys` keys are stored, or one that would make the total exceed `max_bytes`
    /// — is answered `ERR store full` and changes nothing. A store exactly at a limit is fine;
    /// replacing a value counts only the difference, so a `SET` that does not grow the total is
    /// always accepted; `GET` and `DEL` always work, and `DEL` frees what the key used.
    pub fn bounded(max_keys: usize, max_bytes: usize) -> Self {
        Self {
            data: Arc::new(Mutex::new(Data {
                map: HashMap::new(),
                max_keys,
                max_bytes,
                bytes: 0,
            })),
        }
    }

    /// Executes one command and returns its reply:
    ///
    /// * `SET k v` → `OK`;
    /// * `GET k` → `VALUE v`, or `NIL` when `k` is not set;
    /// * `DEL k` → `INT 1` when `k` was set (it is now removed), `INT 0` when it was not;
    /// * `INCR k` → `INT n`, the new value, which is also stored (as decimal text, so a `GET`
    ///   then says `VALUE n`); a key that is not set counts as 0. When the stored value is not a
    ///   decimal `i64` (as `str::parse::<i64>` reads it: an optional `+` or `-`, then ASCII
    ///   digits, so `+5` and `007` count): `ERR value is not an integer`; when adding one would
    ///   overflow an `i64`:
    ///   `ERR increment would overflow`. In both cases the value is left as it was;
    /// * `QUIT` → `BYE` (nothing to do here: the connection closes after sending it);
    /// * a `SET` or `INCR` whose result would not fit the store's limits → `ERR store full`, and
    ///   nothing changes (see [`Store::bounded`]).
    ///
    /// Each command is atomic, on any runtime (many threads included): two clients that `INCR` the same key a hundred times each leave
    /// it at 200. Must never block the thread, and never keep the data locked across an `.await`.
    pub async fn apply(&self, command: Command) -> Reply {
        // The guard lives only inside this match: no `.await` while the map is locked. (The
        // workspace's clippy lints deny `await_holding_lock`, which would catch a slip.)
        let mut data = self.lock();
        match command {
            Command::Set { key, value } => match data.insert(key, value) {
                Ok(()) => Reply::Ok,
                Err(full) => full,
            },
            Command::Get { key } => match data.map.get(&key) {
                Some(value) => Reply::Value(value.clone()),
                None => Reply::Nil,
            },
            Command::Del { key } => Reply::Int(i64::from(data.remove(&key))),
            Command::Incr { key } => incr(&mut data, key),
            Command::Quit => Reply::Bye,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        // A panic while holding the lock cannot leave the map half-updated (every command checks
        // first, then makes a single insert or remove), so a poisoned lock is still safe to use.
        self.data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Data {
    // Stores `value` under `key` if the limits allow it; otherwise `ERR store full`, unchanged.
    fn insert(&mut self, key: String, value: String) -> Result<(), Reply> {
        let old = self.map.get(&key).map(|v| key.len() + v.len());
        let new = key.len() + value.len();
        // Remove the old entry's share first: replacing a value counts only the difference.
        let bytes = self.bytes - old.unwrap_or(0) + new;
        let keys = self.map.len() + usize::from(old.is_none());
        if keys > self.max_keys || bytes > self.max_bytes {
            return Err(Reply::Error("store full".to_owned()));
        }
        self.bytes = bytes;
        self.map.insert(key, value);
        Ok(())
    }

    // Removes `key`; whether it was there.
    fn remove(&mut self, key: &str) -> bool {
        match self.map.remove(key) {
            Some(value) => {
                self.bytes -= key.len() + value.len();
                true
            }
            None => false,
        }
    }
}

// Read, add one, write back — under one lock, which is what makes `INCR` atomic.
fn incr(data: &mut Data, key: String) -> Reply {
    let current = match data.map.get(&key) {
        None => 0,
        Some(text) => match text.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return Reply::Error("value is not an integer".to_owned()),
        },
    };
    let Some(next) = current.checked_add(1) else {
        return Reply::Error("increment would overflow".to_owned());
    };
    match data.insert(key, next.to_string()) {
        Ok(()) => Reply::Int(next),
        Err(full) => full,
    }
}
