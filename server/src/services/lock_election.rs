//! etcd's `Lock` and `Election` services (v3lock, v3election) over the member's lock and
//! election calls, which run the core's recipes on the member itself under the caller's lease.
//!
//! Every call runs for its caller (`caller_of`: the `token` metadata, or the client
//! certificate's name): core checks each key-space request the recipe makes for it, as etcd's
//! in-process client does with the caller's context.
//!
//! Lock and Campaign wait until they win; if the caller goes away first, tonic drops the call
//! and the recipe deletes the key it created. Errors keep etcd's texts (`election: not leader`,
//! `election: no leader`, `etcdserver: requested lease not found`) under etcd 3.4's code for
//! them, `Unknown` (see `status::recipe_status`).

use super::caller_of;
use crate::status::recipe_status;
use detcd_core::member::{LeaderKey, Member};
use detcd_proto::convert::{header_to_proto, key_value_to_proto};
use detcd_proto::v3electionpb as epb;
use detcd_proto::v3electionpb::election_server::Election;
use detcd_proto::v3lockpb as lpb;
use detcd_proto::v3lockpb::lock_server::Lock;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

pub struct LockService {
    member: Member,
}

impl LockService {
    pub fn new(member: Member) -> Self {
        LockService { member }
    }
}

#[tonic::async_trait]
impl Lock for LockService {
    async fn lock(
        &self,
        request: Request<lpb::LockRequest>,
    ) -> Result<Response<lpb::LockResponse>, Status> {
        let caller = caller_of(&request);
        let request = request.into_inner();
        let locked = self.member.lock(&caller, &request.name, request.lease).await;
        let (header, key) = locked.map_err(recipe_status)?;
        Ok(Response::new(lpb::LockResponse { header: header_to_proto(header), key }))
    }

    async fn unlock(
        &self,
        request: Request<lpb::UnlockRequest>,
    ) -> Result<Response<lpb::UnlockResponse>, Status> {
        let caller = caller_of(&request);
        let unlocked = self.member.unlock(&caller, &request.into_inner().key).await;
        let header = unlocked.map_err(recipe_status)?;
        Ok(Response::new(lpb::UnlockResponse { header: header_to_proto(header) }))
    }
}

pub struct ElectionService {
    member: Member,
}

impl ElectionService {
    pub fn new(member: Member) -> Self {
        ElectionService { member }
    }
}

fn leader_from_proto(leader: Option<epb::LeaderKey>) -> Result<LeaderKey, Status> {
    let leader = leader.ok_or_else(|| Status::unknown("\"leader\" field must be provided"))?;
    Ok(LeaderKey { name: leader.name, key: leader.key, rev: leader.rev, lease: leader.lease })
}

fn leader_to_proto(leader: LeaderKey) -> epb::LeaderKey {
    epb::LeaderKey { name: leader.name, key: leader.key, rev: leader.rev, lease: leader.lease }
}

#[tonic::async_trait]
impl Election for ElectionService {
    async fn campaign(
        &self,
        request: Request<epb::CampaignRequest>,
    ) -> Result<Response<epb::CampaignResponse>, Status> {
        let caller = caller_of(&request);
        let request = request.into_inner();
        let campaign = self.member.campaign(&caller, &request.name, request.lease, &request.value);
        let (header, leader) = campaign.await.map_err(recipe_status)?;
        Ok(Response::new(epb::CampaignResponse {
            header: header_to_proto(header),
            leader: Some(leader_to_proto(leader)),
        }))
    }

    async fn proclaim(
        &self,
        request: Request<epb::ProclaimRequest>,
    ) -> Result<Response<epb::ProclaimResponse>, Status> {
        let caller = caller_of(&request);
        let request = request.into_inner();
        let leader = leader_from_proto(request.leader)?;
        let proclaimed = self.member.proclaim(&caller, &leader, &request.value).await;
        let header = proclaimed.map_err(recipe_status)?;
        Ok(Response::new(epb::ProclaimResponse { header: header_to_proto(header) }))
    }

    async fn leader(
        &self,
        request: Request<epb::LeaderRequest>,
    ) -> Result<Response<epb::LeaderResponse>, Status> {
        let caller = caller_of(&request);
        let name = request.into_inner().name;
        let leader = self.member.election_leader(&caller, &name).await;
        let (header, kv) = leader.map_err(recipe_status)?;
        Ok(Response::new(epb::LeaderResponse {
            header: header_to_proto(header),
            kv: Some(key_value_to_proto(kv)),
        }))
    }

    type ObserveStream = Pin<Box<dyn Stream<Item = Result<epb::LeaderResponse, Status>> + Send>>;

    async fn observe(
        &self,
        request: Request<epb::LeaderRequest>,
    ) -> Result<Response<Self::ObserveStream>, Status> {
        let caller = caller_of(&request);
        let name = request.into_inner().name;
        let observer = self.member.observe(&caller, &name).map_err(recipe_status)?;
        let member = self.member.clone();
        let leaders = futures::stream::unfold(Some(observer), move |observer| {
            let member = member.clone();
            async move {
                let mut observer = observer?;
                match observer.next().await {
                    Ok(kv) => {
                        let response = epb::LeaderResponse {
                            header: header_to_proto(member.header_now()),
                            kv: Some(key_value_to_proto(kv)),
                        };
                        Some((Ok(response), Some(observer)))
                    }
                    // The error ends the stream.
                    Err(error) => Some((Err(recipe_status(error)), None)),
                }
            }
        });
        Ok(Response::new(Box::pin(leaders)))
    }

    async fn resign(
        &self,
        request: Request<epb::ResignRequest>,
    ) -> Result<Response<epb::ResignResponse>, Status> {
        let caller = caller_of(&request);
        let leader = leader_from_proto(request.into_inner().leader)?;
        let header = self.member.resign(&caller, &leader).await.map_err(recipe_status)?;
        Ok(Response::new(epb::ResignResponse { header: header_to_proto(header) }))
    }
}
