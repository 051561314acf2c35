//! A read index from any member (etcd's `linearizableReadNotify`): the leader confirms that it
//! still leads and names the log index it had committed when asked; this member then waits until
//! it has applied that far. What it reads afterwards from its own state (the membership, for
//! `MemberList{linearizable}`) is at least as new as the cluster was when the call began.
//!
//! The read index takes the one routing path (`route`): served here when this member leads,
//! otherwise forwarded to the leader (`peer::ReadIndex`). A member cut off from the leader gets
//! the error a linearizable range gets there (`NoLeader`, `Timeout`, ...), never a stale answer.

use super::route::LeaderRequest;
use super::Member;
use crate::error::{Error, Result};
use crate::peer::ReadIndex;
use crate::runtime::DetRuntime;
use openraft_rt::{AsyncRuntime, WatchReceiver};

/// The read index is the leader's to give.
impl LeaderRequest for ReadIndex {
    type Answer = u64;

    async fn serve_on_leader(self, member: &Member) -> Result<u64> {
        member.node().read_index().await
    }

    type Wire = ReadIndex;

    fn into_wire(self) -> ReadIndex {
        self
    }

    fn from_wire(index: u64, _member: &Member) -> Result<u64> {
        Ok(index)
    }

    fn may_repeat(&self) -> bool {
        true
    }

    fn waits_for_next_leader(&self) -> bool {
        true
    }
}

impl Member {
    /// Returns once this member has applied everything the leader had committed when asked:
    /// the read index's error when no leader confirms one, `Timeout` when this member does not
    /// apply that far within the request timeout.
    pub(super) async fn linearizable_read_notify(&self) -> Result<()> {
        let index = self.route(ReadIndex).await?;
        let mut metrics = self.node().raft.metrics();
        let applied = async {
            loop {
                let now = {
                    let seen = metrics.borrow_watched();
                    seen.last_applied.as_ref().map_or(0, |log_id| log_id.index())
                };
                if now >= index {
                    return Ok(());
                }
                if metrics.changed().await.is_err() {
                    return Err(Error::Stopped);
                }
            }
        };
        match DetRuntime::timeout(self.node().config.request_timeout, applied).await {
            Ok(done) => done,
            Err(_) => Err(Error::Timeout),
        }
    }
}
