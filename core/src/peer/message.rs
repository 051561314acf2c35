//! Peer messages and the transport seam they cross.
//!
//! Everything one member says to another is a `PeerMessage`: raft's own RPCs, and client requests
//! a follower forwards to the leader. The core only knows the `PeerTransport` trait; the simulator
//! implements it over madsim's network (so partitions cut raft and forwarded traffic alike) and the
//! server over gRPC. Invariant: a transport failure is reported as an error, never as a reply.
//!
//! A member whose applied membership does not name the sender of a message still answers it,
//! wrapped in `PeerReply::ToOutsider` with the log id of that membership, and the sender hands
//! that log id to its `OnLeftOut` hook: only the sender can tell whether it was removed (a newer
//! committed membership leaves it out) or the peer is behind (it never heard of the sender's
//! addition), as etcd's peers tell a removed member so.

use super::request::{PeerRequest, PeerResponse};
use crate::raft::types::*;
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
    /// The leader hands leadership to `rpc.to_node_id()` (`MoveLeader`).
    TransferLeader(TransferLeaderRequest),
    /// Client requests served on behalf of member `from` (usually: writes sent to a follower),
    /// in one batch (see `member::forward_queue`).
    Forward {
        from: NodeId,
        requests: Vec<PeerRequest>,
    },
}

impl PeerMessage {
    /// The member that sent the message: the forwarder, or the candidate or leader of a raft
    /// message.
    pub fn sender(&self) -> NodeId {
        use openraft::vote::RaftLeaderId;
        let vote = match self {
            PeerMessage::AppendEntries(rpc) => &rpc.vote,
            PeerMessage::Vote(rpc) | PeerMessage::PreVote(rpc) => &rpc.vote,
            PeerMessage::Snapshot { vote, .. } => vote,
            PeerMessage::TransferLeader(rpc) => rpc.from_leader(),
            PeerMessage::Forward { from, .. } => return *from,
        };
        *vote.leader_id().node_id()
    }
}

/// The answer to a `PeerMessage`. Raft errors on the receiving side travel as text: the sender can
/// only treat them as "that peer could not help", never act on their details.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PeerReply {
    AppendEntries(Result<AppendEntriesResponse, String>),
    Vote(Result<VoteResponse, String>),
    Snapshot(Result<SnapshotResponse, String>),
    TransferLeader(Result<TransferLeaderResponse, String>),
    /// One response per forwarded request, in order.
    Forward(Vec<PeerResponse>),
    /// `reply`, from a member whose membership, applied up to `membership_at`, does not name the
    /// sender.
    ToOutsider {
        membership_at: Option<LogId>,
        reply: Box<PeerReply>,
    },
}

/// Told the log id of a peer's applied membership that leaves this member out.
pub type OnLeftOut = Arc<dyn Fn(Option<LogId>) + Send + Sync>;

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
