//! Every version the store retains, in the order the changes were made: what an export of the
//! whole MVCC history (etcd's `key` bucket, one entry per revision and sub-revision) walks.
//!
//! Retained means: every version since the compaction point, and each key's version at the
//! compaction point (compaction keeps it when it is live, see [`super::compact`]).

use super::history::Version;
use super::store::{Key, Store};
use crate::kv::KeyRange;

impl Store {
    /// Every retained version with its key, ordered by (revision, sub-revision).
    pub fn retained(&self) -> Vec<(&Key, &Version)> {
        let everything = KeyRange { key: vec![0], range_end: vec![0] };
        let mut versions: Vec<(&Key, &Version)> = self
            .histories(&everything)
            .flat_map(|(key, history)| history.iter().map(move |version| (key, version)))
            .collect();
        versions.sort_by_key(|(_, version)| (version.revision, version.sub));
        versions
    }
}

#[cfg(test)]
mod tests {
    use crate::api::{DeleteRangeRequest, PutRequest, RequestOp, TxnRequest};
    use crate::kv::LeaseId;
    use crate::mvcc::Store;

    fn put(key: &str) -> PutRequest {
        PutRequest { key: key.into(), value: b"v".to_vec(), ..PutRequest::default() }
    }

    #[test]
    fn every_version_and_tombstone_comes_once_in_revision_and_sub_revision_order() {
        let no_leases = |_: LeaseId| false;
        let mut store = Store::new();
        store.put(&put("b"), &no_leases).unwrap();
        let txn = TxnRequest {
            success: vec![RequestOp::Put(put("c")), RequestOp::Put(put("a"))],
            ..TxnRequest::default()
        };
        store.txn(&txn, &no_leases).unwrap();
        let delete = DeleteRangeRequest { key: b"b".to_vec(), ..DeleteRangeRequest::default() };
        store.delete_range(&delete).unwrap();
        let seen: Vec<(Vec<u8>, i64, u32, bool)> = store
            .retained()
            .into_iter()
            .map(|(key, v)| (key.to_vec(), v.revision, v.sub, v.live.is_some()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (b"b".to_vec(), 2, 0, true),
                (b"c".to_vec(), 3, 0, true),
                (b"a".to_vec(), 3, 1, true),
                (b"b".to_vec(), 4, 0, false),
            ]
        );
    }
}
