//! Typed requests: one entry point for every unary client request, so transports only carry values.
//!
//! Every unary request of etcd's API is its own type and knows its answer's type
//! ([`MemberRequest::Answer`]): a put is answered with a `PutResponse`, never with "some
//! response" a caller has to unpack. `Member::call` serves any of them; the server's gRPC
//! handlers and the simulator's network both hand it the request they received and send back
//! its typed answer, interpreting nothing. A request says where it is served: here (status,
//! member list, a serializable range), or on the leader (`route::LeaderRequest`: writes,
//! linearizable reads, lease deadlines), through the one routing function (`Member::route`).
//!
//! A member that is not ready yet (`ready`: still catching up or publishing) refuses every
//! request with `Stopped`: nothing was done, and another member may serve it.

use super::{Member, MemberStatus, MemberSummary};
use crate::client::outcome::Rpc;
use crate::client::HashKvResponse;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// One unary request of etcd's API, served by a member.
pub trait MemberRequest: Send + 'static {
    /// What the member answers.
    type Answer: Send + 'static;

    /// Which etcd call this is, for the outcome classification (`client::outcome::is_read`).
    fn rpc(&self) -> Rpc<'_>;

    /// Serves the request on `member`, routing it to the leader when it must run there.
    fn serve(self, member: &Member) -> impl Future<Output = Result<Self::Answer>> + Send;
}

/// etcd's `StatusRequest`: what `endpoint status` shows for the member asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusRequest;

/// etcd's `MemberListRequest`: the cluster's members as the member asked sees them; with
/// `linearizable` (etcd 3.5), only once it has applied the membership the cluster had when
/// asked (see `read_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemberListRequest {
    pub linearizable: bool,
}

/// etcd's `HashKVRequest`: the hash of the member's key space at `revision` (0 = current).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HashKvRequest {
    pub revision: i64,
}

impl Member {
    /// Serves one unary client request; `Stopped` until this member is ready.
    pub async fn call<R: MemberRequest>(&self, request: R) -> Result<R::Answer> {
        if !self.is_ready() {
            return Err(Error::Stopped);
        }
        request.serve(self).await
    }

    /// Every member of the configuration this member has applied; with `linearizable`, after
    /// a read index through the leader (`read_index`), so a member cut off from the leader
    /// answers the read index's error rather than a membership that may be stale.
    pub async fn list_members(&self, request: MemberListRequest) -> Result<Vec<MemberSummary>> {
        if request.linearizable {
            self.linearizable_read_notify().await?;
        }
        Ok(self.member_list())
    }

    /// The hash of this member's key space at `revision` (0 = its current revision).
    pub fn hash_kv(&self, revision: i64) -> Result<HashKvResponse> {
        let state = self.node().replica.lock();
        let at = if revision == 0 { state.machine.revision() } else { revision };
        let (hash, compact_revision) = state.machine.hash_kv(at)?;
        Ok(HashKvResponse { hash, compact_revision, revision: at })
    }
}

impl MemberRequest for StatusRequest {
    type Answer = MemberStatus;

    fn rpc(&self) -> Rpc<'_> {
        Rpc::Status
    }

    async fn serve(self, member: &Member) -> Result<MemberStatus> {
        Ok(member.status())
    }
}

impl MemberRequest for MemberListRequest {
    type Answer = Vec<MemberSummary>;

    fn rpc(&self) -> Rpc<'_> {
        Rpc::MemberList
    }

    async fn serve(self, member: &Member) -> Result<Vec<MemberSummary>> {
        member.list_members(self).await
    }
}

impl MemberRequest for HashKvRequest {
    type Answer = HashKvResponse;

    fn rpc(&self) -> Rpc<'_> {
        Rpc::HashKv
    }

    async fn serve(self, member: &Member) -> Result<HashKvResponse> {
        member.hash_kv(self.revision)
    }
}
