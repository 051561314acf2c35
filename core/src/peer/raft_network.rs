//! openraft's network over the `PeerTransport` seam: each raft RPC travels as its
//! `PeerMessage` and comes back as its `PeerReply`. Invariant: a transport failure is always
//! reported as `Unreachable` to openraft, which then retries with back-off; it never fabricates a
//! reply. A reply saying the peer's membership leaves this member out (`ToOutsider`) is handed to
//! the `OnLeftOut` hook and unwrapped.

use super::message::{OnLeftOut, PeerMessage, PeerReply, PeerTransport};
use crate::buggify::{self, Site};
use crate::raft::types::*;
use openraft::errors::{ReplicationClosed, Unreachable};
use openraft::network::v2::RaftNetworkV2;
use openraft::network::{RPCOption, RaftNetworkFactory};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// openraft's network factory over a `PeerTransport`.
#[derive(Clone)]
pub struct Network {
    transport: Arc<dyn PeerTransport>,
    left_out: OnLeftOut,
}

impl Network {
    pub fn new(transport: Arc<dyn PeerTransport>, left_out: OnLeftOut) -> Self {
        Network { transport, left_out }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &MemberInfo) -> Self::Network {
        PeerConnection {
            transport: self.transport.clone(),
            target,
            info: node.clone(),
            left_out: self.left_out.clone(),
        }
    }
}

/// openraft's view of one peer.
pub struct PeerConnection {
    transport: Arc<dyn PeerTransport>,
    target: NodeId,
    info: MemberInfo,
    left_out: OnLeftOut,
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
        match call.await.map_err(unreachable)? {
            PeerReply::ToOutsider { membership_at, reply } => {
                (self.left_out)(membership_at);
                Ok(*reply)
            }
            reply => Ok(reply),
        }
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

    async fn transfer_leader(
        &mut self,
        rpc: TransferLeaderRequest,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse, RpcError> {
        match self.call(PeerMessage::TransferLeader(rpc), option.hard_ttl()).await? {
            PeerReply::TransferLeader(reply) => Ok(reply.map_err(remote_failure)?),
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
