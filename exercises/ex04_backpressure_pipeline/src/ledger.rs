//! The pipeline's books: how a cancellation can lose nothing.
//!
//! When the pipeline is cancelled, whatever it holds is dropped: items waiting in a channel,
//! enrich calls in flight, a half-built batch, a batch the sink was writing. You cannot ask all
//! of those places to hand their items back (a future inside `buffered` is simply gone). Keep
//! books instead: a record goes in when it is read and comes out when it is delivered or
//! dead-lettered; whatever is still in when the pipeline stops was not delivered.

use crate::pipeline::Stats;
use crate::record::{Reason, Record};

/// The pipeline's books: which records are inside the pipeline right now, and what became of
/// the others. Every clone writes to the same books.
///
/// A record goes in when it is read and comes out exactly once: delivered or dead-lettered. What
/// is still in when the pipeline is cancelled is what was not delivered.
#[derive(Clone, Default)]
pub(crate) struct Ledger {
    // Your fields: shared between the stage tasks, so behind an `Arc`. Which lock, and why is a
    // std one fine here?
}

impl Ledger {
    /// A record was taken from the source: it is now inside the pipeline.
    pub(crate) fn read(&self, id: u64) {
        todo!("count the read and remember the id as inside")
    }

    /// A record was rejected: it leaves the pipeline as a dead letter.
    pub(crate) fn dead_letter(&self, record: Record, reason: Reason) {
        todo!("move the record out, into the dead letters")
    }

    /// The sink finished writing the batch of these ids: they leave the pipeline, delivered.
    pub(crate) fn delivered(&self, ids: &[u64]) {
        todo!("count the delivered items and take their ids out")
    }

    /// The books as they stand: whatever is still inside counts as not delivered.
    pub(crate) fn stats(&self) -> Stats {
        todo!("build the report from the books")
    }
}
