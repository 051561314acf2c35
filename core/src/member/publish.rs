//! Publishing a member's name and client URLs through raft (etcd's "published local member to
//! cluster").
//!
//! A member knows its own name and client URLs; the others learn them only from the replicated
//! membership (a member added by `member add` is listed with peer URLs only until it publishes),
//! which is what `member list` shows. Publishing is one more membership change
//! (`MembershipChange::Publish`): only the leader can make it, so a follower forwards it to the
//! leader over the same path as every other request (`Member::change_membership`).
//! Invariant: only the name and client URLs change; peer URLs and voter sets stay as they are, so
//! the change cannot split the cluster.

use super::Member;
use crate::error::{Error, Result};
use crate::raft::types::NodeId;
use std::collections::BTreeMap;

impl Member {
    /// Records member `id`'s name and client URLs. Leader only: elsewhere `NoLeader` (unless the
    /// membership shows them already, which needs no change).
    pub(super) async fn publish_here(
        &self,
        id: NodeId,
        name: String,
        client_urls: Vec<String>,
    ) -> Result<()> {
        let mut info =
            self.member_info(id).ok_or_else(|| Error::Other("member not found".into()))?;
        if info.name == name && info.client_urls == client_urls {
            return Ok(());
        }
        if self.leader() != Some(self.id()) {
            return Err(Error::NoLeader);
        }
        info.name = name;
        info.client_urls = client_urls;
        let change = openraft::ChangeMembers::SetNodes(BTreeMap::from([(id, info)]));
        match self.inner.raft.change_membership(change, false).await {
            Ok(_) => Ok(()),
            Err(error) if error.forward_to_leader().is_some() => Err(Error::NoLeader),
            Err(error) => Err(Error::Other(error.to_string())),
        }
    }

    /// Whether the replicated membership already shows this name and these client URLs for `id`.
    pub fn is_published(&self, id: NodeId, name: &str, client_urls: &[String]) -> bool {
        self.member_info(id)
            .is_some_and(|info| info.name == name && info.client_urls == client_urls)
    }
}
