//! The store's serialized form: keys with their histories in key order, and the two counters.
//!
//! The slab and its slot numbers are not part of it: two stores with the same keys and
//! histories encode to the same bytes however their slots were handed out, which keeps
//! snapshots byte-identical across replicas. The encoding is that of the plain
//! `{ index: BTreeMap<key bytes, KeyHistory>, revision, compact_revision }` record, so snapshots
//! written before the slab existed still read. Decoding rebuilds the slab in key order.

use super::history::KeyHistory;
use super::key::Key;
use super::size;
use super::store::{Slot, Store};
use crate::plant::{self, Bug};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

impl Serialize for Store {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Index<'a>(&'a Store);
        impl Serialize for Index<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.entries())
            }
        }
        let mut record = serializer.serialize_struct("Store", 3)?;
        record.serialize_field("index", &Index(self))?;
        record.serialize_field("revision", &self.revision)?;
        record.serialize_field("compact_revision", &self.compact_revision)?;
        record.end()
    }
}

/// The serialized record, decoded before the slab is built.
#[derive(Deserialize)]
#[serde(rename = "Store")]
struct Record {
    index: BTreeMap<Key, KeyHistory>,
    revision: i64,
    compact_revision: i64,
}

impl<'de> Deserialize<'de> for Store {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let record = Record::deserialize(deserializer)?;
        Ok(Store::from_index(record.index, record.revision, record.compact_revision))
    }
}

impl Store {
    /// A store of these histories, at this revision and compaction point (the caller checked
    /// they agree).
    pub(super) fn from_index(
        index: BTreeMap<Key, KeyHistory>,
        revision: i64,
        compact_revision: i64,
    ) -> Store {
        let mut histories = Vec::with_capacity(index.len());
        let mut bytes = 0;
        // Keys arrive sorted, so collecting the index is a bulk build, not a million inserts.
        let index = index
            .into_iter()
            .map(|(key, history)| {
                bytes += size::history_bytes(key.len(), &history);
                histories.push(history);
                (key, (histories.len() - 1) as Slot)
            })
            .collect();
        Store {
            index,
            histories,
            free: Vec::new(),
            revision,
            compact_revision: if plant::active(Bug::ForgottenCompaction) {
                0
            } else {
                compact_revision
            },
            bytes,
        }
    }
}
