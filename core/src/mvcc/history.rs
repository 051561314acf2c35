//! The history of one key: every version it has had, oldest first.
//!
//! A key's life is a sequence of *generations*: a put on an absent key starts one (version 1,
//! `create_revision` = that revision), further puts continue it (version + 1), and a delete ends it
//! with a tombstone. The history stores each change as a [`Version`] at its revision.
//!
//! Invariants:
//! - versions are strictly increasing in `(revision, sub)`. A key usually changes at most once
//!   per revision, but not always: etcd's duplicate-key check lets one nested txn put a key and a
//!   later sibling nested txn delete it, so both changes land at one revision, in that order;
//! - a tombstone is never followed by another tombstone and never opens a history that has
//!   nothing before it, except after compaction trimmed the older versions;
//! - the live version at revision `r` is the newest version with `revision <= r`, if it is not a
//!   tombstone.

use crate::kv::{KeyValue, LeaseId};
use crate::probes::{self, Probe};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use thin_vec::ThinVec;

/// The stored fields of a live version (the key itself lives in the index, once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    pub create_revision: i64,
    pub version: i64,
    pub lease: LeaseId,
    /// A boxed slice, not a `Vec`: 8 bytes less per version is part of what fits a key's
    /// history in one cache line (see [`KeyHistory`]).
    pub value: Box<[u8]>,
}

/// One change to a key: a put (`live` is `Some`) or a delete (a tombstone, `live` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// The store revision of the write that made this version.
    pub revision: i64,
    /// The position of this change among all changes of its revision (a txn changes several keys
    /// at one revision; watchers see them in the order they were applied).
    pub sub: u32,
    pub live: Option<Live>,
}

impl Version {
    /// This version as etcd's `KeyValue`, or `None` for a tombstone.
    pub fn key_value(&self, key: &[u8]) -> Option<KeyValue> {
        self.live.as_ref().map(|live| KeyValue {
            key: key.to_vec(),
            create_revision: live.create_revision,
            mod_revision: self.revision,
            version: live.version,
            value: live.value.to_vec(),
            lease: live.lease,
        })
    }
}

/// Every retained version of one key, oldest first.
///
/// Laid out for the range walk, which visits thousands of histories scattered over the heap and
/// waits for memory once per cache line it touches. The newest version - the one nearly every
/// read and write wants - lies inline and the older versions, which watch catch-up and
/// historical reads ask for, sit behind one pointer, so a history is exactly one aligned 64-byte
/// line (it was 88 bytes, two or three lines). An empty history is marked by a newest version
/// at revision 0, which no write has, rather than an `Option` that would need 8 more bytes.
///
/// Invariants: the history is empty exactly when `newest.revision == 0`, and then `older` is
/// empty too. An empty `older` holds no allocation.
#[derive(Clone, PartialEq, Eq)]
#[repr(align(64))]
pub struct KeyHistory {
    newest: Version,
    /// Every version but the newest, oldest first. A `ThinVec` keeps its length and capacity
    /// on the heap, so the field is one pointer, not a vector's three words (that is what fits a
    /// history in one line), and it grows in place: an overwrite allocates at most once, where a
    /// boxed `Vec` allocated twice on a key's first overwrite (overwrites ran at 0.6M/s, not 1M).
    older: ThinVec<Version>,
}

/// The newest version of an empty history: no write has revision 0.
const NO_VERSION: Version = Version { revision: 0, sub: 0, live: None };

impl Default for KeyHistory {
    fn default() -> Self {
        KeyHistory { newest: NO_VERSION, older: ThinVec::new() }
    }
}

/// Shown as the versions, oldest first: the sentinel and the split are layout, not content.
impl fmt::Debug for KeyHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl KeyHistory {
    /// Every version but the newest, oldest first.
    fn older(&self) -> &[Version] {
        &self.older
    }

    /// How many versions are retained.
    pub fn len(&self) -> usize {
        self.older().len() + usize::from(!self.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.newest.revision == 0
    }

    /// The `i`th version, oldest first; `i < len()`.
    pub fn get(&self, i: usize) -> Option<&Version> {
        let older = self.older();
        older.get(i).or_else(|| self.newest().filter(|_| i == older.len()))
    }

    /// Every version, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Version> {
        self.older().iter().chain(self.newest())
    }

    /// The number of versions, from the oldest, for which `before` holds; `before` must hold
    /// for a prefix of the versions only (as `slice::partition_point`).
    pub fn partition_point(&self, before: impl Fn(&Version) -> bool) -> usize {
        match self.newest() {
            Some(newest) if before(newest) => self.len(),
            _ => self.older().partition_point(before),
        }
    }

    /// The index of the newest version at or before `revision`.
    pub fn index_at(&self, revision: i64) -> Option<usize> {
        self.partition_point(|v| v.revision <= revision).checked_sub(1)
    }

    /// The live version at `revision`, if the key existed then.
    ///
    /// A read at or after the newest version, nearly every read, looks at this history's own
    /// cache line only, never at the older versions behind their pointer.
    pub fn live_at(&self, revision: i64) -> Option<&Version> {
        let version = match self.newest() {
            Some(newest) if newest.revision <= revision => newest,
            _ => {
                let older = self.older();
                older.get(older.partition_point(|v| v.revision <= revision).checked_sub(1)?)?
            }
        };
        version.live.as_ref().map(|_| version)
    }

    /// The newest version, live or not.
    pub fn newest(&self) -> Option<&Version> {
        Some(&self.newest).filter(|_| !self.is_empty())
    }

    /// The newest live version (the key as it is now).
    pub fn current(&self) -> Option<&Version> {
        self.newest().filter(|v| v.live.is_some())
    }

    /// Appends a change; the caller guarantees `revision` is newer than every stored version
    /// (and so is not 0).
    pub fn push(&mut self, version: Version) {
        crate::invariant!(
            version.revision > 0
                && self
                    .newest()
                    .is_none_or(|v| (v.revision, v.sub) < (version.revision, version.sub)),
            "a key's version at ({}, {}) is not newer than its newest ({:?})",
            version.revision,
            version.sub,
            self.newest().map(|v| (v.revision, v.sub))
        );
        let was_empty = self.is_empty();
        let previous = std::mem::replace(&mut self.newest, version);
        if !was_empty {
            self.older.push(previous);
        }
    }

    /// Drops what a compaction at `revision` no longer needs. Keeps every version made at or
    /// after `revision` plus the one just before the first of them, so the events of revision
    /// `revision` still carry their `prev_kv`; a key not changed at `revision` keeps its newest
    /// older version only if it is live. Returns whether anything is left.
    pub fn compact(&mut self, revision: i64) -> bool {
        let first_at = self.partition_point(|v| v.revision < revision);
        let changed_at = self.get(first_at).is_some_and(|v| v.revision == revision);
        if changed_at && self.get(first_at).is_some_and(|v| v.live.is_none()) {
            probes::hit(Probe::CompactionAtDelete);
        }
        let keep_from = match first_at.checked_sub(1) {
            None => 0,
            Some(newest) if changed_at || self.get(newest).is_some_and(|v| v.live.is_some()) => {
                newest
            }
            Some(newest) => newest + 1,
        };
        if keep_from >= self.len() {
            *self = KeyHistory::default();
        } else {
            self.older.drain(..keep_from);
            if self.older.is_empty() {
                self.older = ThinVec::new();
            }
        }
        !self.is_empty()
    }

    /// The versions a hash of history up to `revision` covers when the store is compacted at
    /// `compacted`: exactly those a compaction at `compacted` would keep for reading, so members
    /// agree whether or not they have physically dropped the older ones yet.
    pub fn visible(&self, compacted: i64, revision: i64) -> impl Iterator<Item = &Version> {
        let base = self
            .index_at(compacted)
            .and_then(|i| self.get(i))
            .filter(|v| v.live.is_some() || v.revision == compacted);
        let first_after = self.partition_point(|v| v.revision <= compacted);
        let last = self.partition_point(|v| v.revision <= revision);
        base.into_iter()
            .filter(move |v| v.revision <= revision)
            .chain((first_after..last.max(first_after)).filter_map(|i| self.get(i)))
    }
}

/// Encoded as the plain record `{ versions: [Version] }`, oldest first, as before the newest
/// version moved inline, so snapshots keep their format.
impl Serialize for KeyHistory {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Versions<'a>(&'a KeyHistory);
        impl Serialize for Versions<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter())
            }
        }
        let mut record = serializer.serialize_struct("KeyHistory", 1)?;
        record.serialize_field("versions", &Versions(self))?;
        record.end()
    }
}

impl<'de> Deserialize<'de> for KeyHistory {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "KeyHistory")]
        struct Record {
            versions: Vec<Version>,
        }
        let mut versions = Record::deserialize(deserializer)?.versions;
        let mut history = KeyHistory::default();
        let Some(newest) = versions.pop() else { return Ok(history) };
        if newest.revision <= 0 {
            return Err(serde::de::Error::custom("a stored version has a revision below 1"));
        }
        history.newest = newest;
        history.older = ThinVec::from(versions);
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(revision: i64, value: u8) -> Version {
        let value = vec![value; 3].into_boxed_slice();
        Version {
            revision,
            sub: 0,
            live: Some(Live { create_revision: 2, version: 1, lease: 0, value }),
        }
    }

    fn delete(revision: i64) -> Version {
        Version { revision, sub: 0, live: None }
    }

    fn history(versions: Vec<Version>) -> KeyHistory {
        let mut history = KeyHistory::default();
        versions.into_iter().for_each(|v| history.push(v));
        history
    }

    #[test]
    fn a_history_is_one_aligned_cache_line() {
        assert_eq!(std::mem::size_of::<KeyHistory>(), 64);
        assert_eq!(std::mem::align_of::<KeyHistory>(), 64);
    }

    #[test]
    fn every_revision_reads_the_version_live_then() {
        let h = history(vec![put(2, 1), put(4, 2), delete(6), put(8, 3)]);
        let live = |r| h.live_at(r).map(|v| v.revision);
        let expected =
            [None, None, Some(2), Some(2), Some(4), Some(4), None, None, Some(8), Some(8)];
        for (revision, want) in expected.into_iter().enumerate() {
            assert_eq!(live(revision as i64), want, "at {revision}");
        }
        assert_eq!(h.len(), 4);
        assert_eq!(h.iter().map(|v| v.revision).collect::<Vec<_>>(), [2, 4, 6, 8]);
        assert!(KeyHistory::default().live_at(5).is_none() && KeyHistory::default().is_empty());
    }

    #[test]
    fn compaction_leaves_the_same_history_as_building_what_is_kept() {
        let mut h = history(vec![put(2, 1), put(4, 2), delete(6), put(8, 3)]);
        assert!(h.compact(8));
        assert_eq!(h, history(vec![delete(6), put(8, 3)]), "a change at 8 keeps its prev");
        assert!(h.compact(9));
        assert_eq!(h, history(vec![put(8, 3)]));
        let mut gone = history(vec![put(2, 1), delete(3)]);
        assert!(!gone.compact(5));
        assert_eq!(gone, KeyHistory::default());
    }

    #[test]
    fn serializes_as_its_versions_and_refuses_revision_zero() {
        let h = history(vec![put(2, 1), delete(3), put(5, 2)]);
        let encoded = postcard::to_stdvec(&h).unwrap_or_default();
        assert_eq!(postcard::from_bytes::<KeyHistory>(&encoded).ok(), Some(h));
        let empty = postcard::to_stdvec(&KeyHistory::default()).unwrap_or_default();
        assert_eq!(postcard::from_bytes::<KeyHistory>(&empty).ok(), Some(KeyHistory::default()));
        // The record's only field is the version list, so a bare list encodes the same record.
        let zero = postcard::to_stdvec(&vec![put(0, 1)]).unwrap_or_default();
        assert!(!zero.is_empty());
        assert!(postcard::from_bytes::<KeyHistory>(&zero).is_err());
    }
}
