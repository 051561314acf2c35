//! `events`: the changes a range saw between two revisions, for watch catch-up.
//!
//! `events(range, from, to)` returns every change to a key of `range` made at a revision in
//! `from..=to`, ordered by revision and, within one revision (one txn), in the order applied.
//! Each event carries `prev_kv`: the key's version just before the change, `None` when the key
//! did not exist. (In the one case where a txn changes a key twice - a nested put, then a later
//! nested delete - the delete's `prev_kv` is that put.) A delete's `kv` holds the key and the deleting revision only.
//!
//! Compaction contract: after `compact(c)`, every event at a revision `>= c` is available with
//! its `prev_kv`; `from < c` fails with `Compacted { compact_revision: c }`. `to` above the current
//! revision is clamped to it (a watcher asks for "everything up to now"); `from > to` is empty.
//!
//! Cost: one binary search per stored key of the range, then a sort of what was found; fine for
//! catch-up, not meant as the live path (live watchers are fed from `apply`'s events).

use super::history::Version;
use super::store::Store;
use crate::error::{Error, Result};
use crate::kv::{Event, EventType, KeyRange, KeyValue};

impl Store {
    /// Every event of `range` with `from <= revision <= to`, in the order they happened.
    pub fn events(&self, range: &KeyRange, from: i64, to: i64) -> Result<Vec<Event>> {
        if from < self.compact_revision {
            return Err(Error::Compacted { compact_revision: self.compact_revision });
        }
        let to = to.min(self.revision);
        if from > to {
            return Ok(Vec::new());
        }
        let mut found: Vec<(i64, u32, Event)> = Vec::new();
        for (key, history) in self.histories(range) {
            let first = history.partition_point(|v| v.revision < from);
            let last = history.partition_point(|v| v.revision <= to);
            for i in first..last {
                let Some(version) = history.get(i) else { continue };
                let prev = i.checked_sub(1).and_then(|p| history.get(p));
                let event = to_event(key, version, prev);
                found.push((version.revision, version.sub, event));
            }
        }
        found.sort_by_key(|(revision, sub, _)| (*revision, *sub));
        Ok(found.into_iter().map(|(_, _, event)| event).collect())
    }
}

fn to_event(key: &[u8], version: &Version, prev: Option<&Version>) -> Event {
    let prev_kv = prev.and_then(|p| p.key_value(key));
    match version.key_value(key) {
        Some(kv) => Event { kind: EventType::Put, kv, prev_kv },
        None => {
            let kv = KeyValue {
                key: key.to_vec(),
                mod_revision: version.revision,
                ..KeyValue::default()
            };
            Event { kind: EventType::Delete, kv, prev_kv }
        }
    }
}
