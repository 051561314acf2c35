//! `MemoryHistory`: a tiny in-memory key space that records every event by revision.
//!
//! It is the reference `EventHistory` for the hub's tests, benchmarks and examples: writes produce
//! the events a real store would (create / update / delete with `prev_kv`, one revision per
//! write), and `compact` drops history the way etcd does. It is deliberately naive (a flat log),
//! so it is easy to trust.

use super::history::EventHistory;
use crate::error::Error;
use crate::kv::{Event, EventType, KeyRange, KeyValue};
use std::collections::BTreeMap;

/// A key space with its full (uncompacted) event log.
#[derive(Debug, Clone, Default)]
pub struct MemoryHistory {
    revision: i64,
    compact_revision: i64,
    /// Every event still readable, in revision order.
    log: Vec<Event>,
    /// The newest version of every live key.
    live: BTreeMap<Vec<u8>, KeyValue>,
}

/// One change in a write: `Some(value)` puts, `None` deletes.
pub type Change = (Vec<u8>, Option<Vec<u8>>);

impl MemoryHistory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts one key in its own revision; returns the events of that revision.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Vec<Event> {
        self.write(&[(key.into(), Some(value.into()))])
    }

    /// Deletes one key in its own revision; no revision (and no events) when it does not exist.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> Vec<Event> {
        self.write(&[(key.into(), None)])
    }

    /// Applies `changes` (on distinct keys, like a txn) as one revision and returns its events.
    /// A write that changes nothing (only deletes of absent keys) takes no revision.
    pub fn write(&mut self, changes: &[Change]) -> Vec<Event> {
        let revision = self.revision + 1;
        let events: Vec<Event> = changes
            .iter()
            .filter_map(|(key, value)| match value {
                Some(value) => Some(self.put_at(revision, key, value)),
                None => self.delete_at(revision, key),
            })
            .collect();
        if !events.is_empty() {
            self.revision = revision;
            self.log.extend(events.iter().cloned());
        }
        events
    }

    fn put_at(&mut self, revision: i64, key: &[u8], value: &[u8]) -> Event {
        let previous = self.live.get(key).cloned();
        let kv = KeyValue {
            key: key.to_vec(),
            create_revision: previous.as_ref().map_or(revision, |p| p.create_revision),
            mod_revision: revision,
            version: previous.as_ref().map_or(1, |p| p.version + 1),
            value: value.to_vec(),
            lease: 0,
        };
        self.live.insert(key.to_vec(), kv.clone());
        Event { kind: EventType::Put, kv, prev_kv: previous }
    }

    fn delete_at(&mut self, revision: i64, key: &[u8]) -> Option<Event> {
        let previous = self.live.remove(key)?;
        let kv = KeyValue { key: key.to_vec(), mod_revision: revision, ..Default::default() };
        Some(Event { kind: EventType::Delete, kv, prev_kv: Some(previous) })
    }

    /// Drops every event below `revision`, as etcd's compaction does; fails like etcd when
    /// `revision` is not above the last compaction or is in the future.
    pub fn compact(&mut self, revision: i64) -> Result<(), Error> {
        if revision <= self.compact_revision {
            return Err(Error::Compacted { compact_revision: self.compact_revision });
        }
        if revision > self.revision {
            return Err(Error::FutureRevision);
        }
        self.compact_revision = revision;
        self.log.retain(|event| event.revision() >= revision);
        Ok(())
    }
}

impl EventHistory for MemoryHistory {
    fn current_revision(&self) -> i64 {
        self.revision
    }

    fn compact_revision(&self) -> i64 {
        self.compact_revision
    }

    fn events(&self, range: &KeyRange, from: i64, to: i64) -> Result<Vec<Event>, Error> {
        if from < self.compact_revision {
            return Err(Error::Compacted { compact_revision: self.compact_revision });
        }
        let first = self.log.partition_point(|event| event.revision() < from);
        let events = self.log[first..]
            .iter()
            .take_while(|event| event.revision() <= to)
            .filter(|event| range.contains(&event.kv.key))
            .cloned()
            .collect();
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_produce_etcd_shaped_events() {
        let mut history = MemoryHistory::new();
        let created = history.put("a", "1");
        assert_eq!(created[0].kv.create_revision, 1);
        assert_eq!(created[0].prev_kv, None);
        let updated = history.put("a", "2");
        assert_eq!((updated[0].kv.version, updated[0].kv.mod_revision), (2, 2));
        assert_eq!(updated[0].prev_kv.as_ref().map(|kv| kv.value.clone()), Some(b"1".to_vec()));
        let deleted = history.delete("a");
        assert_eq!(deleted[0].kind, EventType::Delete);
        assert_eq!((deleted[0].kv.mod_revision, deleted[0].kv.version), (3, 0));
        assert!(history.delete("a").is_empty(), "deleting nothing takes no revision");
        assert_eq!(history.current_revision(), 3);
    }

    #[test]
    fn compaction_keeps_the_compact_revision_readable() {
        let mut history = MemoryHistory::new();
        for value in ["1", "2", "3"] {
            history.put("k", value);
        }
        assert_eq!(history.compact(2), Ok(()));
        let all = KeyRange::single("k");
        assert_eq!(history.events(&all, 2, 3).map(|events| events.len()), Ok(2));
        assert_eq!(history.events(&all, 1, 3), Err(Error::Compacted { compact_revision: 2 }));
        assert_eq!(history.compact(2), Err(Error::Compacted { compact_revision: 2 }));
        assert_eq!(history.compact(9), Err(Error::FutureRevision));
    }
}
