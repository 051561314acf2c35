//! The one thing the hub needs from the store: its revisions and the events between them.
//!
//! The hub keeps no history of its own. A watcher that starts in the past, or falls behind, is
//! caught up by reading `events` from the store; the store's compaction decides how far back that
//! is possible. Keeping this a trait keeps the hub independent of the MVCC code and lets tests use
//! `MemoryHistory`.

use crate::error::Error;
use crate::kv::{Event, KeyRange};

/// A revisioned event log, as the MVCC store provides it.
pub trait EventHistory {
    /// The store's revision: the revision of the newest applied write.
    fn current_revision(&self) -> i64;

    /// The revision of the last compaction (0 when none): events below it are gone, events *at*
    /// it are still readable.
    fn compact_revision(&self) -> i64;

    /// Every event in `range` with `from <= revision <= to`, in revision order; events of one
    /// revision in the order their write produced them; `prev_kv` filled whenever a previous
    /// version exists. `Err(Error::Compacted { compact_revision })` when `from < compact_revision`.
    fn events(&self, range: &KeyRange, from: i64, to: i64) -> Result<Vec<Event>, Error>;
}
