//! etcd's `Lock` and `Election` services: not served yet (the core has no Lock/Election entry
//! point); every method answers `Unimplemented` naming itself.

use crate::status::unimplemented;
use detcd_proto::v3electionpb as epb;
use detcd_proto::v3electionpb::election_server::Election;
use detcd_proto::v3lockpb as lpb;
use detcd_proto::v3lockpb::lock_server::Lock;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

pub struct LockService;

#[tonic::async_trait]
impl Lock for LockService {
    async fn lock(
        &self,
        _request: Request<lpb::LockRequest>,
    ) -> Result<Response<lpb::LockResponse>, Status> {
        Err(unimplemented("Lock.Lock"))
    }

    async fn unlock(
        &self,
        _request: Request<lpb::UnlockRequest>,
    ) -> Result<Response<lpb::UnlockResponse>, Status> {
        Err(unimplemented("Lock.Unlock"))
    }
}

pub struct ElectionService;

#[tonic::async_trait]
impl Election for ElectionService {
    async fn campaign(
        &self,
        _request: Request<epb::CampaignRequest>,
    ) -> Result<Response<epb::CampaignResponse>, Status> {
        Err(unimplemented("Election.Campaign"))
    }

    async fn proclaim(
        &self,
        _request: Request<epb::ProclaimRequest>,
    ) -> Result<Response<epb::ProclaimResponse>, Status> {
        Err(unimplemented("Election.Proclaim"))
    }

    async fn leader(
        &self,
        _request: Request<epb::LeaderRequest>,
    ) -> Result<Response<epb::LeaderResponse>, Status> {
        Err(unimplemented("Election.Leader"))
    }

    type ObserveStream = Pin<Box<dyn Stream<Item = Result<epb::LeaderResponse, Status>> + Send>>;

    async fn observe(
        &self,
        _request: Request<epb::LeaderRequest>,
    ) -> Result<Response<Self::ObserveStream>, Status> {
        Err(unimplemented("Election.Observe"))
    }

    async fn resign(
        &self,
        _request: Request<epb::ResignRequest>,
    ) -> Result<Response<epb::ResignResponse>, Status> {
        Err(unimplemented("Election.Resign"))
    }
}
