//! The key-value domain types shared by every layer: stored pairs, watch events and headers.
//!
//! They mirror etcd's `mvccpb` and `etcdserverpb` messages field for field, so the gRPC edge only
//! converts, never interprets. Revisions are `i64` like etcd's, and 0 always means "none".

use serde::{Deserialize, Serialize};

/// A lease id; 0 means "no lease".
pub type LeaseId = i64;

/// One version of one key, as etcd's `mvccpb.KeyValue`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: Vec<u8>,
    /// Revision that created the key; kept until the key is deleted.
    pub create_revision: i64,
    /// Revision of the last change to the key.
    pub mod_revision: i64,
    /// 1 on create, +1 on every put; a deleted key has no version.
    pub version: i64,
    pub value: Vec<u8>,
    /// Lease the key is attached to, 0 when none.
    pub lease: LeaseId,
}

/// What happened to a key at one revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    Put,
    Delete,
}

/// One change, as etcd's `mvccpb.Event`.
///
/// For a `Delete`, `kv` holds the key and `mod_revision` = the deleting revision (other fields 0).
/// `prev_kv` is filled only for watchers that asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventType,
    pub kv: KeyValue,
    pub prev_kv: Option<KeyValue>,
}

impl Event {
    /// The revision at which this event happened.
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}

/// Every response carries one, as etcd's `ResponseHeader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ResponseHeader {
    pub cluster_id: u64,
    pub member_id: u64,
    /// The store's revision when the request was served.
    pub revision: i64,
    pub raft_term: u64,
}

/// A key range in etcd's encoding: `range_end` empty = the single key; `range_end == [0]` = every
/// key >= `key`; otherwise the half-open interval `[key, range_end)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct KeyRange {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
}

impl KeyRange {
    pub fn single(key: impl Into<Vec<u8>>) -> Self {
        KeyRange { key: key.into(), range_end: Vec::new() }
    }

    /// Every key that starts with `prefix` (what `etcdctl get --prefix` asks for).
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        let key = prefix.into();
        let range_end = prefix_end(&key);
        KeyRange { key, range_end }
    }

    pub fn is_single(&self) -> bool {
        self.range_end.is_empty()
    }

    /// Whether `candidate` falls inside this range.
    pub fn contains(&self, candidate: &[u8]) -> bool {
        if self.range_end.is_empty() {
            return candidate == self.key.as_slice();
        }
        if candidate < self.key.as_slice() {
            return false;
        }
        self.range_end == [0] || candidate < self.range_end.as_slice()
    }
}

/// The end of the range covering every key with this prefix: the prefix with its last non-0xff
/// byte incremented and the rest cut off; `[0]` (= to the end of the key space) when there is none.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte_that_can_be() {
        assert_eq!(prefix_end(b"foo"), b"fop".to_vec());
        assert_eq!(prefix_end(&[b'a', 0xff]), vec![b'b']);
        assert_eq!(prefix_end(&[0xff, 0xff]), vec![0]);
        assert_eq!(prefix_end(b""), vec![0]);
    }

    #[test]
    fn ranges_contain_what_etcd_says() {
        assert!(KeyRange::single("a").contains(b"a"));
        assert!(!KeyRange::single("a").contains(b"ab"));
        let prefix = KeyRange::prefix("a/");
        assert!(prefix.contains(b"a/") && prefix.contains(b"a/zzz"));
        assert!(!prefix.contains(b"a0") && !prefix.contains(b"a"));
        let from = KeyRange { key: b"m".to_vec(), range_end: vec![0] };
        assert!(from.contains(b"m") && from.contains(b"\xff\xff") && !from.contains(b"l"));
    }
}
