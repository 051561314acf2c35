//! Peer messages and the transport seam they cross.
//!
//! Everything one member says to another is a `PeerMessage`: raft's own RPCs, and client requests
//! a follower forwards to the leader. The core only knows the `PeerTransport` trait; the simulator
//! implements it over madsim's network (so partitions cut raft and forwarded traffic alike) and the
//! server over gRPC. Invariant: a transport failure is always reported as `Unreachable` to openraft,
//! which then retries with back-off; it never fabricates a reply.

use super::types::*;
use crate::buggify::{self, Site};
use crate::member::PeerRequest;
use crate::member::PeerResponse;
use openraft::errors::{ReplicationClosed, Unreachable};
use openraft::network::v2::RaftNetworkV2;
use openraft::network::{RPCOption, RaftNetworkFactory};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A message from one member to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PeerMessage {
    AppendEntries(AppendEntriesRequest),
    Vote(VoteRequest),
    PreVote(VoteRequest),
    Snapshot {
        vote: Vote,
        meta: SnapshotMeta,
        data: Vec<u8>,
    },
    /// Client requests served on behalf of member `from` (usually: writes sent to a follower),
    /// in one batch (see `member::forward_queue`).
    Forward {
        from: NodeId,
        requests: Vec<PeerRequest>,
    },
}

/// The answer to a `PeerMessage`. Raft errors on the receiving side travel as text: the sender can
/// only treat them as "that peer could not help", never act on their details.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PeerReply {
    AppendEntries(Result<AppendEntriesResponse, String>),
    Vote(Result<VoteResponse, String>),
    Snapshot(Result<SnapshotResponse, String>),
    /// One response per forwarded request, in order.
    Forward(Vec<PeerResponse>),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a member reaches its peers. `call` sends one message and waits for its reply, giving up
/// after `timeout` with an `io::Error` (timed out, unreachable, connection lost).
pub trait PeerTransport: Send + Sync + 'static {
    fn call(
        &self,
        target: NodeId,
        target_info: &MemberInfo,
        message: PeerMessage,
        timeout: Duration,
    ) -> BoxFuture<'static, io::Result<PeerReply>>;
}

/// openraft's network factory over a `PeerTransport`.
#[derive(Clone)]
pub struct Network {
    transport: Arc<dyn PeerTransport>,
}

impl Network {
    pub fn new(transport: Arc<dyn PeerTransport>) -> Self {
        Network { transport }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &MemberInfo) -> Self::Network {
        PeerConnection { transport: self.transport.clone(), target, info: node.clone() }
    }
}

/// openraft's view of one peer.
pub struct PeerConnection {
    transport: Arc<dyn PeerTransport>,
    target: NodeId,
    info: MemberInfo,
}

fn unreachable(error: impl std::error::Error + 'static) -> Unreachable<TypeConfig> {
    Unreachable::new(&error)
}

fn remote_failure(text: String) -> Unreachable<TypeConfig> {
    unreachable(io::Error::other(text))
}

fn unexpected_reply() -> Unreachable<TypeConfig> {
    unreachable(io::Error::other("peer answered a different message"))
}

impl PeerConnection {
    async fn call(
        &self,
        message: PeerMessage,
        ttl: Duration,
    ) -> Result<PeerReply, Unreachable<TypeConfig>> {
        if buggify::fires(Site::DropPeerMessage) {
            return Err(unreachable(io::Error::other("message dropped (buggify)")));
        }
        if buggify::fires(Site::DuplicatePeerMessage) {
            let copy = self.transport.call(self.target, &self.info, message.clone(), ttl);
            let _ = copy.await;
        }
        let call = self.transport.call(self.target, &self.info, message, ttl);
        call.await.map_err(unreachable)
    }
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse, RpcError> {
        match self.call(PeerMessage::AppendEntries(rpc), option.hard_ttl()).await? {
            PeerReply::AppendEntries(reply) => Ok(reply.map_err(remote_failure)?),
            _ => Err(unexpected_reply().into()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest,
        option: RPCOption,
    ) -> Result<VoteResponse, RpcError> {
        match self.call(PeerMessage::Vote(rpc), option.hard_ttl()).await? {
            PeerReply::Vote(reply) => Ok(reply.map_err(remote_failure)?),
            _ => Err(unexpected_reply().into()),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest,
        option: RPCOption,
    ) -> Result<VoteResponse, RpcError> {
        match self.call(PeerMessage::PreVote(rpc), option.hard_ttl()).await? {
            PeerReply::Vote(reply) => Ok(reply.map_err(remote_failure)?),
            _ => Err(unexpected_reply().into()),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        _cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse, StreamingError> {
        let data = snapshot.snapshot.into_inner();
        let message = PeerMessage::Snapshot { vote, meta: snapshot.meta, data };
        match self.call(message, option.hard_ttl()).await? {
            PeerReply::Snapshot(reply) => Ok(reply.map_err(remote_failure)?),
            _ => Err(unexpected_reply().into()),
        }
    }
}
