//! etcd's `Maintenance.MoveLeader`: the leader hands leadership to another voting member.
//!
//! As etcd: only the leader serves it (`NotLeader` on any other member: the client asks the
//! leader, which `etcdctl move-leader` finds by itself), and the target must be a voting member
//! (`BadLeaderTransferee` for an unknown id or a learner). A leader asked to move to itself is
//! done at once. Otherwise raft transfers leadership (openraft's transfer, carried by the peer
//! transport like every raft message): the leader stops accepting proposals and tells the voters;
//! the target waits until its log holds the leader's last entry, then starts an election at
//! once, which it wins without waiting for a timeout. The request is answered when this member
//! sees the target lead, or with `LeaderTransferTimeout` (etcd's error) after the request
//! timeout, when the transfer may still complete.

use super::membership::Membership;
use super::request::MemberRequest;
use super::Member;
use crate::client::outcome::Rpc;
use crate::error::{Error, Result};
use crate::kv::ResponseHeader;
use crate::runtime::DetRuntime;
use openraft_rt::{AsyncRuntime, WatchReceiver};
use serde::{Deserialize, Serialize};

/// etcd's `MoveLeaderRequest`: the member id that should lead next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MoveLeaderRequest {
    pub target_id: u64,
}

impl MemberRequest for MoveLeaderRequest {
    type Answer = ResponseHeader;

    fn rpc(&self) -> Rpc<'_> {
        Rpc::MoveLeader
    }

    async fn serve(self, member: &Member) -> Result<ResponseHeader> {
        member.inner.membership.move_leader(self.target_id).await
    }
}

impl Membership {
    /// Moves leadership from this member, which must lead, to `target`; answers once `target`
    /// leads.
    async fn move_leader(&self, target: u64) -> Result<ResponseHeader> {
        if !self.node.leads() {
            return Err(Error::NotLeader);
        }
        let voter = self.member_list().iter().any(|m| m.id == target && !m.is_learner);
        if !voter {
            return Err(Error::BadLeaderTransferee);
        }
        if target == self.node.id() {
            return Ok(self.node.header_now());
        }
        self.node.raft.trigger().transfer_leader(target).await.map_err(|_| Error::Stopped)?;
        let mut metrics = self.node.raft.metrics();
        let moved = async {
            loop {
                if metrics.borrow_watched().current_leader == Some(target) {
                    return Ok(());
                }
                if metrics.changed().await.is_err() {
                    return Err(Error::Stopped);
                }
            }
        };
        match DetRuntime::timeout(self.node.config.request_timeout, moved).await {
            Ok(moved) => moved.map(|()| self.node.header_now()),
            Err(_) => Err(Error::LeaderTransferTimeout),
        }
    }
}
