//! `GrpcClient`: etcd's v3 API over tonic, for detcd or a real etcd.
//!
//! The methods mirror detcd-core's `Client` trait one for one, with the same domain types and the
//! same three outcomes (`GrpcError` = the trait's `ClientError`); `as_client` implements the trait
//! by delegation, so the recipes run over this client.
//!
//! Retry discipline, decided by `detcd_core::client::outcome`: a call goes to the current
//! endpoint; when that endpoint certainly did not take the request (never connected, or etcd's
//! `no leader`), or the request is a read that got no answer, the client moves to the next
//! endpoint and tries again, at most once per endpoint. A write's `Unknown` outcome is returned, never retried: it may have
//! been applied; the client still moves on, so the next call avoids a member that hung. A watch stream that breaks or cannot open also moves the client
//! on (see `endpoints`), so the caller's reopened watch goes to another member.

mod as_client;
mod election;
mod endpoints;
mod error;
mod lock;
mod watcher;

pub use election::LeaderKey;
pub use error::{GrpcError, GrpcResult};
pub use lock::LockGranted;
pub use watcher::GrpcWatcher;

use crate::convert::*;
use crate::etcdserverpb as pb;
use crate::etcdserverpb::cluster_client::ClusterClient;
use crate::etcdserverpb::kv_client::KvClient;
use crate::etcdserverpb::lease_client::LeaseClient;
use crate::etcdserverpb::maintenance_client::MaintenanceClient;
use detcd_core::api::*;
use detcd_core::client::outcome::{self, Class, Rpc};
use detcd_core::member::{MemberStatus, MemberSummary};
use endpoints::Endpoints;
use error::{convert_failed, failure_of};
use std::future::Future;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// How long one call may take before its outcome is `Unknown`.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// etcd's `HashKVResponse` (the `Client` trait's `HashKvResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashKv {
    pub hash: u32,
    pub compact_revision: i64,
    pub revision: i64,
}

/// A client of a cluster, by its members' client URLs. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct GrpcClient {
    endpoints: Endpoints,
}

impl GrpcClient {
    /// A client for these endpoints (`http://host:port` or `host:port`); connects lazily.
    pub fn new(endpoints: &[&str]) -> GrpcResult<GrpcClient> {
        let mut channels = Vec::new();
        for endpoint in endpoints {
            let url = if endpoint.contains("://") {
                endpoint.to_string()
            } else {
                format!("http://{endpoint}")
            };
            let endpoint = Endpoint::from_shared(url.clone())
                .map_err(|e| GrpcError::Unavailable(format!("{url}: {e}")))?
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(CALL_TIMEOUT);
            channels.push(endpoint.connect_lazy());
        }
        if channels.is_empty() {
            return Err(GrpcError::Unavailable("no endpoints".into()));
        }
        Ok(GrpcClient { endpoints: Endpoints::new(channels) })
    }

    /// Runs `call` on the current endpoint, resending it to the next one while the one outcome
    /// classification (`detcd_core::client::outcome::resend`) sends it on: it certainly did not
    /// apply, or it is a read (`read`, from `outcome::is_read`) that got no answer. After an unknown outcome of a write the call is not resent, but
    /// the client still moves on: a member that hung or vanished mid-call should not take the
    /// next call too.
    async fn call<T, F, Fut>(&self, read: bool, call: F) -> GrpcResult<T>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let mut last = GrpcError::Unavailable("no endpoints".into());
        for _ in 0..self.endpoints.len() {
            let turn = self.endpoints.take();
            let status = match call(turn.channel.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(status) => status,
            };
            let failure = failure_of(&status);
            let resend = outcome::resend(&failure, read);
            let class = outcome::classify(&failure);
            let error = GrpcError::of(failure, read);
            if resend {
                turn.failed();
                last = error;
                continue;
            }
            if class == Class::Unknown {
                turn.failed();
            }
            return Err(error);
        }
        Err(last)
    }

    pub async fn range(&self, request: RangeRequest) -> GrpcResult<RangeResponse> {
        let request = range_request_to_proto(request);
        let response = self
            .call(outcome::is_read(Rpc::Range), |c| {
                let request = request.clone();
                async move { KvClient::new(c).range(request).await }
            })
            .await?;
        Ok(range_response_from_proto(response.into_inner()))
    }

    pub async fn put(&self, request: PutRequest) -> GrpcResult<PutResponse> {
        let request = put_request_to_proto(request);
        let response = self
            .call(outcome::is_read(Rpc::Put), |c| {
                let request = request.clone();
                async move { KvClient::new(c).put(request).await }
            })
            .await?;
        Ok(put_response_from_proto(response.into_inner()))
    }

    pub async fn delete_range(
        &self,
        request: DeleteRangeRequest,
    ) -> GrpcResult<DeleteRangeResponse> {
        let request = delete_range_request_to_proto(request);
        let response = self
            .call(outcome::is_read(Rpc::DeleteRange), |c| {
                let request = request.clone();
                async move { KvClient::new(c).delete_range(request).await }
            })
            .await?;
        Ok(delete_range_response_from_proto(response.into_inner()))
    }

    pub async fn txn(&self, request: TxnRequest) -> GrpcResult<TxnResponse> {
        let read = outcome::is_read(Rpc::Txn(&request));
        let request = txn_request_to_proto(request);
        let response = self
            .call(read, |c| {
                let request = request.clone();
                async move { KvClient::new(c).txn(request).await }
            })
            .await?;
        txn_response_from_proto(response.into_inner()).map_err(convert_failed)
    }

    pub async fn compact(&self, request: CompactionRequest) -> GrpcResult<CompactionResponse> {
        let request = compaction_request_to_proto(request);
        let response = self
            .call(outcome::is_read(Rpc::Compact), |c| async move {
                KvClient::new(c).compact(request).await
            })
            .await?;
        Ok(compaction_response_from_proto(response.into_inner()))
    }

    /// Opens a watch stream on the current endpoint.
    pub async fn watch(&self) -> GrpcResult<GrpcWatcher> {
        GrpcWatcher::open(self.endpoints.take()).await
    }

    pub async fn lease_grant(&self, request: LeaseGrantRequest) -> GrpcResult<LeaseGrantResponse> {
        let request = lease_grant_request_to_proto(request);
        let response = self
            .call(outcome::is_read(Rpc::LeaseGrant), |c| async move {
                LeaseClient::new(c).lease_grant(request).await
            })
            .await?;
        Ok(lease_grant_response_from_proto(response.into_inner()))
    }

    pub async fn lease_revoke(
        &self,
        request: LeaseRevokeRequest,
    ) -> GrpcResult<LeaseRevokeResponse> {
        let request = lease_revoke_request_to_proto(request);
        let response = self
            .call(outcome::is_read(Rpc::LeaseRevoke), |c| async move {
                LeaseClient::new(c).lease_revoke(request).await
            })
            .await?;
        Ok(lease_revoke_response_from_proto(response.into_inner()))
    }

    /// One keep-alive exchange on a fresh stream; `ttl == 0` means the lease is gone.
    pub async fn lease_keep_alive(
        &self,
        request: LeaseKeepAliveRequest,
    ) -> GrpcResult<LeaseKeepAliveResponse> {
        let request = lease_keep_alive_request_to_proto(request);
        let response = self
            .call(outcome::is_read(Rpc::LeaseKeepAlive), |c| async move {
                let outgoing = tokio_stream::once(request);
                let mut incoming =
                    LeaseClient::new(c).lease_keep_alive(outgoing).await?.into_inner();
                match incoming.message().await? {
                    Some(response) => Ok(response),
                    None => Err(tonic::Status::unavailable("keep-alive stream closed")),
                }
            })
            .await?;
        Ok(lease_keep_alive_response_from_proto(response))
    }

    pub async fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> GrpcResult<LeaseTimeToLiveResponse> {
        let request = lease_time_to_live_request_to_proto(request);
        let response = self
            .call(outcome::is_read(Rpc::LeaseTimeToLive), |c| async move {
                LeaseClient::new(c).lease_time_to_live(request).await
            })
            .await?;
        Ok(lease_time_to_live_response_from_proto(response.into_inner()))
    }

    pub async fn lease_leases(&self) -> GrpcResult<LeaseLeasesResponse> {
        let response = self
            .call(outcome::is_read(Rpc::LeaseLeases), |c| async move {
                LeaseClient::new(c).lease_leases(pb::LeaseLeasesRequest {}).await
            })
            .await?;
        Ok(lease_leases_response_from_proto(response.into_inner()))
    }

    pub async fn member_list(&self) -> GrpcResult<Vec<MemberSummary>> {
        let response = self
            .call(outcome::is_read(Rpc::MemberList), |c| async move {
                ClusterClient::new(c).member_list(pb::MemberListRequest::default()).await
            })
            .await?;
        Ok(response.into_inner().members.into_iter().map(member_from_proto).collect())
    }

    /// The status of the member this client currently talks to.
    pub async fn status(&self) -> GrpcResult<MemberStatus> {
        let response = self
            .call(outcome::is_read(Rpc::Status), |c| async move {
                MaintenanceClient::new(c).status(pb::StatusRequest {}).await
            })
            .await?;
        Ok(status_from_proto(response.into_inner()))
    }

    pub async fn hash_kv(&self, revision: i64) -> GrpcResult<HashKv> {
        let request = pb::HashKvRequest { revision };
        let response = self
            .call(outcome::is_read(Rpc::HashKv), |c| async move {
                MaintenanceClient::new(c).hash_kv(request).await
            })
            .await?
            .into_inner();
        let revision = response.header.map_or(0, |h| h.revision);
        Ok(HashKv { hash: response.hash, compact_revision: response.compact_revision, revision })
    }
}
