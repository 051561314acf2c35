//! The log state a WAL describes, and how each record changes it.
//!
//! Replaying the records of every segment, in order, through [`WalState::apply`] gives the state
//! the log had when the last of them was written; the writer applies the same function to what it
//! appends, so "what was written" and "what recovery reads" cannot drift apart.
//!
//! Invariant: `entries` is contiguous (indexes `first..=last` with no holes), and when something
//! was purged every entry lies above the purge point.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::record::{Entry, Purged, Record, SegmentHeader};

/// Everything the log holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalState {
    /// The entries, by index.
    pub entries: BTreeMap<u64, Entry>,
    pub vote: Option<Bytes>,
    pub committed: Option<Bytes>,
    pub purged: Option<Purged>,
}

impl WalState {
    /// The state a segment header describes (no entries: they live in the records).
    pub fn from_header(header: &SegmentHeader) -> WalState {
        WalState {
            entries: BTreeMap::new(),
            vote: header.vote.clone(),
            committed: header.committed.clone(),
            purged: header.purged.clone(),
        }
    }

    /// The header a segment started now would carry.
    pub fn header(&self, seq: u64) -> SegmentHeader {
        SegmentHeader {
            seq,
            vote: self.vote.clone(),
            committed: self.committed.clone(),
            purged: self.purged.clone(),
        }
    }

    /// Index of the last entry, if any.
    pub fn last_index(&self) -> Option<u64> {
        self.entries.keys().next_back().copied()
    }

    /// Checks that `record` can be applied: entries must extend the log without a hole.
    ///
    /// While replaying a log whose oldest segments were deleted, the first entry seen may lie
    /// above the purge point recorded in the oldest header (a later purge record covers the gap),
    /// so an entry into an empty log is accepted at any index above the purge point.
    pub fn check(&self, record: &Record) -> Result<(), String> {
        let entry = match record {
            Record::Entry(entry) => entry,
            Record::Purge(purged) => return self.check_purge(purged),
            _ => return Ok(()),
        };
        match (self.last_index(), &self.purged) {
            (Some(last), _) if entry.index != last + 1 => {
                Err(format!("entry {} does not follow the last entry {last}", entry.index))
            }
            (None, Some(purged)) if entry.index <= purged.index => Err(format!(
                "entry {} is at or below the purge point {}",
                entry.index, purged.index
            )),
            _ => Ok(()),
        }
    }

    fn check_purge(&self, purged: &Purged) -> Result<(), String> {
        match &self.purged {
            Some(current) if purged.index < current.index => {
                Err(format!("purge to {} is below the purge point {}", purged.index, current.index))
            }
            _ => Ok(()),
        }
    }

    /// Checks the contiguity invariant after a replay: the first entry follows the purge point.
    pub fn check_start(&self) -> Result<(), String> {
        let first = self.entries.keys().next().copied();
        match (first, &self.purged) {
            (Some(first), Some(purged)) if first != purged.index + 1 => Err(format!(
                "entries {}..{} are missing after the purge point",
                purged.index + 1,
                first
            )),
            _ => Ok(()),
        }
    }

    /// Applies a record already accepted by [`WalState::check`].
    pub fn apply(&mut self, record: Record) {
        match record {
            Record::Entry(entry) => {
                self.entries.insert(entry.index, entry);
            }
            Record::Vote(vote) => self.vote = Some(vote),
            Record::Committed(committed) => self.committed = committed,
            Record::Truncate { since } => {
                self.entries.split_off(&since);
            }
            Record::Purge(purged) => {
                let keep = purged.index.checked_add(1).map(|above| self.entries.split_off(&above));
                self.entries = keep.unwrap_or_default();
                self.purged = Some(purged);
            }
        }
    }
}
