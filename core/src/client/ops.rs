//! Small builders for the requests recipes send, so recipe code reads like etcd's `clientv3`
//! (`OpGet(key, WithPrefix())`, `Compare(CreateRevision(key), "=", 0)`).

use crate::api::*;
use crate::kv::{prefix_end, KeyValue, LeaseId};

/// A linearizable read of one key.
pub fn get(key: &[u8]) -> RangeRequest {
    RangeRequest { key: key.to_vec(), ..Default::default() }
}

/// A linearizable read of every key under `prefix`, sorted by create revision (oldest first).
pub fn get_prefix_by_create(prefix: &[u8]) -> RangeRequest {
    RangeRequest {
        key: prefix.to_vec(),
        range_end: prefix_end(prefix),
        sort_order: SortOrder::Ascend,
        sort_target: SortTarget::Create,
        ..Default::default()
    }
}

/// A linearizable read of every key under `prefix` in key order.
pub fn get_prefix(prefix: &[u8]) -> RangeRequest {
    RangeRequest { key: prefix.to_vec(), range_end: prefix_end(prefix), ..Default::default() }
}

pub fn put(key: &[u8], value: &[u8], lease: LeaseId) -> PutRequest {
    PutRequest { key: key.to_vec(), value: value.to_vec(), lease, ..Default::default() }
}

pub fn delete(key: &[u8]) -> DeleteRangeRequest {
    DeleteRangeRequest { key: key.to_vec(), ..Default::default() }
}

pub fn compare(key: &[u8], target: CompareTarget, result: CompareResult) -> Compare {
    Compare { key: key.to_vec(), range_end: Vec::new(), target, result }
}

/// "The key does not exist": its create revision is 0.
pub fn absent(key: &[u8]) -> Compare {
    compare(key, CompareTarget::Create(0), CompareResult::Equal)
}

/// The first kv of a txn's first response when that response is a range.
pub fn first_range_kv(response: &TxnResponse) -> Option<&KeyValue> {
    match response.responses.first()? {
        ResponseOp::Range(range) => range.kvs.first(),
        _ => None,
    }
}
