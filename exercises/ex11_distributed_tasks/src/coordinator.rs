//! The coordinator: the queue behind a network protocol, shared by every connection.

use crate::net::Listener;
use crate::queue::Config;
use std::io;

/// Runs a coordinator with these rules on connections from `listener`, until accepting fails
/// (that error is returned).
///
/// Each connection speaks the protocol of [`crate::protocol`]. A submitter sends `SUBMIT`; the
/// coordinator answers `BUSY` when the queue refuses it, otherwise `ACCEPTED` (a duplicate key
/// too) and, once the task has an outcome, `DONE` or `DEAD` — a submission of a key that already
/// has one gets it at once. A worker sends `READY` and gets `TASK` once a task can be leased
/// (the coordinator stops waiting if the worker hangs up first); it sends `BEAT` for its lease
/// while it runs the task, then `OK` or `ERR`; none of these are answered. Leases run out on
/// their own, at the instant they expire, whether or not any connection is active.
pub async fn serve<L: Listener>(listener: L, config: Config) -> io::Result<()> {
    todo!("serve: accept connections and answer submitters and workers from one shared TaskQueue")
}
