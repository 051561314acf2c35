//! `GrpcClient` as detcd-core's `Client` and `GrpcWatcher` as its `Watcher`, so the recipes in
//! `detcd_core::recipes` run unchanged over gRPC against detcd or a real etcd.
//!
//! Every method delegates to the inherent method of the same name; the only translation is the
//! error: `GrpcError` and `ClientError` have the same three outcomes (a definite etcd refusal
//! carrying etcd's message, an unknown outcome, certainly not applied), mapped one to one so a
//! recipe's retry discipline sees over gRPC exactly what it sees in the simulator.

use super::{GrpcClient, GrpcError, GrpcWatcher, HashKv};
use detcd_core::api::*;
use detcd_core::client::{Client, ClientError, ClientResult, HashKvResponse, Watcher};
use detcd_core::member::{MemberStatus, MemberSummary};
use detcd_core::watch::{WatchRequest, WatchResponse};

impl From<GrpcError> for ClientError {
    fn from(error: GrpcError) -> Self {
        match error {
            GrpcError::Etcd(error) => ClientError::Etcd(error),
            GrpcError::Unknown(why) => ClientError::Unknown(why),
            GrpcError::Unavailable(why) => ClientError::Unavailable(why),
        }
    }
}

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
        Ok(GrpcClient::range(self, request).await?)
    }

    async fn put(&self, request: PutRequest) -> ClientResult<PutResponse> {
        Ok(GrpcClient::put(self, request).await?)
    }

    async fn delete_range(&self, request: DeleteRangeRequest) -> ClientResult<DeleteRangeResponse> {
        Ok(GrpcClient::delete_range(self, request).await?)
    }

    async fn txn(&self, request: TxnRequest) -> ClientResult<TxnResponse> {
        Ok(GrpcClient::txn(self, request).await?)
    }

    async fn compact(&self, request: CompactionRequest) -> ClientResult<CompactionResponse> {
        Ok(GrpcClient::compact(self, request).await?)
    }

    async fn watch(&self) -> ClientResult<GrpcWatcher> {
        Ok(GrpcClient::watch(self).await?)
    }

    async fn lease_grant(&self, request: LeaseGrantRequest) -> ClientResult<LeaseGrantResponse> {
        Ok(GrpcClient::lease_grant(self, request).await?)
    }

    async fn lease_revoke(&self, request: LeaseRevokeRequest) -> ClientResult<LeaseRevokeResponse> {
        Ok(GrpcClient::lease_revoke(self, request).await?)
    }

    async fn lease_keep_alive(
        &self,
        request: LeaseKeepAliveRequest,
    ) -> ClientResult<LeaseKeepAliveResponse> {
        Ok(GrpcClient::lease_keep_alive(self, request).await?)
    }

    async fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> ClientResult<LeaseTimeToLiveResponse> {
        Ok(GrpcClient::lease_time_to_live(self, request).await?)
    }

    async fn lease_leases(&self) -> ClientResult<LeaseLeasesResponse> {
        Ok(GrpcClient::lease_leases(self).await?)
    }

    async fn member_list(&self) -> ClientResult<Vec<MemberSummary>> {
        Ok(GrpcClient::member_list(self).await?)
    }

    async fn status(&self) -> ClientResult<MemberStatus> {
        Ok(GrpcClient::status(self).await?)
    }

    async fn hash_kv(&self, revision: i64) -> ClientResult<HashKvResponse> {
        Ok(GrpcClient::hash_kv(self, revision).await?.into())
    }
}

impl Watcher for GrpcWatcher {
    async fn send(&mut self, request: WatchRequest) -> ClientResult<()> {
        Ok(GrpcWatcher::send(self, request).await?)
    }

    async fn recv(&mut self) -> ClientResult<WatchResponse> {
        Ok(GrpcWatcher::recv(self).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detcd_core::Error;

    #[test]
    fn each_grpc_outcome_maps_to_the_same_client_outcome() {
        let compacted = Error::Compacted { compact_revision: 0 };
        let etcd = ClientError::from(GrpcError::Etcd(compacted.clone()));
        assert_eq!(etcd, ClientError::Etcd(compacted));
        assert_eq!(etcd.to_string(), "etcdserver: mvcc: required revision has been compacted");
        assert!(ClientError::from(GrpcError::Unknown("t".into())).is_unknown());
        let unavailable = ClientError::from(GrpcError::Unavailable("refused".into()));
        assert_eq!(unavailable, ClientError::Unavailable("refused".into()));
    }
}
