//! Membership changes from any member (etcd's MemberAdd/Remove/Update/Promote): a member that is
//! not the leader forwards the change to the leader, as etcd's followers do.
//!
//! Only the leader can change the raft membership, so a change takes the one routing path
//! (`route`): made here when this member leads, otherwise sent once to the member raft names as
//! leader, which refuses rather than forwarding again (see `forward`). Invariant: an update
//! changes only peer URLs, a publish only a name and client URLs; ids and voter sets stay as they
//! are.
//!
//! `Membership` is the component that makes membership changes and answers about the membership
//! (`admit`, `one_change`, `publish`, `cluster`, `move_leader`). It holds only the `Node` handle:
//! raft's membership is raft's state, so the component has none of its own. `Member` routes a
//! change (`change_membership`) and delegates the rest.

use super::node::Node;
use super::route::LeaderRequest;
use super::{Member, MemberStatus, MemberSummary};
use crate::error::{Error, Result};
use crate::peer::MembershipChange;
use crate::raft::types::{MemberInfo, NodeId};
use std::collections::BTreeSet;

/// A membership change is made by the leader (`Member::route`).
impl LeaderRequest for MembershipChange {
    type Answer = ();

    async fn serve_on_leader(self, member: &Member) -> Result<()> {
        member.inner.membership.change_membership_here(self).await
    }

    type Wire = MembershipChange;

    fn into_wire(self) -> MembershipChange {
        self
    }

    fn from_wire((): (), _member: &Member) -> Result<()> {
        Ok(())
    }

    fn may_repeat(&self) -> bool {
        false
    }
}

/// Membership changes and answers about the membership, made through the `Node` handle.
#[derive(Clone)]
pub(super) struct Membership {
    pub(super) node: Node,
}

impl Member {
    /// Applies `change` through the leader, wherever this member stands.
    pub async fn change_membership(&self, change: MembershipChange) -> Result<()> {
        self.route(change).await
    }

    /// Admits a member that has not started yet (`admit`). Leader only: elsewhere `NoLeader`.
    pub async fn admit_member(&self, id: NodeId, info: MemberInfo, is_learner: bool) -> Result<()> {
        self.inner.membership.admit_member(id, info, is_learner).await
    }

    /// Whether the replicated membership already shows this name and these client URLs for `id`.
    pub fn is_published(&self, id: NodeId, name: &str, client_urls: &[String]) -> bool {
        self.inner.membership.is_published(id, name, client_urls)
    }

    /// What `endpoint status` shows for this member.
    pub fn status(&self) -> MemberStatus {
        self.inner.membership.status()
    }

    /// Every member of the current configuration, voters and learners.
    pub fn member_list(&self) -> Vec<MemberSummary> {
        self.inner.membership.member_list()
    }

    /// Adds a learner (etcd `member add --learner`), waiting until it has caught up.
    pub async fn add_learner(&self, id: NodeId, info: MemberInfo) -> Result<()> {
        self.inner.membership.add_learner(id, info).await
    }

    /// Makes learners voters (etcd `member promote`).
    pub async fn promote(&self, ids: BTreeSet<NodeId>) -> Result<()> {
        self.inner.membership.promote(ids).await
    }

    /// Removes members from the cluster (etcd `member remove`; see `Membership::remove_members`).
    pub async fn remove_members(&self, ids: BTreeSet<NodeId>) -> Result<()> {
        self.inner.membership.remove_members(ids).await
    }
}

impl Membership {
    /// Applies `change` on this member; `NoLeader` (and no change) unless it leads.
    async fn change_membership_here(&self, change: MembershipChange) -> Result<()> {
        match change {
            MembershipChange::Admit { id, info, is_learner } => {
                self.admit_member(id, info, is_learner).await
            }
            MembershipChange::Remove { id } => {
                self.node.member_info(id).ok_or(Error::MemberNotFound)?;
                self.remove_members(BTreeSet::from([id])).await
            }
            MembershipChange::Promote { id } => {
                self.node.member_info(id).ok_or(Error::MemberNotFound)?;
                if self.member_list().iter().any(|member| member.id == id && !member.is_learner) {
                    return Err(Error::MemberNotLearner);
                }
                self.promote(BTreeSet::from([id])).await
            }
            MembershipChange::UpdatePeerUrls { id, peer_urls } => {
                self.update_peer_urls(id, peer_urls).await
            }
            MembershipChange::Publish { id, name, client_urls } => {
                self.publish_here(id, name, client_urls).await
            }
        }
    }

    /// Replaces member `id`'s peer URLs (etcd's `member update`).
    async fn update_peer_urls(&self, id: NodeId, peer_urls: Vec<String>) -> Result<()> {
        self.node.member_info(id).ok_or(Error::MemberNotFound)?;
        if peer_urls.is_empty() {
            return Err(Error::MemberBadUrls);
        }
        self.set_node(id, |info| {
            let changed = info.peer_urls != peer_urls;
            info.peer_urls = peer_urls.clone();
            changed
        })
        .await
    }
}
