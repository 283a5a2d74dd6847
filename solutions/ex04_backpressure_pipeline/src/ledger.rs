//! The pipeline's books: how cancellation stays lossless.
//!
//! A cancelled pipeline drops whatever it holds — items waiting in a channel, enrich calls in
//! flight, a half-built batch, a batch the sink was writing. Trying to *drain* all those places
//! on the way out is fragile (a future inside `buffered` cannot hand its item back). Bookkeeping
//! is simple instead: every record goes into the books when it is read, and comes out when it is
//! delivered or dead-lettered. Whatever is still in the books when the pipeline stops is exactly
//! what was not delivered, wherever it happened to be.

use crate::pipeline::Stats;
use crate::record::{DeadLetter, Reason, Record};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The pipeline's books: which records are inside the pipeline right now, and what became of
/// the others. Every clone writes to the same books.
///
/// A record goes in when it is read and comes out exactly once: delivered or dead-lettered. What
/// is still in when the pipeline is cancelled is what was not delivered.
#[derive(Clone, Default)]
pub(crate) struct Ledger {
    // A std Mutex, not tokio's: it is only ever held for a few instructions and never across an
    // `.await`, so it can never block the executor for long.
    books: Arc<Mutex<Books>>,
}

#[derive(Default)]
struct Books {
    read: usize,
    delivered: usize,
    inside: BTreeSet<u64>,
    dead_letters: Vec<DeadLetter>,
}

impl Ledger {
    /// A record was taken from the source: it is now inside the pipeline.
    pub(crate) fn read(&self, id: u64) {
        let mut books = self.lock();
        books.read += 1;
        books.inside.insert(id);
    }

    /// A record was rejected: it leaves the pipeline as a dead letter.
    pub(crate) fn dead_letter(&self, record: Record, reason: Reason) {
        let mut books = self.lock();
        books.inside.remove(&record.id);
        books.dead_letters.push(DeadLetter { record, reason });
    }

    /// The sink finished writing the batch of these ids: they leave the pipeline, delivered.
    pub(crate) fn delivered(&self, ids: &[u64]) {
        let mut books = self.lock();
        books.delivered += ids.len();
        for id in ids {
            books.inside.remove(id);
        }
    }

    /// The books as they stand: whatever is still inside counts as not delivered.
    pub(crate) fn stats(&self) -> Stats {
        let books = self.lock();
        Stats {
            read: books.read,
            delivered: books.delivered,
            dead_letters: books.dead_letters.clone(),
            // A BTreeSet iterates in ascending order.
            not_delivered: books.inside.iter().copied().collect(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Books> {
        // A stage that panicked while holding the lock poisons it; the books are still right
        // (every update is a single step), so keep using them.
        self.books.lock().unwrap_or_else(|e| e.into_inner())
    }
}
