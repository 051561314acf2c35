//! A member removed from the cluster stops, as etcd's does.
//!
//! A removed member that keeps running serves what it last knew forever: its watchers never hear
//! of another revision and its serializable reads grow ever staler, and if it never applied its
//! own removal (the leader stops replicating to it once the change commits) it keeps calling
//! elections and forwarding its clients' writes to a leader that would commit them. So:
//!
//! - a member stops raft and refuses every client (`Stopped`: ask another member) once it knows
//!   it was removed, which it learns when it applies a membership that leaves it out after one
//!   that named it (a new member replaying the log from before its addition was never named), or
//!   when a peer answers one of its messages with a committed membership that leaves it out and is
//!   newer than the newest one it applied while that one names it: some change between the two
//!   removed it (etcd never reuses a member id, so it cannot have been added back);
//! - a member answers every message from a member its applied membership leaves out with that
//!   membership's log id (`peer::Noticed::outsider`), and serves no forwarded request from a member
//!   it saw leave (etcd's peers refuse a removed member's messages the same way).
//!
//! `Removal` is the component that owns what this member knows of removals; it reaches raft and
//! the replica only through the `Node` handle it is given, and the raft network holds its hook.
//!
//! Invariant: only committed memberships decide (applied ones, here and at the peer), so a change
//! raft may still roll back never stops a member.

use super::node::Node;
use super::Member;
use crate::peer::OnLeftOut;
use crate::raft::state_machine::Replica;
use crate::raft::types::{LogId, NodeId};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What this member knows of removals, shared by the member and its raft network.
pub(super) struct Removal {
    /// Whether this member knows it was removed.
    removed: watch::Sender<bool>,
    /// The members this one saw in an applied membership, and those it saw leave it since.
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    named: BTreeSet<NodeId>,
    left: BTreeSet<NodeId>,
}

impl Default for Removal {
    fn default() -> Self {
        Removal { removed: watch::Sender::new(false), seen: Mutex::default() }
    }
}

impl Removal {
    fn learn(&self) {
        self.removed.send_if_modified(|removed| !std::mem::replace(removed, true));
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Learns of this member's removal if a peer's applied membership at `peer_at` leaves it out
    /// and is newer than its own, which names it.
    fn judge(&self, id: NodeId, replica: &Replica, peer_at: Option<LogId>) {
        let (named, own_at) = {
            let state = replica.lock();
            (state.membership.membership().get_node(&id).is_some(), *state.membership.log_id())
        };
        if named && peer_at > own_at {
            self.learn();
        }
    }

    /// The hook the raft network calls when a peer's applied membership leaves this member out.
    pub(super) fn on_left_out(self: &Arc<Self>, id: NodeId, replica: Arc<Replica>) -> OnLeftOut {
        let removal = self.clone();
        Arc::new(move |peer_at: Option<LogId>| removal.judge(id, &replica, peer_at))
    }
}

impl Removal {
    /// Whether this member learnt that it was removed from the cluster.
    pub(super) fn is_removed(&self) -> bool {
        *self.removed.borrow()
    }

    /// Resolves once this member learns that it was removed.
    pub(super) async fn removed(&self) {
        let mut removed = self.removed.subscribe();
        // The sender lives as long as the member, so the wait ends only on removal.
        let _ = removed.wait_for(|removed| *removed).await;
    }

    /// Watches the memberships `node` applies (for members that leave, itself included), and
    /// stops its raft once it knows it was removed (from here or from a peer's answer).
    pub(super) async fn run(&self, node: &Node) {
        let replica = &node.replica;
        let mut learnt = self.removed.subscribe();
        loop {
            let applied = replica.changed.notified();
            let named: BTreeSet<NodeId> =
                replica.lock().membership.membership().nodes().map(|(id, _)| *id).collect();
            let left_myself = {
                let mut seen = self.seen();
                let left: Vec<NodeId> = seen.named.difference(&named).copied().collect();
                seen.left.extend(left);
                seen.named.extend(named.iter().copied());
                seen.named.retain(|id| named.contains(id));
                seen.left.contains(&node.id())
            };
            if left_myself {
                self.learn();
            }
            if self.is_removed() {
                break;
            }
            futures::future::select(Box::pin(applied), Box::pin(learnt.changed())).await;
        }
        tracing::warn!(member = node.id(), "removed from the cluster: stopping");
        crate::probes::hit(crate::probes::Probe::RemovedMemberStopped);
        replica.changed.notify_waiters();
        let _ = node.raft.shutdown().await;
    }

    /// What `node` adds to its answer to a message from `sender`: the log id of its applied
    /// membership when that membership does not name the sender.
    pub(super) fn outsider_notice(node: &Node, sender: NodeId) -> Option<Option<LogId>> {
        let state = node.replica.lock();
        let named = state.membership.membership().get_node(&sender).is_some();
        (!named).then(|| *state.membership.log_id())
    }

    /// Whether `sender` is a member this one saw leave the cluster: its forwarded requests are
    /// refused unserved.
    pub(super) fn has_left(&self, sender: NodeId) -> bool {
        self.seen().left.contains(&sender)
    }

    /// A peer said its applied membership, at `peer_at`, leaves `node` out.
    pub(super) fn left_out_by_peer(&self, node: &Node, peer_at: Option<LogId>) {
        self.judge(node.id(), &node.replica, peer_at);
    }
}

impl Member {
    /// Whether this member learnt that it was removed from the cluster.
    pub fn is_removed(&self) -> bool {
        self.inner.removal.is_removed()
    }

    /// Resolves once this member learns that it was removed (a server then exits, as etcd's
    /// does).
    pub async fn removed(&self) {
        self.inner.removal.removed().await
    }
}
