//! Publishing a member's name and client URLs through raft (etcd's "published local member to
//! cluster").
//!
//! A member knows its own name and client URLs; the others learn them only from the replicated
//! membership (a member added by `member add` is listed with peer URLs only until it publishes),
//! which is what `member list` shows. Publishing is one more membership change
//! (`MembershipChange::Publish`): only the leader can make it, so a follower forwards it to the
//! leader over the same path as every other request (`Member::change_membership`), and the
//! leader makes it only while the member is still in the membership (`one_change::set_node`).
//! Invariant: only the name and client URLs change; peer URLs and voter sets stay as they are, so
//! the change cannot split the cluster.

use super::membership::Membership;
use crate::error::Result;
use crate::raft::types::NodeId;

impl Membership {
    /// Records member `id`'s name and client URLs. Leader only: elsewhere `NoLeader` (unless the
    /// membership shows them already, which needs no change).
    pub(super) async fn publish_here(
        &self,
        id: NodeId,
        name: String,
        client_urls: Vec<String>,
    ) -> Result<()> {
        self.set_node(id, |info| {
            if info.name == name && info.client_urls == client_urls {
                return false;
            }
            info.name = name.clone();
            info.client_urls = client_urls.clone();
            true
        })
        .await
    }

    /// Whether the replicated membership already shows this name and these client URLs for `id`.
    pub(super) fn is_published(&self, id: NodeId, name: &str, client_urls: &[String]) -> bool {
        self.node
            .member_info(id)
            .is_some_and(|info| info.name == name && info.client_urls == client_urls)
    }
}
