//! The shared state: one `HashMap` that every connection reads and writes.
//!
//! Two designs fit the same API, and the chapter shows both:
//!
//! * **a lock**: `Arc<std::sync::Mutex<HashMap>>`. A *std* mutex is the right choice
//!   when every critical section is short and contains no `.await`: locking it never makes a
//!   task wait for another task's I/O, so it cannot stall the executor;
//! * **an actor**: one task owns the map and receives commands over an `mpsc` channel, each with
//!   a `oneshot` for the reply. No lock at all, at the price of a task and two channel hops.
//!
//! `apply` is `async` so that either design fits behind it.

use crate::protocol::{Command, Reply};

/// The shared key-value store: a cheap handle, cloned into every connection.
///
/// Every clone sees the same data.
#[derive(Clone)]
pub struct Store {
    // Add the fields you need: the map (and its limits, and how much of them is used) behind an
    // `Arc<Mutex<..>>`, or the sender to an actor task.
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
        todo!("create an empty store with these limits")
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
        todo!("execute the command on the shared map")
    }
}
