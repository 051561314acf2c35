//! Cluster membership and member status (etcd's `member list` and `endpoint status`).

use super::membership::Membership;
use super::Member;
use crate::error::{Error, Result};
use crate::raft::types::{MemberInfo, NodeId, RaftMetrics, TypeConfig};
use openraft::errors::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::ServerState;
use std::collections::BTreeSet;

pub use crate::members::{MemberStatus, MemberSummary};

impl Member {
    /// What this member applied since it started, and how many keys exist now (etcd's mvcc
    /// metrics).
    pub fn apply_counters(&self) -> (crate::apply::ApplyCounters, usize) {
        let state = self.node().replica.lock();
        (state.counters, state.machine.store().len())
    }
}

impl Membership {
    pub(super) fn status(&self) -> MemberStatus {
        let metrics = self.node.with_metrics(RaftMetrics::clone);
        let state = self.node.replica.lock();
        MemberStatus {
            id: self.node.id(),
            name: self.node.config.name.clone(),
            leader: metrics.current_leader,
            is_leader: metrics.state == ServerState::Leader,
            is_learner: metrics.state == ServerState::Learner,
            raft_term: metrics.current_term,
            raft_index: metrics.last_log_index.unwrap_or(0),
            raft_applied_index: metrics.last_applied.as_ref().map_or(0, |log_id| log_id.index()),
            revision: state.machine.revision(),
            compact_revision: state.machine.store().compact_revision(),
            db_size: state.snapshot.as_ref().map_or(0, |(_, bytes)| bytes.len() as i64),
            db_size_quota: self
                .node
                .config
                .quota_backend_bytes
                .map_or(0, |quota| i64::try_from(quota).unwrap_or(i64::MAX)),
            downgrade: state.machine.downgrade().clone(),
        }
    }

    /// Every member of the current configuration, voters and learners.
    pub(super) fn member_list(&self) -> Vec<MemberSummary> {
        let metrics = self.node.with_metrics(RaftMetrics::clone);
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, info)| MemberSummary {
                id: *id,
                info: info.clone(),
                is_learner: !voters.contains(id),
            })
            .collect()
    }

    /// Adds a learner (etcd `member add --learner`), waiting until it has caught up.
    pub(super) async fn add_learner(&self, id: NodeId, info: MemberInfo) -> Result<()> {
        let added = self.one_change(|| self.node.raft.add_learner(id, info.clone(), true)).await;
        added.map(|_| ()).map_err(membership_error)
    }

    /// Makes learners voters (etcd `member promote`).
    pub(super) async fn promote(&self, ids: BTreeSet<NodeId>) -> Result<()> {
        let change = || {
            let change = openraft::ChangeMembers::AddVoterIds(ids.clone());
            self.node.raft.change_membership(change, false)
        };
        self.one_change(change).await.map(|_| ()).map_err(membership_error)
    }

    /// Removes members from the cluster (etcd `member remove`).
    ///
    /// Learners go first, voters last, each in one raft change: a leader that removes itself
    /// steps down once that change commits, and raft must not be asked for another change after
    /// it (openraft still holds the leader's state for a moment, and a change appended then is a
    /// membership no leader owns).
    ///
    /// Answered by what was committed, not by how raft's calls ended: the removed leader's member
    /// stops (`removal`), so the call that made the change may end in "raft stopped" or "not the
    /// leader" after the removal committed. The removal succeeded if this member has applied a
    /// membership without `ids`.
    pub(super) async fn remove_members(&self, ids: BTreeSet<NodeId>) -> Result<()> {
        let voters: BTreeSet<NodeId> = self.node.with_metrics(|metrics| {
            let membership = metrics.membership_config.membership();
            membership.voter_ids().filter(|id| ids.contains(id)).collect()
        });
        // Learners, and ids raft does not know (it answers for those), leave with the nodes.
        let others: BTreeSet<NodeId> = ids.difference(&voters).copied().collect();
        if !others.is_empty() {
            let nodes = || {
                let nodes = openraft::ChangeMembers::RemoveNodes(others.clone());
                self.node.raft.change_membership(nodes, false)
            };
            self.one_change(nodes).await.map_err(membership_error)?;
        }
        if voters.is_empty() {
            return Ok(());
        }
        let change = || {
            let change = openraft::ChangeMembers::RemoveVoters(voters.clone());
            self.node.raft.change_membership(change, false)
        };
        let removed = self.one_change(change).await;
        if removed.is_ok() || self.removal_applied(&ids) {
            return Ok(());
        }
        removed.map(|_| ()).map_err(membership_error)
    }

    /// Whether this member applied a membership that names none of `ids`.
    fn removal_applied(&self, ids: &BTreeSet<NodeId>) -> bool {
        self.node.with_metrics(|metrics| {
            let membership = &metrics.membership_config;
            let applied =
                membership.log_id().is_some() && *membership.log_id() <= metrics.last_applied;
            applied && ids.iter().all(|id| membership.membership().get_node(id).is_none())
        })
    }
}

/// A failed raft membership change as the error a client sees: not the leader is `NoLeader`
/// (nothing changed, the caller may forward), a learner raft does not have is `MemberNotFound`, a
/// refusal raft made before appending anything is `Other`; a stopped raft may have appended the
/// change already, so that one is `Internal` (outcome open).
pub(super) fn membership_error(
    error: RaftError<TypeConfig, ClientWriteError<TypeConfig>>,
) -> Error {
    if error.forward_to_leader().is_some() {
        return Error::NoLeader;
    }
    match error {
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            ChangeMembershipError::LearnerNotFound(_),
        )) => Error::MemberNotFound,
        RaftError::APIError(ClientWriteError::ChangeMembershipError(refused)) => {
            Error::Other(refused.to_string())
        }
        other => Error::Internal(other.to_string()),
    }
}
