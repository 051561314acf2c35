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
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

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

/// Every retained version of one key, oldest first. Most keys have one retained version (after
/// compaction, or never overwritten), so one is kept inline with no allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyHistory {
    pub versions: SmallVec<[Version; 1]>,
}

impl KeyHistory {
    /// The index of the newest version at or before `revision`.
    pub fn index_at(&self, revision: i64) -> Option<usize> {
        self.versions.partition_point(|v| v.revision <= revision).checked_sub(1)
    }

    /// The live version at `revision`, if the key existed then.
    pub fn live_at(&self, revision: i64) -> Option<&Version> {
        let version = &self.versions[self.index_at(revision)?];
        version.live.as_ref().map(|_| version)
    }

    /// The newest live version (the key as it is now).
    pub fn current(&self) -> Option<&Version> {
        self.versions.last().filter(|v| v.live.is_some())
    }

    /// Appends a change; the caller guarantees `revision` is newer than every stored version.
    pub fn push(&mut self, version: Version) {
        debug_assert!(self
            .versions
            .last()
            .is_none_or(|v| (v.revision, v.sub) < (version.revision, version.sub)));
        self.versions.push(version);
    }

    /// Drops what a compaction at `revision` no longer needs. Keeps every version made at or
    /// after `revision` plus the one just before the first of them, so the events of revision
    /// `revision` still carry their `prev_kv`; a key not changed at `revision` keeps its newest
    /// older version only if it is live. Returns whether anything is left.
    pub fn compact(&mut self, revision: i64) -> bool {
        let first_at = self.versions.partition_point(|v| v.revision < revision);
        let changed_at = self.versions.get(first_at).is_some_and(|v| v.revision == revision);
        let keep_from = match first_at.checked_sub(1) {
            None => 0,
            Some(newest) if changed_at || self.versions[newest].live.is_some() => newest,
            Some(newest) => newest + 1,
        };
        self.versions.drain(..keep_from);
        !self.versions.is_empty()
    }

    /// The versions a hash of history up to `revision` covers when the store is compacted at
    /// `compacted`: exactly those a compaction at `compacted` would keep for reading, so members
    /// agree whether or not they have physically dropped the older ones yet.
    pub fn visible(&self, compacted: i64, revision: i64) -> impl Iterator<Item = &Version> {
        let base = self.index_at(compacted).filter(|&i| {
            let v = &self.versions[i];
            v.live.is_some() || v.revision == compacted
        });
        let first_after = self.versions.partition_point(|v| v.revision <= compacted);
        let last = self.versions.partition_point(|v| v.revision <= revision);
        let after = self.versions.get(first_after..last.max(first_after)).unwrap_or(&[]);
        base.map(|i| &self.versions[i])
            .into_iter()
            .filter(move |v| v.revision <= revision)
            .chain(after)
    }
}
