//! openraft's network over the `PeerTransport` seam: each raft RPC travels as its own call
//! (`PeerCall`), whose reply type is the one openraft expects, so no reply of another kind can
//! arrive. Invariant: a transport failure is always reported as `Unreachable` to openraft, which
//! then retries with back-off; it never fabricates a reply. A reply's notice that the peer's
//! membership leaves this member out (`Noticed::outsider`) is handed to the `OnLeftOut` hook.

use super::message::{AppendEntries, InstallSnapshot, PreVote, RequestVote, TransferLeader};
use super::message::{OnLeftOut, PeerCall, PeerTransport, RaftReply};
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

impl PeerConnection {
    /// Sends one raft call and hands back the peer's answer; its failure travels as text.
    async fn call<C>(&self, call: C, ttl: Duration) -> Result<C::Reply, Unreachable<TypeConfig>>
    where
        C: PeerCall,
    {
        if buggify::fires(Site::DropPeerMessage) {
            return Err(unreachable(io::Error::other("message dropped (buggify)")));
        }
        if buggify::fires(Site::DuplicatePeerMessage) {
            let copy = call.clone().send(&*self.transport, self.target, &self.info, ttl);
            let _ = copy.await;
        }
        let noticed = call.send(&*self.transport, self.target, &self.info, ttl);
        let noticed = noticed.await.map_err(unreachable)?;
        if let Some(membership_at) = noticed.outsider {
            (self.left_out)(membership_at);
        }
        Ok(noticed.reply)
    }

    /// A raft call whose reply is openraft's response, or the peer's raft error as text.
    async fn raft<C, T>(&self, call: C, ttl: Duration) -> Result<T, Unreachable<TypeConfig>>
    where
        C: PeerCall<Reply = RaftReply<T>>,
    {
        self.call(call, ttl).await?.map_err(remote_failure)
    }
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse, RpcError> {
        Ok(self.raft(AppendEntries(rpc), option.hard_ttl()).await?)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest,
        option: RPCOption,
    ) -> Result<VoteResponse, RpcError> {
        Ok(self.raft(RequestVote(rpc), option.hard_ttl()).await?)
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest,
        option: RPCOption,
    ) -> Result<VoteResponse, RpcError> {
        Ok(self.raft(PreVote(rpc), option.hard_ttl()).await?)
    }

    async fn transfer_leader(
        &mut self,
        rpc: TransferLeaderRequest,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse, RpcError> {
        Ok(self.raft(TransferLeader(rpc), option.hard_ttl()).await?)
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        _cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse, StreamingError> {
        let data = snapshot.snapshot.into_inner();
        let call = InstallSnapshot { vote, meta: snapshot.meta, data };
        Ok(self.raft(call, option.hard_ttl()).await?)
    }
}
