//! The revisioned key space: an ordered index from key to that key's history.
//!
//! The store is an ordered index `BTreeMap<Key, slot>` into a slab of [`KeyHistory`]s, plus two
//! counters. A write never copies the world: it appends a [`Version`] to the history of each key
//! it changes, all at the next revision.
//!
//! Layout is chosen for cache misses, which dominate at a million keys. The tree is what every
//! put and every range start descends through, so its entries are kept small: a [`Key`] with its
//! first 16 bytes inline (compared as machine words, no pointer chased) and a 4-byte slot. A
//! tree of small entries has fewer, denser nodes, more of them stay cached, and an insert
//! shifts less memory inside a node; measured at a million random inserts, a slot instead of
//! the history inline made the bare tree about 1.5 times faster. The histories themselves lie
//! in the slab, appended in the order keys were created.
//!
//! Invariants:
//! - `index` maps every stored key to a distinct slot `< histories.len()`; every slot not in
//!   `index` is in `free` and holds an empty history. The slot numbers are an internal detail:
//!   equality, `Debug` and the serialized form see only keys and histories, in key order;
//! - `revision` starts at 1 on a fresh store and rises by exactly one per write that changed
//!   something; a write that changes nothing (deleting an absent key, a txn whose branch only
//!   reads) leaves it alone;
//! - every stored version has `revision <= self.revision`;
//! - `compact_revision <= revision`; reads below `compact_revision` are refused, and the history
//!   keeps everything a read at or above it needs (see [`KeyHistory::compact`]);
//! - a failed write changed nothing: every check runs before the first change is made.

use super::history::{KeyHistory, Live, Version};
use super::size;
use crate::error::{Error, Result};
use crate::kv::{Event, EventType, KeyRange, KeyValue, LeaseId};
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

pub use super::key::Key;

/// A position in the store's slab of histories. 32 bits: four billion keys is far beyond what
/// one member holds in memory (each costs well over 100 bytes).
pub(super) type Slot = u32;

/// The MVCC key space.
#[derive(Clone)]
pub struct Store {
    pub(super) index: BTreeMap<Key, Slot>,
    /// The slab the index points into.
    pub(super) histories: Vec<KeyHistory>,
    /// Slots freed by compaction, reused by the next new keys.
    pub(super) free: Vec<Slot>,
    /// The revision of the last write that changed something (1 on a fresh store).
    pub(super) revision: i64,
    /// The revision of the last compaction (0 = never compacted).
    pub(super) compact_revision: i64,
    /// The backend size of every retained version ([`super::size`]), kept as versions come and
    /// go; derived from the histories, so equality and the serialized form leave it out.
    pub(super) bytes: u64,
}

impl PartialEq for Store {
    fn eq(&self, other: &Self) -> bool {
        self.revision == other.revision
            && self.compact_revision == other.compact_revision
            && self.index.len() == other.index.len()
            && self.entries().eq(other.entries())
    }
}

impl Eq for Store {}

/// The index as `Debug` shows it: keys and histories, no slots.
struct Entries<'a>(&'a Store);

impl fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.entries()).finish()
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("index", &Entries(self))
            .field("revision", &self.revision)
            .field("compact_revision", &self.compact_revision)
            .finish()
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        Store {
            index: BTreeMap::new(),
            histories: Vec::new(),
            free: Vec::new(),
            revision: 1,
            compact_revision: 0,
            bytes: 0,
        }
    }

    /// Every stored key with its history, in key order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&Key, &KeyHistory)> + '_ {
        self.index.iter().map(|(key, &slot)| (key, &self.histories[slot as usize]))
    }

    /// The history of `key`, if stored.
    pub(super) fn history(&self, key: &[u8]) -> Option<&KeyHistory> {
        let slot = *self.index.get(&Key::from_slice(key))?;
        Some(&self.histories[slot as usize])
    }

    /// The slot of `key`, made (empty) if the key is not stored yet: one descent of the tree.
    fn slot_for(&mut self, key: &[u8]) -> Slot {
        match self.index.entry(Key::from_slice(key)) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                let slot = self.free.pop().unwrap_or_else(|| {
                    self.histories.push(KeyHistory::default());
                    (self.histories.len() - 1) as Slot
                });
                *entry.insert(slot)
            }
        }
    }

    /// The current revision: that of the last write that changed something.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The revision of the last compaction, 0 if never compacted.
    pub fn compact_revision(&self) -> i64 {
        self.compact_revision
    }

    /// The backend size: what every retained version counts for (see [`super::size`]).
    pub fn backend_bytes(&self) -> u64 {
        self.bytes
    }

    /// Number of keys that exist now.
    pub fn len(&self) -> usize {
        self.entries().filter(|(_, h)| h.current().is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key as it is now, if it exists.
    pub fn get(&self, key: &[u8]) -> Option<KeyValue> {
        self.history(key)?.current()?.key_value(key)
    }

    /// Resolves a requested read revision (<= 0 = current) and refuses ones the store cannot
    /// serve: below the compaction point or above the current revision.
    pub fn check_read_revision(&self, revision: i64) -> Result<i64> {
        if revision <= 0 {
            return Ok(self.revision);
        }
        if revision > self.revision {
            return Err(Error::FutureRevision);
        }
        // The compact revision itself stays readable: compaction keeps each key's version at it.
        // The planted `compact-off-by-one` refuses it too; `compacted-read` refuses nothing.
        let compacted = revision < self.compact_revision
            || (revision == self.compact_revision && plant::active(Bug::CompactOffByOne));
        if compacted && !plant::active(Bug::CompactedRead) {
            probes::hit(Probe::ReadCompactedRevision);
            return Err(Error::Compacted { compact_revision: self.compact_revision });
        }
        Ok(revision)
    }

    /// Every stored key inside `range`, with its history, in key order.
    pub(super) fn histories<'a>(
        &'a self,
        range: &KeyRange,
    ) -> impl Iterator<Item = (&'a Key, &'a KeyHistory)> + 'a {
        self.slots(range).map(|(key, slot)| (key, &self.histories[slot as usize]))
    }

    /// Every stored key inside `range`, with its slot, in key order: a walk of the index only.
    pub(super) fn slots<'a>(&'a self, range: &KeyRange) -> Slots<'a> {
        let key = Key::from_slice(&range.key);
        if range.is_single() {
            return Slots::One(self.index.get_key_value(&key));
        }
        let end = range.range_end.as_slice();
        if end == [0] {
            return Slots::Many(self.index.range((Bound::Included(key), Bound::Unbounded)));
        }
        // BTreeMap::range panics on an inverted range; etcd answers it with nothing.
        if end <= range.key.as_slice() {
            return Slots::One(None);
        }
        let end = Key::from_slice(end);
        Slots::Many(self.index.range((Bound::Included(key), Bound::Excluded(end))))
    }

    /// The keys inside `range` that existed at `revision` (already checked), in key order.
    pub fn live_at<'a>(
        &'a self,
        range: &KeyRange,
        revision: i64,
    ) -> impl Iterator<Item = (&'a Key, &'a Version)> + 'a {
        self.histories(range).filter_map(move |(key, h)| Some((key, h.live_at(revision)?)))
    }

    /// Starts a write at the next revision.
    pub(super) fn writer(&mut self) -> Writer<'_> {
        let revision = self.revision + 1;
        Writer { store: self, revision, events: Vec::new() }
    }
}

/// The keys of a range with their slots, in key order: one key (or none), or a walk of the
/// index. An enum rather than a boxed iterator, so a read allocates nothing to walk.
pub(super) enum Slots<'a> {
    One(Option<(&'a Key, &'a Slot)>),
    Many(std::collections::btree_map::Range<'a, Key, Slot>),
}

impl<'a> Iterator for Slots<'a> {
    type Item = (&'a Key, Slot);

    fn next(&mut self) -> Option<Self::Item> {
        let (key, slot) = match self {
            Slots::One(one) => one.take()?,
            Slots::Many(many) => many.next()?,
        };
        Some((key, *slot))
    }
}

/// A write in progress: every change it makes lands at one revision, `store.revision + 1`.
///
/// Callers validate first and change second; nothing a `Writer` does can fail. `finish` raises
/// the store's revision only if some change was made.
pub(super) struct Writer<'a> {
    pub(super) store: &'a mut Store,
    pub(super) revision: i64,
    pub(super) events: Vec<Event>,
}

impl Writer<'_> {
    /// The revision reads inside this write see: the new one once something changed, so a txn
    /// reads its own earlier writes, as etcd's does.
    pub(super) fn read_revision(&self) -> i64 {
        if self.events.is_empty() {
            self.store.revision
        } else {
            self.revision
        }
    }

    fn next_sub(&self) -> u32 {
        self.events.len() as u32
    }

    /// Puts `value` under `key` with `lease`; returns the previous pair if `want_prev` (the
    /// event always carries it). Copies of the pair are made only where they are handed out:
    /// one for the event, one more for the caller only when it asked.
    pub(super) fn put(
        &mut self,
        key: &[u8],
        value: Box<[u8]>,
        lease: LeaseId,
        want_prev: bool,
    ) -> Option<KeyValue> {
        let (revision, sub) = (self.revision, self.next_sub());
        // One descent of the tree whether the key is new or not; building a `Key` of up to
        // `key::INLINE` bytes allocates nothing.
        let slot = self.store.slot_for(key);
        let history = &mut self.store.histories[slot as usize];
        let prev_kv = history.current().and_then(|v| v.key_value(key));
        let (create_revision, version) = match &prev_kv {
            Some(p) => (p.create_revision, p.version + 1),
            None => (revision, 1),
        };
        let kv = KeyValue {
            key: key.to_vec(),
            create_revision,
            mod_revision: revision,
            version,
            value: value.to_vec(),
            lease,
        };
        let live = Live { create_revision, version, lease, value };
        let version = Version { revision, sub, live: Some(live) };
        self.store.bytes += size::version_bytes(key.len(), &version);
        history.push(version);
        let prev = if want_prev { prev_kv.clone() } else { None };
        self.events.push(Event { kind: EventType::Put, kv, prev_kv });
        prev
    }

    /// Deletes `key` if it exists; returns the deleted pair.
    pub(super) fn delete(&mut self, key: &[u8]) -> Option<KeyValue> {
        let (revision, sub) = (self.revision, self.next_sub());
        let slot = *self.store.index.get(&Key::from_slice(key))?;
        let history = &mut self.store.histories[slot as usize];
        let prev = history.current()?.key_value(key)?;
        let tombstone = Version { revision, sub, live: None };
        self.store.bytes += size::version_bytes(key.len(), &tombstone);
        history.push(tombstone);
        let kv = KeyValue { key: key.to_vec(), mod_revision: revision, ..KeyValue::default() };
        self.events.push(Event { kind: EventType::Delete, kv, prev_kv: Some(prev.clone()) });
        Some(prev)
    }

    /// Deletes every key inside `range` that exists now; returns the deleted pairs in key order.
    pub(super) fn delete_range(&mut self, range: &KeyRange) -> Vec<KeyValue> {
        let read = self.read_revision();
        let keys: Vec<Key> = self.store.live_at(range, read).map(|(k, _)| k.clone()).collect();
        keys.iter().filter_map(|key| self.delete(key)).collect()
    }

    /// Ends the write: the store moves to the new revision if anything changed.
    pub(super) fn finish(self) -> Vec<Event> {
        if !self.events.is_empty() || plant::active(Bug::RevisionSkip) {
            self.store.revision = self.revision;
        }
        self.events
    }
}
