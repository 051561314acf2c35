//! openraft's type configuration for detcd, and short names for the types it derives.
//!
//! The log carries `apply::Command`s; applying one yields a `CommandOutcome` (the etcd response or
//! etcd error, decided deterministically by the state machine). Members are identified by `u64`
//! ids (etcd's member ids) and described by `MemberInfo`.

use crate::runtime::DetRuntime;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What raft knows about a member besides its id: etcd's member attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub name: String,
    /// Where peers reach its raft service (in the simulator: its simulated address).
    pub peer_urls: Vec<String>,
    /// Where clients reach it.
    pub client_urls: Vec<String>,
}

impl fmt::Display for MemberInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.peer_urls.join(","))
    }
}

openraft::declare_raft_types!(
    /// detcd's raft types.
    pub TypeConfig:
        D = crate::apply::Command,
        R = CommandOutcome,
        Node = MemberInfo,
        // Standard raft: at most one leader per term, as etcd (and its `raft_term`) assume.
        LeaderId = openraft::impls::leader_id_std::LeaderId<u64, u64>,
        AsyncRuntime = DetRuntime,
);

/// What applying one log entry produced for the client that proposed it: the etcd response, or
/// the etcd error that refused the command (which then changed nothing).
pub type CommandOutcome = Result<crate::apply::Response, crate::error::Error>;

/// openraft logs entries by their `Display`; a short description keeps logs readable.
impl fmt::Display for crate::apply::Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::apply::Command::*;
        match self {
            Noop => write!(f, "noop"),
            Range(r) => write!(f, "range {}", String::from_utf8_lossy(&r.key)),
            Put(r) => write!(f, "put {}", String::from_utf8_lossy(&r.key)),
            DeleteRange(r) => write!(f, "delete {}", String::from_utf8_lossy(&r.key)),
            Txn(r) => write!(f, "txn ({} compares)", r.compare.len()),
            Compact(r) => write!(f, "compact {}", r.revision),
            LeaseGrant(r) => write!(f, "lease grant ttl={}", r.ttl),
            LeaseRevoke(r) => write!(f, "lease revoke {:x}", r.id),
            Alarm(r) => write!(f, "alarm {:?} {:?} {:x}", r.action, r.alarm, r.member_id),
            // Never a password hash or a token in a log line.
            Auth(_) => write!(f, "auth"),
            As(info, inner) => write!(f, "{inner} as {:?}", info.user),
            DowngradeInfoSet(set) => write!(f, "downgrade {} {:?}", set.enabled, set.version),
        }
    }
}

/// A member id (etcd's member id).
pub type NodeId = u64;
/// Snapshots travel and rest as the state machine's serialized bytes.
pub type SnapshotData = std::io::Cursor<Vec<u8>>;
pub type Raft = openraft::Raft<TypeConfig, crate::raft::state_machine::ReplicaStateMachine>;

pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
pub type Vote = openraft::alias::VoteOf<TypeConfig>;
pub type Entry = <TypeConfig as openraft::RaftTypeConfig>::Entry;
pub type EntryPayload = openraft::alias::EntryPayloadOf<TypeConfig>;
pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, SnapshotData>;
pub type VoteRequest = openraft::raft::VoteRequest<TypeConfig>;
pub type VoteResponse = openraft::raft::VoteResponse<TypeConfig>;
pub type AppendEntriesRequest = openraft::raft::AppendEntriesRequest<TypeConfig>;
pub type AppendEntriesResponse = openraft::raft::AppendEntriesResponse<TypeConfig>;
pub type SnapshotResponse = openraft::raft::SnapshotResponse<TypeConfig>;
pub type TransferLeaderRequest = openraft::raft::TransferLeaderRequest<TypeConfig>;
pub type TransferLeaderResponse = openraft::raft::TransferLeaderResponse<TypeConfig>;
pub type RpcError = openraft::errors::RPCError<TypeConfig>;
pub type StreamingError = openraft::errors::StreamingError<TypeConfig>;
pub type RaftMetrics = openraft::RaftMetrics<TypeConfig>;
