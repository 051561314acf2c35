//! Admitting a member that has not started yet (etcd's `member add`).
//!
//! etcd answers MemberAdd as soon as the membership change is committed; the new member starts
//! afterwards with `--initial-cluster-state existing` and catches up. So, unlike `add_learner`,
//! this does not wait for the new member: it adds it as a learner without blocking and, unless it
//! is to stay a learner, makes it a voter at once (as etcd does, the cluster then needs it running
//! to keep the larger quorum). Leader only: elsewhere `NoLeader`.

use super::cluster::membership_error;
use super::Member;
use crate::error::{Error, Result};
use crate::raft::types::{MemberInfo, NodeId};
use std::collections::BTreeSet;

impl Member {
    pub async fn admit_member(&self, id: NodeId, info: MemberInfo, is_learner: bool) -> Result<()> {
        if self.member_info(id).is_some() {
            return Err(Error::MemberExists);
        }
        let raft = &self.inner.raft;
        let learner = self.one_change(|| raft.add_learner(id, info.clone(), false)).await;
        learner.map_err(membership_error)?;
        if !is_learner {
            let voters = || {
                let voters = openraft::ChangeMembers::AddVoterIds(BTreeSet::from([id]));
                raft.change_membership(voters, false)
            };
            self.one_change(voters).await.map_err(membership_error)?;
        }
        Ok(())
    }
}
