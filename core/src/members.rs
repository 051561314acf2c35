//! What the cluster API says about members, as plain domain types: a `member list` row and what
//! `endpoint status` shows. Every client answers with these (`client::Client`), and `member`
//! makes them (`Member::member_list`, `Member::status`).

use crate::raft::types::{MemberInfo, NodeId};
use serde::{Deserialize, Serialize};

/// One member as `member list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub id: NodeId,
    pub info: MemberInfo,
    pub is_learner: bool,
}

/// What `endpoint status` shows for one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: NodeId,
    pub name: String,
    pub leader: Option<NodeId>,
    pub is_leader: bool,
    pub is_learner: bool,
    pub raft_term: u64,
    pub raft_index: u64,
    pub raft_applied_index: u64,
    pub revision: i64,
    pub compact_revision: i64,
    /// Size of the state machine's snapshot encoding, standing in for etcd's db size.
    pub db_size: i64,
    /// The backend quota this member enforces (`--quota-backend-bytes`), 0 when it has none.
    pub db_size_quota: i64,
    /// The cluster's downgrade state as this member applied it (etcd 3.6's `downgradeInfo`).
    pub downgrade: crate::apply::DowngradeInfo,
}
