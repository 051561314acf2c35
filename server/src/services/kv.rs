//! etcd's `KV` service: Range, Put, DeleteRange, Txn, Compact.

use super::serve;
use crate::status::{invalid, mismatched};
use detcd_core::member::{ClientRequest as Q, ClientResponse as A, Member};
use detcd_proto::convert::*;
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::kv_server::Kv;
use tonic::{Request, Response, Status};

pub struct KvService {
    member: Member,
}

impl KvService {
    pub fn new(member: Member) -> Self {
        KvService { member }
    }
}

#[tonic::async_trait]
impl Kv for KvService {
    async fn range(
        &self,
        request: Request<pb::RangeRequest>,
    ) -> Result<Response<pb::RangeResponse>, Status> {
        let request = range_request_from_proto(request.into_inner()).map_err(invalid)?;
        match serve(&self.member, Q::Range(request)).await? {
            A::Range(r) => Ok(Response::new(range_response_to_proto(r))),
            _ => Err(mismatched("Range")),
        }
    }

    async fn put(
        &self,
        request: Request<pb::PutRequest>,
    ) -> Result<Response<pb::PutResponse>, Status> {
        let request = put_request_from_proto(request.into_inner());
        match serve(&self.member, Q::Put(request)).await? {
            A::Put(r) => Ok(Response::new(put_response_to_proto(r))),
            _ => Err(mismatched("Put")),
        }
    }

    async fn delete_range(
        &self,
        request: Request<pb::DeleteRangeRequest>,
    ) -> Result<Response<pb::DeleteRangeResponse>, Status> {
        let request = delete_range_request_from_proto(request.into_inner());
        match serve(&self.member, Q::DeleteRange(request)).await? {
            A::DeleteRange(r) => Ok(Response::new(delete_range_response_to_proto(r))),
            _ => Err(mismatched("DeleteRange")),
        }
    }

    async fn txn(
        &self,
        request: Request<pb::TxnRequest>,
    ) -> Result<Response<pb::TxnResponse>, Status> {
        let request = txn_request_from_proto(request.into_inner()).map_err(invalid)?;
        match serve(&self.member, Q::Txn(request)).await? {
            A::Txn(r) => Ok(Response::new(txn_response_to_proto(r))),
            _ => Err(mismatched("Txn")),
        }
    }

    async fn compact(
        &self,
        request: Request<pb::CompactionRequest>,
    ) -> Result<Response<pb::CompactionResponse>, Status> {
        let request = compaction_request_from_proto(request.into_inner());
        match serve(&self.member, Q::Compact(request)).await? {
            A::Compact(r) => Ok(Response::new(compaction_response_to_proto(r))),
            _ => Err(mismatched("Compact")),
        }
    }
}
