//! Peer messages and the transport seam they cross.
//!
//! Everything one member says to another is one of a few calls: raft's own RPCs, and the batches
//! of client requests a follower forwards to the leader, one kind of call per kind of forwarded
//! request (`Forward<R>`, see `request`). Each call is its own type ([`PeerCall`]) and
//! knows its reply's type, as a client request knows its answer's: the transport has one method
//! per call, so a reply of the wrong kind cannot be received (a server frame that does not decode
//! as the reply expected is a transport failure like any other). `PeerMessage` is the calls as one
//! value, for a receiver that decodes frames from the wire and dispatches them.
//!
//! The core only knows the `PeerTransport` trait; the simulator implements it over madsim's
//! network (so partitions cut raft and forwarded traffic alike) and the server over gRPC.
//! Invariant: a transport failure is reported as an error, never as a reply.
//!
//! A member whose applied membership does not name the sender of a call still answers it, with
//! the log id of that membership in the reply ([`Noticed::outsider`]), and the sender hands that
//! log id to its `OnLeftOut` hook: only the sender can tell whether it was removed (a newer
//! committed membership leaves it out) or the peer is behind (it never heard of the sender's
//! addition), as etcd's peers tell a removed member so.

use super::request::MembershipChange;
use super::request::{ForwardReply, Forwarded, ForwardedRange, ReadIndex};
use crate::api::{LeaseKeepAliveRequest, LeaseLeasesRequest, LeaseTimeToLiveRequest};
use crate::apply::Command;
use crate::raft::types::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// One kind of call from one member to another, and the reply it is answered with.
pub trait PeerCall:
    Clone + Debug + Serialize + DeserializeOwned + Into<PeerMessage> + Send + Sync + 'static
{
    /// What the peer answers.
    type Reply: Debug + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The member that sent the call: the forwarder, or the candidate or leader of a raft call.
    fn sender(&self) -> NodeId;

    /// Sends the call over `transport` (its own method there).
    fn send(
        self,
        transport: &dyn PeerTransport,
        target: NodeId,
        target_info: &MemberInfo,
        timeout: Duration,
    ) -> Reply<Self>;
}

/// Raft errors on the receiving side travel as text: the sender can only treat them as "that
/// peer could not help", never act on their details.
pub type RaftReply<T> = Result<T, String>;

/// The leader of a raft call's vote.
fn voter(vote: &Vote) -> NodeId {
    use openraft::vote::RaftLeaderId;
    *vote.leader_id().node_id()
}

/// raft's AppendEntries (heartbeats included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppendEntries(pub AppendEntriesRequest);

/// raft's RequestVote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestVote(pub VoteRequest);

/// raft's pre-vote: would the peer vote, without its term moving.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreVote(pub VoteRequest);

/// The leader hands leadership to `rpc.to_node_id()` (`MoveLeader`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferLeader(pub TransferLeaderRequest);

/// A whole snapshot, for a follower too far behind for the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstallSnapshot {
    pub vote: Vote,
    pub meta: SnapshotMeta,
    pub data: Vec<u8>,
}

/// Client requests of one kind `R` served on behalf of member `from` (usually: writes sent to a
/// follower), in one batch (see `member::forward_queue`); answered with one result of `R`'s answer
/// per request, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Forward<R: Forwarded> {
    pub from: NodeId,
    pub requests: Vec<R>,
}

/// Every kind of call, each with its sender, its reply type and its transport method.
macro_rules! peer_calls {
    ($($name:ident($call:ty) => $reply:ty, $method:ident, |$it:ident| $sender:expr;)*) => {
        /// One call of any kind, as a receiver decodes it from the wire.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        pub enum PeerMessage {
            $($name($call),)*
        }

        $(
            impl PeerCall for $call {
                type Reply = $reply;

                fn sender(&self) -> NodeId {
                    let $it = self;
                    $sender
                }

                fn send(
                    self,
                    transport: &dyn PeerTransport,
                    target: NodeId,
                    target_info: &MemberInfo,
                    timeout: Duration,
                ) -> Reply<Self> {
                    transport.$method(target, target_info, self, timeout)
                }
            }

            impl From<$call> for PeerMessage {
                fn from(call: $call) -> PeerMessage {
                    PeerMessage::$name(call)
                }
            }
        )*

        impl PeerMessage {
            /// The member that sent the call.
            pub fn sender(&self) -> NodeId {
                match self {
                    $(PeerMessage::$name(call) => call.sender(),)*
                }
            }
        }

        /// How a member reaches its peers: one method per kind of call, each sending the call
        /// and waiting for its reply, giving up after `timeout` with an `io::Error` (timed out,
        /// unreachable, connection lost, a reply that does not decode).
        pub trait PeerTransport: Send + Sync + 'static {
            $(
                fn $method(
                    &self,
                    target: NodeId,
                    target_info: &MemberInfo,
                    call: $call,
                    timeout: Duration,
                ) -> Reply<$call>;
            )*
        }
    };
}

peer_calls! {
    AppendEntries(AppendEntries) => RaftReply<AppendEntriesResponse>, append_entries,
        |call| voter(&call.0.vote);
    RequestVote(RequestVote) => RaftReply<VoteResponse>, vote, |call| voter(&call.0.vote);
    PreVote(PreVote) => RaftReply<VoteResponse>, pre_vote, |call| voter(&call.0.vote);
    TransferLeader(TransferLeader) => RaftReply<TransferLeaderResponse>, transfer_leader,
        |call| voter(call.0.from_leader());
    InstallSnapshot(InstallSnapshot) => RaftReply<SnapshotResponse>, install_snapshot,
        |call| voter(&call.vote);
    ForwardProposals(Forward<Command>) => ForwardReply<Command>, forward_proposals,
        |call| call.from;
    ForwardRanges(Forward<ForwardedRange>) => ForwardReply<ForwardedRange>, forward_ranges,
        |call| call.from;
    ForwardKeepAlives(Forward<LeaseKeepAliveRequest>) => ForwardReply<LeaseKeepAliveRequest>,
        forward_keep_alives, |call| call.from;
    ForwardTimeToLives(Forward<LeaseTimeToLiveRequest>) => ForwardReply<LeaseTimeToLiveRequest>,
        forward_time_to_lives, |call| call.from;
    ForwardLeases(Forward<LeaseLeasesRequest>) => ForwardReply<LeaseLeasesRequest>,
        forward_leases, |call| call.from;
    ForwardMembershipChanges(Forward<MembershipChange>) => ForwardReply<MembershipChange>,
        forward_membership_changes, |call| call.from;
    ForwardReadIndexes(Forward<ReadIndex>) => ForwardReply<ReadIndex>, forward_read_indexes,
        |call| call.from;
}

/// A peer's reply, with the notice a member adds when its applied membership, up to
/// `outsider`'s log id, does not name the sender (`None`: it does).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Noticed<T> {
    pub outsider: Option<Option<LogId>>,
    pub reply: T,
}

/// Told the log id of a peer's applied membership that leaves this member out.
pub type OnLeftOut = Arc<dyn Fn(Option<LogId>) + Send + Sync>;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a transport method hands back: the reply to call `C`, with the sender's notice.
pub type Reply<C> = BoxFuture<'static, io::Result<Noticed<<C as PeerCall>::Reply>>>;
