//! One entry point for every unary client request, so transports only carry values.
//!
//! The simulator's network and the server's gRPC handlers both turn what arrives into a
//! `ClientRequest` and send back the `ClientResponse` this returns; neither interprets anything.
//! A member that is not ready yet (`ready`: still catching up or publishing) refuses every
//! request with `Stopped`: nothing was done, and another member may serve it.

use super::{Member, MemberStatus, MemberSummary};
use crate::api::*;
use crate::client::outcome::Rpc;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientRequest {
    Range(RangeRequest),
    Put(PutRequest),
    DeleteRange(DeleteRangeRequest),
    Txn(TxnRequest),
    Compact(CompactionRequest),
    LeaseGrant(LeaseGrantRequest),
    LeaseRevoke(LeaseRevokeRequest),
    LeaseKeepAlive(LeaseKeepAliveRequest),
    LeaseTimeToLive(LeaseTimeToLiveRequest),
    LeaseLeases,
    Status,
    MemberList,
    /// etcd's HashKV: the key space's hash at a revision (0 = current).
    HashKv {
        revision: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientResponse {
    Range(RangeResponse),
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
    Compact(CompactionResponse),
    LeaseGrant(LeaseGrantResponse),
    LeaseRevoke(LeaseRevokeResponse),
    LeaseKeepAlive(LeaseKeepAliveResponse),
    LeaseTimeToLive(LeaseTimeToLiveResponse),
    LeaseLeases(LeaseLeasesResponse),
    Status(MemberStatus),
    MemberList(Vec<MemberSummary>),
    HashKv { hash: u32, compact_revision: i64, revision: i64 },
}

impl ClientRequest {
    /// Which etcd call this is, for the outcome classification (`client::outcome::is_read`).
    pub fn rpc(&self) -> Rpc<'_> {
        match self {
            ClientRequest::Range(_) => Rpc::Range,
            ClientRequest::Put(_) => Rpc::Put,
            ClientRequest::DeleteRange(_) => Rpc::DeleteRange,
            ClientRequest::Txn(txn) => Rpc::Txn(txn),
            ClientRequest::Compact(_) => Rpc::Compact,
            ClientRequest::LeaseGrant(_) => Rpc::LeaseGrant,
            ClientRequest::LeaseRevoke(_) => Rpc::LeaseRevoke,
            ClientRequest::LeaseKeepAlive(_) => Rpc::LeaseKeepAlive,
            ClientRequest::LeaseTimeToLive(_) => Rpc::LeaseTimeToLive,
            ClientRequest::LeaseLeases => Rpc::LeaseLeases,
            ClientRequest::Status => Rpc::Status,
            ClientRequest::MemberList => Rpc::MemberList,
            ClientRequest::HashKv { .. } => Rpc::HashKv,
        }
    }

    /// Whether this request changes nothing (`client::outcome::is_read`).
    pub fn is_read(&self) -> bool {
        crate::client::outcome::is_read(self.rpc())
    }
}

impl Member {
    /// Serves one unary client request; `Stopped` until this member is ready.
    pub async fn serve(&self, request: ClientRequest) -> Result<ClientResponse> {
        if !self.is_ready() {
            return Err(Error::Stopped);
        }
        use ClientRequest as Q;
        use ClientResponse as A;
        Ok(match request {
            Q::Range(r) => A::Range(self.range(r).await?),
            Q::Put(r) => A::Put(self.put(r).await?),
            Q::DeleteRange(r) => A::DeleteRange(self.delete_range(r).await?),
            Q::Txn(r) => A::Txn(self.txn(r).await?),
            Q::Compact(r) => A::Compact(self.compact(r).await?),
            Q::LeaseGrant(r) => A::LeaseGrant(self.lease_grant(r).await?),
            Q::LeaseRevoke(r) => A::LeaseRevoke(self.lease_revoke(r).await?),
            Q::LeaseKeepAlive(r) => A::LeaseKeepAlive(self.lease_keep_alive(r.id).await?),
            Q::LeaseTimeToLive(r) => A::LeaseTimeToLive(self.lease_time_to_live(r).await?),
            Q::LeaseLeases => A::LeaseLeases(self.lease_leases().await?),
            Q::Status => A::Status(self.status()),
            Q::MemberList => A::MemberList(self.member_list()),
            Q::HashKv { revision } => self.hash_kv(revision)?,
        })
    }

    /// The hash of this member's key space at `revision` (0 = its current revision).
    pub fn hash_kv(&self, revision: i64) -> Result<ClientResponse> {
        let state = self.inner.replica.lock();
        let at = if revision == 0 { state.machine.revision() } else { revision };
        let (hash, compact_revision) = state.machine.hash_kv(at)?;
        Ok(ClientResponse::HashKv { hash, compact_revision, revision: at })
    }
}
