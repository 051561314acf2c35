//! `hash_kv`: one number that says whether two members hold the same history.
//!
//! Like etcd's HashKV, the hash at revision `r` covers what the store can still serve up to `r`:
//! for every key, the newest version at or before the compaction point (if live, or made exactly
//! there) and every version after it up to `r`, each with all its fields, in key order then
//! revision order, followed by the compaction point. Versions a compaction would drop are left
//! out even if still stored, so the hash does not depend on when history was physically dropped.
//! Members compare hashes only when the returned compaction revisions are equal.

use super::history::Version;
use super::store::Store;
use crate::error::Result;

impl Store {
    /// The hash of the history up to `revision` (<= 0 = current) and the compaction revision.
    pub fn hash_kv(&self, revision: i64) -> Result<(u32, i64)> {
        let revision = self.check_read_revision(revision)?;
        let mut hasher = crc32fast::Hasher::new();
        for (key, history) in self.entries() {
            let mut versions = history.visible(self.compact_revision, revision).peekable();
            if versions.peek().is_none() {
                continue;
            }
            hash_bytes(&mut hasher, key);
            for version in versions {
                hash_version(&mut hasher, version);
            }
        }
        hasher.update(&self.compact_revision.to_le_bytes());
        Ok((hasher.finalize(), self.compact_revision))
    }
}

fn hash_bytes(hasher: &mut crc32fast::Hasher, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn hash_version(hasher: &mut crc32fast::Hasher, version: &Version) {
    hasher.update(&version.revision.to_le_bytes());
    hasher.update(&version.sub.to_le_bytes());
    match &version.live {
        None => hasher.update(&[0]),
        Some(live) => {
            hasher.update(&[1]);
            hasher.update(&live.create_revision.to_le_bytes());
            hasher.update(&live.version.to_le_bytes());
            hasher.update(&live.lease.to_le_bytes());
            hash_bytes(hasher, &live.value);
        }
    }
}
