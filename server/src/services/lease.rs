//! etcd's `Lease` service: Grant, Revoke, the KeepAlive stream, TimeToLive, Leases.

use super::{call, call_as, caller_of};
use detcd_core::api::LeaseLeasesRequest;
use detcd_core::member::Member;
use detcd_proto::convert::*;
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::lease_server::Lease;
use std::pin::Pin;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

pub struct LeaseService {
    member: Member,
}

impl LeaseService {
    pub fn new(member: Member) -> Self {
        LeaseService { member }
    }
}

#[tonic::async_trait]
impl Lease for LeaseService {
    async fn lease_grant(
        &self,
        request: Request<pb::LeaseGrantRequest>,
    ) -> Result<Response<pb::LeaseGrantResponse>, Status> {
        let caller = caller_of(&request);
        let request = lease_grant_request_from_proto(request.into_inner());
        let answer = call_as(&self.member, caller, request).await?;
        Ok(Response::new(lease_grant_response_to_proto(answer)))
    }

    async fn lease_revoke(
        &self,
        request: Request<pb::LeaseRevokeRequest>,
    ) -> Result<Response<pb::LeaseRevokeResponse>, Status> {
        let caller = caller_of(&request);
        let request = lease_revoke_request_from_proto(request.into_inner());
        let answer = call_as(&self.member, caller, request).await?;
        Ok(Response::new(lease_revoke_response_to_proto(answer)))
    }

    type LeaseKeepAliveStream = KeepAliveResponses;

    async fn lease_keep_alive(
        &self,
        request: Request<Streaming<pb::LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        Ok(Response::new(keep_alive(&self.member, request.into_inner())))
    }

    async fn lease_time_to_live(
        &self,
        request: Request<pb::LeaseTimeToLiveRequest>,
    ) -> Result<Response<pb::LeaseTimeToLiveResponse>, Status> {
        let request = lease_time_to_live_request_from_proto(request.into_inner());
        let answer = call(&self.member, request).await?;
        Ok(Response::new(lease_time_to_live_response_to_proto(answer)))
    }

    async fn lease_leases(
        &self,
        _request: Request<pb::LeaseLeasesRequest>,
    ) -> Result<Response<pb::LeaseLeasesResponse>, Status> {
        let answer = call(&self.member, LeaseLeasesRequest {}).await?;
        Ok(Response::new(lease_leases_response_to_proto(answer)))
    }
}

/// Answers of one keep-alive stream, in order.
pub type KeepAliveResponses =
    Pin<Box<dyn Stream<Item = Result<pb::LeaseKeepAliveResponse, Status>> + Send>>;

/// Serves keep-alives from `incoming` (gRPC's stream, or the HTTP gateway's decoded body) until
/// it ends.
pub fn keep_alive<S>(member: &Member, mut incoming: S) -> KeepAliveResponses
where
    S: Stream<Item = Result<pb::LeaseKeepAliveRequest, Status>> + Unpin + Send + 'static,
{
    let member = member.clone();
    let (outbox, responses) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(Ok(message)) = incoming.next().await {
            let request = lease_keep_alive_request_from_proto(message);
            // A lease that is gone answers TTL 0: decided in core (`member::lease`).
            let answer = call(&member, request).await.map(lease_keep_alive_response_to_proto);
            if outbox.send(answer).await.is_err() {
                return;
            }
        }
    });
    Box::pin(ReceiverStream::new(responses))
}
