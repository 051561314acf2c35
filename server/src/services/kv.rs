//! etcd's `KV` service: Range, Put, DeleteRange, Txn, Compact.

use super::{call_as, caller_of};
use crate::status::invalid;
use detcd_core::member::{Member, RangeStreamRequest};
use detcd_proto::convert::*;
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::kv_server::Kv;
use std::pin::Pin;
use tokio_stream::Stream;
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
        let caller = caller_of(&request);
        let request = range_request_from_proto(request.into_inner()).map_err(invalid)?;
        let answer = call_as(&self.member, caller, request).await?;
        Ok(Response::new(range_response_to_proto(answer)))
    }

    type RangeStreamStream =
        Pin<Box<dyn Stream<Item = Result<pb::RangeStreamResponse, Status>> + Send>>;

    /// etcd 3.7's RangeStream: the range's chunks (`member::range_stream`) as a stream.
    async fn range_stream(
        &self,
        request: Request<pb::RangeRequest>,
    ) -> Result<Response<Self::RangeStreamStream>, Status> {
        let caller = caller_of(&request);
        let request = range_request_from_proto(request.into_inner()).map_err(invalid)?;
        let chunks = call_as(&self.member, caller, RangeStreamRequest(request)).await?;
        let messages = chunks.into_iter().map(|chunk| Ok(range_chunk_to_proto(chunk)));
        Ok(Response::new(Box::pin(tokio_stream::iter(messages.collect::<Vec<_>>()))))
    }

    async fn put(
        &self,
        request: Request<pb::PutRequest>,
    ) -> Result<Response<pb::PutResponse>, Status> {
        let caller = caller_of(&request);
        let request = put_request_from_proto(request.into_inner());
        let answer = call_as(&self.member, caller, request).await?;
        Ok(Response::new(put_response_to_proto(answer)))
    }

    async fn delete_range(
        &self,
        request: Request<pb::DeleteRangeRequest>,
    ) -> Result<Response<pb::DeleteRangeResponse>, Status> {
        let caller = caller_of(&request);
        let request = delete_range_request_from_proto(request.into_inner());
        let answer = call_as(&self.member, caller, request).await?;
        Ok(Response::new(delete_range_response_to_proto(answer)))
    }

    async fn txn(
        &self,
        request: Request<pb::TxnRequest>,
    ) -> Result<Response<pb::TxnResponse>, Status> {
        let caller = caller_of(&request);
        let request = txn_request_from_proto(request.into_inner()).map_err(invalid)?;
        let answer = call_as(&self.member, caller, request).await?;
        Ok(Response::new(txn_response_to_proto(answer)))
    }

    async fn compact(
        &self,
        request: Request<pb::CompactionRequest>,
    ) -> Result<Response<pb::CompactionResponse>, Status> {
        let caller = caller_of(&request);
        let request = compaction_request_from_proto(request.into_inner());
        let answer = call_as(&self.member, caller, request).await?;
        Ok(Response::new(compaction_response_to_proto(answer)))
    }
}
