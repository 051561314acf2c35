//! The backend size: what detcd counts against `--quota-backend-bytes`.
//!
//! etcd's quota is on the size of its bbolt file, which holds one record per retained revision
//! of a key: the revision as the record's key, and the key, value, lease and counters as its
//! value. detcd keeps no such file, so its backend size is defined as what those records hold:
//! for every version the store retains (a tombstone is a record too), the key, the value and
//! [`VERSION_BYTES`] for the revision, lease and counters. The definition's properties are what
//! the quota needs:
//! - it is a function of the replicated state alone (the retained versions), so every member and
//!   the simulator compute the same number for the same state, and a seed replays it;
//! - every put and delete raises it (history is kept until compaction), and only compaction
//!   lowers it. etcd's file shrinks only on defragment; detcd drops compacted versions at once
//!   and has nothing to defragment.
//!
//! [`Store`](super::Store) keeps the sum up to date as versions are appended and compacted
//! (`Store::backend_bytes`); nothing walks the store to measure it.

use super::history::{KeyHistory, Version};
use crate::api::{PutRequest, RequestOp, TxnRequest};

/// What one retained version costs beyond its key and value: the revision (etcd's 17-byte
/// revision key), create and mod revisions, version and lease, with their framing.
pub const VERSION_BYTES: u64 = 64;

/// The bytes one retained version of `key` counts for.
pub fn version_bytes(key_len: usize, version: &Version) -> u64 {
    let value = version.live.as_ref().map_or(0, |live| live.value.len());
    VERSION_BYTES + key_len as u64 + value as u64
}

/// The bytes every retained version of `key` counts for.
pub fn history_bytes(key_len: usize, history: &KeyHistory) -> u64 {
    history.iter().map(|version| version_bytes(key_len, version)).sum()
}

/// What a put will add at most (one new version).
pub fn put_cost(request: &PutRequest) -> u64 {
    VERSION_BYTES + request.key.len() as u64 + request.value.len() as u64
}

/// What a txn's puts will add at most, on the branch that puts more (as etcd's quota counts a
/// txn: deletes cost nothing, they free space at the next compaction).
pub fn txn_cost(txn: &TxnRequest) -> u64 {
    let branch = |ops: &[RequestOp]| ops.iter().map(op_cost).sum::<u64>();
    branch(&txn.success).max(branch(&txn.failure))
}

fn op_cost(op: &RequestOp) -> u64 {
    match op {
        RequestOp::Put(put) => put_cost(put),
        RequestOp::Txn(txn) => txn_cost(txn),
        RequestOp::Range(_) | RequestOp::DeleteRange(_) => 0,
    }
}
