//! Admitting a member that has not started yet (etcd's `member add`).
//!
//! etcd answers MemberAdd as soon as the membership change is committed; the new member starts
//! afterwards with `--initial-cluster-state existing` and catches up. So, unlike `add_learner`,
//! this does not wait for the new member: it adds it as a learner without blocking and, unless it
//! is to stay a learner, makes it a voter at once (as etcd does, the cluster then needs it running
//! to keep the larger quorum). Leader only: elsewhere `NoLeader`.
//!
//! Making it a voter goes through raft's joint consensus (old voters and old + new together).
//! With two or more voters, the old voters alone are a majority of both, so the change commits
//! without the new member and is answered once committed. With one voter it cannot: the
//! majority of two is both, and the new member is not running yet. etcd's raft commits its
//! one-step change under the old configuration (and etcd's strict reconfiguration check lets
//! exactly this case through), then waits for the new member to restore a quorum. The least
//! surprising match: this member starts the change in the background and answers as soon as
//! the joint configuration is in its log, so the member list shows a voter and writes wait for
//! the new member, as with etcd. It stays safe: raft's own change runs to completion once the
//! new member answers, and no leader can be elected without this member's vote (it is the only
//! old voter), so no leader can drop the entry. The one difference left: answered, the entry may
//! not yet be on this member's disk, so a crash at that instant can lose it; the new member then
//! joins as a learner and `member promote` makes it a voter.

use super::cluster::membership_error;
use super::membership::Membership;
use crate::error::{Error, Result};
use crate::raft::types::{MemberInfo, NodeId};
use crate::runtime::DetRuntime;
use openraft_rt::{AsyncRuntime, WatchReceiver};
use std::collections::BTreeSet;
use tracing::warn;

impl Membership {
    pub(super) async fn admit_member(
        &self,
        id: NodeId,
        info: MemberInfo,
        is_learner: bool,
    ) -> Result<()> {
        if self.node.member_info(id).is_some() {
            return Err(Error::MemberExists);
        }
        let raft = &self.node.raft;
        let learner = self.one_change(|| raft.add_learner(id, info.clone(), false)).await;
        learner.map_err(membership_error)?;
        if is_learner {
            return Ok(());
        }
        if self.node.with_metrics(|m| m.membership_config.membership().voter_ids().count()) == 1 {
            return self.make_voter_in_background(id).await;
        }
        self.make_voter(id).await
    }

    async fn make_voter(&self, id: NodeId) -> Result<()> {
        let raft = &self.node.raft;
        let voters = || {
            let voters = openraft::ChangeMembers::AddVoterIds(BTreeSet::from([id]));
            raft.change_membership(voters, false)
        };
        self.one_change(voters).await.map(|_| ()).map_err(membership_error)
    }

    /// Starts making `id` a voter and answers once this member's log holds the change (see the
    /// module docs): `Timeout` if it does not within the request timeout.
    async fn make_voter_in_background(&self, id: NodeId) -> Result<()> {
        let member = self.clone();
        madsim::task::spawn(async move {
            if let Err(error) = member.make_voter(id).await {
                warn!(%error, member = id, "the member added could not be made a voter");
            }
        });
        let mut metrics = self.node.raft.metrics();
        let appended = async {
            loop {
                let voter = {
                    let named = metrics.borrow_watched();
                    let voter = named.membership_config.membership().voter_ids().any(|v| v == id);
                    voter
                };
                if voter {
                    return Ok(());
                }
                if metrics.changed().await.is_err() {
                    return Err(Error::Stopped);
                }
            }
        };
        match DetRuntime::timeout(self.node.config.request_timeout, appended).await {
            Ok(appended) => appended,
            Err(_) => Err(Error::Timeout),
        }
    }
}
