//! One request of the put, range and txn workloads, built from the generated etcd messages and
//! sent with the generated tonic `KV` client.
//!
//! The txn mirrors what applications do most: one comparison, then one put. Its comparison
//! (`version(key) != -1`) always holds, so every txn writes and both servers do the same work.

use crate::driver::Kv;
use crate::options::Workload;
use detcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use detcd_proto::etcdserverpb::request_op::Request;
use detcd_proto::etcdserverpb::{Compare, PutRequest, RangeRequest, RequestOp, TxnRequest};

pub fn put(key: Vec<u8>, value: Vec<u8>) -> PutRequest {
    PutRequest { key, value, ..Default::default() }
}

pub fn range(key: Vec<u8>, serializable: bool) -> RangeRequest {
    RangeRequest { key, serializable, ..Default::default() }
}

pub fn txn(key: Vec<u8>, value: Vec<u8>) -> TxnRequest {
    let always = Compare {
        result: CompareResult::NotEqual as i32,
        target: CompareTarget::Version as i32,
        key: key.clone(),
        range_end: Vec::new(),
        target_union: Some(TargetUnion::Version(-1)),
    };
    let then_put = RequestOp { request: Some(Request::RequestPut(put(key, value))) };
    TxnRequest { compare: vec![always], success: vec![then_put], failure: Vec::new() }
}

/// Sends one request of `workload` (not `Watch`, which has its own loop) for `key`.
pub async fn send(
    kv: &mut Kv,
    workload: Workload,
    key: Vec<u8>,
    value: &[u8],
) -> Result<(), tonic::Status> {
    match workload {
        Workload::Put | Workload::Watch => kv.put(put(key, value.to_vec())).await.map(drop),
        Workload::Range { serializable } => kv.range(range(key, serializable)).await.map(drop),
        Workload::Txn => {
            let reply = kv.txn(txn(key, value.to_vec())).await?.into_inner();
            if reply.succeeded {
                Ok(())
            } else {
                Err(tonic::Status::internal("txn comparison failed: version(key) was -1"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_txn_compares_the_key_it_puts_and_has_no_failure_branch() {
        let request = txn(b"k".to_vec(), b"v".to_vec());
        assert_eq!(request.compare[0].key, b"k");
        assert_eq!(request.compare[0].target_union, Some(TargetUnion::Version(-1)));
        let Some(Request::RequestPut(put)) = &request.success[0].request else {
            panic!("success is a put: {request:?}")
        };
        assert_eq!((put.key.as_slice(), put.value.as_slice()), (&b"k"[..], &b"v"[..]));
        assert!(request.failure.is_empty());
    }

    #[test]
    fn serializable_is_carried_into_the_range() {
        assert!(range(b"k".to_vec(), true).serializable);
        assert!(!range(b"k".to_vec(), false).serializable);
    }
}
