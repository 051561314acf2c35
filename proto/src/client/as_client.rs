//! `GrpcClient` as detcd-core's `Client` and `GrpcWatcher` as its `Watcher`, so the recipes in
//! `detcd_core::recipes` run unchanged over gRPC against detcd or a real etcd.
//!
//! Every method delegates to the inherent method of the same name; `GrpcError` is `ClientError`,
//! classified by the same function as in the simulator, so a recipe's retry discipline sees over
//! gRPC exactly what it sees there.

use super::{GrpcClient, GrpcWatcher, HashKv};
use detcd_core::api::*;
use detcd_core::client::{Client, ClientResult, HashKvResponse, Watcher};
use detcd_core::member::{MemberStatus, MemberSummary};
use detcd_core::watch::{WatchRequest, WatchResponse};

impl From<HashKv> for HashKvResponse {
    fn from(hash: HashKv) -> Self {
        HashKvResponse {
            hash: hash.hash,
            compact_revision: hash.compact_revision,
            revision: hash.revision,
        }
    }
}

impl Client for GrpcClient {
    type Watcher = GrpcWatcher;

    async fn range(&self, request: RangeRequest) -> ClientResult<RangeResponse> {
        GrpcClient::range(self, request).await
    }

    async fn put(&self, request: PutRequest) -> ClientResult<PutResponse> {
        GrpcClient::put(self, request).await
    }

    async fn delete_range(&self, request: DeleteRangeRequest) -> ClientResult<DeleteRangeResponse> {
        GrpcClient::delete_range(self, request).await
    }

    async fn txn(&self, request: TxnRequest) -> ClientResult<TxnResponse> {
        GrpcClient::txn(self, request).await
    }

    async fn compact(&self, request: CompactionRequest) -> ClientResult<CompactionResponse> {
        GrpcClient::compact(self, request).await
    }

    async fn watch(&self) -> ClientResult<GrpcWatcher> {
        GrpcClient::watch(self).await
    }

    async fn lease_grant(&self, request: LeaseGrantRequest) -> ClientResult<LeaseGrantResponse> {
        GrpcClient::lease_grant(self, request).await
    }

    async fn lease_revoke(&self, request: LeaseRevokeRequest) -> ClientResult<LeaseRevokeResponse> {
        GrpcClient::lease_revoke(self, request).await
    }

    async fn lease_keep_alive(
        &self,
        request: LeaseKeepAliveRequest,
    ) -> ClientResult<LeaseKeepAliveResponse> {
        GrpcClient::lease_keep_alive(self, request).await
    }

    async fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> ClientResult<LeaseTimeToLiveResponse> {
        GrpcClient::lease_time_to_live(self, request).await
    }

    async fn lease_leases(&self) -> ClientResult<LeaseLeasesResponse> {
        GrpcClient::lease_leases(self).await
    }

    async fn member_list(&self) -> ClientResult<Vec<MemberSummary>> {
        GrpcClient::member_list(self).await
    }

    async fn status(&self) -> ClientResult<MemberStatus> {
        GrpcClient::status(self).await
    }

    async fn hash_kv(&self, revision: i64) -> ClientResult<HashKvResponse> {
        Ok(GrpcClient::hash_kv(self, revision).await?.into())
    }
}

impl Watcher for GrpcWatcher {
    async fn send(&mut self, request: WatchRequest) -> ClientResult<()> {
        GrpcWatcher::send(self, request).await
    }

    async fn recv(&mut self) -> ClientResult<WatchResponse> {
        GrpcWatcher::recv(self).await
    }
}
