//! A member removed from the cluster stops, as etcd's does.
//!
//! A removed member that keeps running serves what it last knew forever: its watchers never hear
//! of another revision and its serializable reads grow ever staler, and if it never applied its
//! own removal (the leader stops replicating to it once the change commits) it keeps calling
//! elections. So a member stops raft and refuses every client (`Stopped`: ask another member) once
//! it knows it was removed, which it learns in one of two ways:
//!
//! - it applies a membership that leaves it out, after having applied one that named it (a new
//!   member replaying the log from before its addition has never been named, and is not removed);
//! - a peer answers one of its raft messages with a committed membership that leaves it out and is
//!   newer than the newest one this member applied, while that one names it: some change between
//!   the two removed it (etcd never reuses a member id, so it cannot have been added back).
//!
//! Invariant: only committed memberships decide (applied ones, here and at the peer), so a change
//! raft may still roll back never stops a member.

use super::Member;
use crate::raft::network::OnLeftOut;
use crate::raft::state_machine::Replica;
use crate::raft::types::{LogId, NodeId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Whether this member knows it was removed, shared by the member and its raft network.
#[derive(Default)]
pub(super) struct Removal {
    removed: AtomicBool,
    /// Whether an applied membership ever named this member.
    was_named: AtomicBool,
    learnt: Notify,
}

impl Removal {
    fn learn(&self) {
        if !self.removed.swap(true, Ordering::SeqCst) {
            self.learnt.notify_one();
        }
    }

    /// The hook the raft network calls when a peer's applied membership leaves this member out.
    pub(super) fn on_left_out(self: &Arc<Self>, id: NodeId, replica: Arc<Replica>) -> OnLeftOut {
        let removal = self.clone();
        Arc::new(move |peer_at: Option<LogId>| {
            let (named, own_at) = {
                let state = replica.lock();
                (state.membership.membership().get_node(&id).is_some(), *state.membership.log_id())
            };
            if named && peer_at > own_at {
                removal.learn();
            }
        })
    }
}

impl Member {
    /// Whether this member learnt that it was removed from the cluster.
    pub fn is_removed(&self) -> bool {
        self.inner.removal.removed.load(Ordering::SeqCst)
    }

    /// Watches what this member applies for its own removal, and stops raft once it knows of it
    /// (from here or from a peer's answer).
    pub(super) async fn run_removal_watch(&self) {
        let replica = &self.inner.replica;
        let removal = &self.inner.removal;
        loop {
            let applied = replica.changed.notified();
            let learnt = removal.learnt.notified();
            let named = {
                let state = replica.lock();
                state.membership.membership().get_node(&self.id()).is_some()
            };
            if named {
                removal.was_named.store(true, Ordering::SeqCst);
            } else if removal.was_named.load(Ordering::SeqCst) {
                removal.learn();
            }
            if self.is_removed() {
                break;
            }
            futures::future::select(Box::pin(applied), Box::pin(learnt)).await;
        }
        tracing::warn!(member = self.id(), "removed from the cluster: stopping");
        crate::probes::hit(crate::probes::Probe::RemovedMemberStopped);
        replica.changed.notify_waiters();
        self.shutdown().await;
    }

    /// What a peer adds to its answer to a raft message from `sender`: the log id of this
    /// member's applied membership when that membership does not name the sender.
    pub(super) fn outsider_notice(&self, sender: NodeId) -> Option<Option<LogId>> {
        let state = self.inner.replica.lock();
        let named = state.membership.membership().get_node(&sender).is_some();
        (!named).then(|| *state.membership.log_id())
    }
}
