//! The handle every component of a member is given: this member's configuration, its raft and
//! its replica, and the few answers about them that every component needs (who this member is,
//! who leads, whether raft still runs, the header an answer carries, a read index).
//!
//! A `Node` owns no behaviour of its own: routing, leases, watches, membership and start-up each
//! live in their own component (see `member`'s module docs) and reach the shared parts through
//! this handle, never through another component's state. Cloning it is cheap; clones share the
//! same raft and replica.
//!
//! Invariants: a header carries this member's id and the term raft is in when it is made; nothing
//! here reads the wall clock or changes state.

use super::MemberConfig;
use crate::error::{Error, Result};
use crate::kv::ResponseHeader;
use crate::raft::state_machine::Replica;
use crate::raft::types::{MemberInfo, NodeId, Raft, RaftMetrics};
use crate::runtime::DetRuntime;
use openraft::ReadPolicy;
use openraft_rt::{AsyncRuntime, WatchReceiver};
use std::sync::Arc;

/// What every component of one member shares.
#[derive(Clone)]
pub(super) struct Node {
    pub(super) config: Arc<MemberConfig>,
    pub(super) raft: Raft,
    pub(super) replica: Arc<Replica>,
}

impl Node {
    pub(super) fn id(&self) -> NodeId {
        self.config.id
    }

    /// Reads raft's current metrics without copying them.
    pub(super) fn with_metrics<T>(&self, read: impl FnOnce(&RaftMetrics) -> T) -> T {
        let receiver = self.raft.metrics();
        let metrics = receiver.borrow_watched();
        read(&metrics)
    }

    /// The member raft currently believes leads, if any.
    pub(super) fn leader(&self) -> Option<NodeId> {
        self.with_metrics(|m| m.current_leader)
    }

    /// The leader, when raft believes it is another member.
    pub(super) fn other_leader(&self) -> Option<NodeId> {
        self.leader().filter(|leader| *leader != self.id())
    }

    /// Whether raft believes this member leads.
    pub(super) fn leads(&self) -> bool {
        self.leader() == Some(self.id())
    }

    /// Whether raft still runs (it stops for good on a poisoned WAL or a fatal storage error).
    pub(super) fn is_running(&self) -> bool {
        self.with_metrics(|m| m.running_state.is_ok())
    }

    /// Member `id` as the membership raft knows now shows it.
    pub(super) fn member_info(&self, id: NodeId) -> Option<MemberInfo> {
        self.with_metrics(|m| m.membership_config.membership().get_node(&id).cloned())
    }

    /// A response header for something served now at `revision`.
    pub(super) fn header(&self, revision: i64) -> ResponseHeader {
        let term = self.with_metrics(|m| m.current_term);
        ResponseHeader {
            cluster_id: self.config.cluster_id,
            member_id: self.config.id,
            revision,
            raft_term: term,
        }
    }

    /// The header of an answer about this member now: its current revision.
    pub(super) fn header_now(&self) -> ResponseHeader {
        let revision = self.replica.lock().machine.revision();
        self.header(revision)
    }

    /// Confirms that this member leads with a current view (a read index), as everything a
    /// `LeaderRequest` reads must: `NoLeader` when it does not lead (the caller may forward),
    /// `Stopped` when raft stopped, `Timeout` when leadership could not be confirmed in time.
    /// The one mapping of a read index's outcome, for reads and lease deadlines alike.
    pub(super) async fn confirm_leadership(&self) -> Result<()> {
        self.read_index().await.map(|_| ())
    }

    /// Confirms leadership as `confirm_leadership` does and answers the read index: the log
    /// index every read that began before the call must see applied (this leader has applied
    /// it when the call returns).
    pub(super) async fn read_index(&self) -> Result<u64> {
        let read = self.raft.ensure_linearizable(ReadPolicy::ReadIndex);
        match DetRuntime::timeout(self.config.request_timeout, read).await {
            Err(_) => Err(Error::Timeout),
            Ok(Ok(read)) => Ok(read.log_id().index()),
            Ok(Err(error)) if error.forward_to_leader().is_some() => Err(Error::NoLeader),
            Ok(Err(_)) if !self.is_running() => Err(Error::Stopped),
            Ok(Err(_)) => Err(Error::Timeout),
        }
    }
}
