//! Compaction: forgetting history no read can ask for any more.
//!
//! `compact(rev)` refuses `rev <= compact_revision` (`Compacted`, nothing to do) and
//! `rev > revision` (`FutureRevision`). Otherwise, for every key it keeps the versions after
//! `rev`, the newest version at or before `rev` when it is live, and - for a key changed exactly
//! at `rev` - those changes and the version before them. A key whose newest version at `rev` is
//! an older tombstone disappears entirely.
//!
//! The contract that follows, for reads and for [`Store::events`]:
//! - a range read at any revision `>= rev` answers exactly as before the compaction;
//! - every event at a revision `>= rev` is still there, with the same `prev_kv`;
//! - reading at, or asking for events from, a revision `< rev` fails with `Compacted`.
//!
//! Compaction does not raise the revision.

use super::history::KeyHistory;
use super::size;
use super::store::Store;
use crate::api::CompactionResponse;
use crate::error::{Error, Result};
use crate::kv::ResponseHeader;
use crate::probes::{self, Probe};

impl Store {
    /// Compacts the history at `revision`.
    pub fn compact(&mut self, revision: i64) -> Result<CompactionResponse> {
        if revision <= self.compact_revision {
            return Err(Error::Compacted { compact_revision: self.compact_revision });
        }
        if revision > self.revision {
            return Err(Error::FutureRevision);
        }
        if revision == self.revision {
            probes::hit(Probe::CompactionAtNewest);
        }
        let (histories, free, bytes) = (&mut self.histories, &mut self.free, &mut self.bytes);
        self.index.retain(|key, slot| {
            let history = &mut histories[*slot as usize];
            let before = size::history_bytes(key.len(), history);
            let kept = history.compact(revision);
            *bytes -= before - size::history_bytes(key.len(), history);
            if !kept {
                // Keep the slab's invariant: a free slot holds an empty history.
                *history = KeyHistory::default();
                free.push(*slot);
            }
            kept
        });
        self.compact_revision = revision;
        let header = ResponseHeader { revision: self.revision, ..ResponseHeader::default() };
        Ok(CompactionResponse { header })
    }
}
