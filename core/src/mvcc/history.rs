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
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The stored fields of a live version (the key itself lives in the index, once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    pub create_revision: i64,
    pub version: i64,
    pub lease: LeaseId,
    /// A boxed slice, not a `Vec`: the version is stored inline in the index, and 8 bytes less
    /// per version keeps more of it in each tree node.
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
/// The newest version - the one nearly every read and write wants - lies inline, so reading a
/// key as it is now touches the history itself and never a second heap block; only older
/// versions, which watch catch-up and historical reads ask for, live in a vector.
/// The representation is canonical (the newest version is always in `newest`, which is `None`
/// only for an empty history), so derived equality is equality of the version sequences.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHistory {
    /// Every version but the newest, oldest first.
    older: Vec<Version>,
    newest: Option<Version>,
}

impl KeyHistory {
    /// How many versions are retained.
    pub fn len(&self) -> usize {
        self.older.len() + usize::from(self.newest.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.newest.is_none()
    }

    /// The `i`th version, oldest first; `i < len()`.
    pub fn get(&self, i: usize) -> Option<&Version> {
        self.older.get(i).or_else(|| self.newest.as_ref().filter(|_| i == self.older.len()))
    }

    /// Every version, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Version> {
        self.older.iter().chain(&self.newest)
    }

    /// The number of versions, from the oldest, for which `before` holds; `before` must hold
    /// for a prefix of the versions only (as `slice::partition_point`).
    pub fn partition_point(&self, before: impl Fn(&Version) -> bool) -> usize {
        match &self.newest {
            Some(newest) if before(newest) => self.len(),
            _ => self.older.partition_point(before),
        }
    }

    /// The index of the newest version at or before `revision`.
    pub fn index_at(&self, revision: i64) -> Option<usize> {
        self.partition_point(|v| v.revision <= revision).checked_sub(1)
    }

    /// The live version at `revision`, if the key existed then.
    pub fn live_at(&self, revision: i64) -> Option<&Version> {
        let version = self.get(self.index_at(revision)?)?;
        version.live.as_ref().map(|_| version)
    }

    /// The newest version, live or not.
    pub fn newest(&self) -> Option<&Version> {
        self.newest.as_ref()
    }

    /// The newest live version (the key as it is now).
    pub fn current(&self) -> Option<&Version> {
        self.newest.as_ref().filter(|v| v.live.is_some())
    }

    /// Appends a change; the caller guarantees `revision` is newer than every stored version.
    pub fn push(&mut self, version: Version) {
        debug_assert!(self
            .newest
            .as_ref()
            .is_none_or(|v| (v.revision, v.sub) < (version.revision, version.sub)));
        if let Some(previous) = self.newest.replace(version) {
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
        let mut older = Record::deserialize(deserializer)?.versions;
        let newest = older.pop();
        Ok(KeyHistory { older, newest })
    }
}
