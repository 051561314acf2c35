//! The one routing function: a request that must run on the leader is served here when this
//! member leads, and forwarded to the leader otherwise.
//!
//! Writes, linearizable reads and everything about lease deadlines need the leader; each is a
//! [`LeaderRequest`], and every one of them takes the same path (`Member::route`): a follower
//! that knows the leader forwards at once, without asking its own raft first; otherwise the
//! request is tried here, and if this member turns out not to lead (`NoLeader`: nothing was
//! done) it goes to the member raft names as leader now. A request that `waits_for_next_leader`
//! (a linearizable read, as etcd's read loop retries) waits up to the longest election timeout
//! for raft to name the next leader when none is named yet. The leader serves a forwarded request
//! with the same `serve_on_leader` (`forward`), and refuses rather than forwarding again.
//!
//! Invariants: a request is served at most once per member it reaches, except one that may be
//! repeated (`may_repeat`: a read, a keep-alive) when the leader changes under it; every error
//! is the serving member's own (`NoLeader`, `LeaderChanged`, `Timeout`, ...) and is passed on
//! as it is, so the outcome classification sees the same error whichever member served it.

use super::forward_queue::Laned;
use super::node::Node;
use super::Member;
use crate::error::{Error, Result};
use crate::peer::Forwarded;
use crate::raft::types::NodeId;
use crate::runtime::DetRuntime;
use openraft_rt::{AsyncRuntime, Instant as _, WatchReceiver};
use std::future::Future;

type Instant = <DetRuntime as AsyncRuntime>::Instant;

/// A request that must be served by the leader.
pub(super) trait LeaderRequest: Clone + Send + Sync + 'static {
    /// What the leader answers.
    type Answer: Send + 'static;

    /// The kind of forwarded request it travels to the leader as (`peer::Forwarded`): itself,
    /// or the log's `Command` for a proposal.
    type Wire: Laned;

    /// Serves the request on this member as the leader: `NoLeader`, with nothing done, when it
    /// does not lead.
    fn serve_on_leader(self, member: &Member) -> impl Future<Output = Result<Self::Answer>> + Send;

    /// The request as the peer protocol carries it to the leader.
    fn into_wire(self) -> Self::Wire;

    /// The leader's answer to the request as it travelled, as `member` answers its caller.
    fn from_wire(
        answer: <Self::Wire as Forwarded>::Answer,
        member: &Member,
    ) -> Result<Self::Answer>;

    /// Whether serving the request twice is the same as serving it once, so it may go again to
    /// a new leader when the old one stopped answering (a read, a keep-alive; never a proposal).
    fn may_repeat(&self) -> bool;

    /// Whether, refused here for want of leadership with no other leader named, the request
    /// waits for the next leader (see `Member::next_leader_within`) rather than failing at once.
    fn waits_for_next_leader(&self) -> bool {
        false
    }

    /// Called when this member tried to serve the request as the leader and found that another
    /// member leads: the request goes there unless this answers it instead.
    fn rerouted(&self, _member: &Member) -> Option<Result<Self::Answer>> {
        None
    }
}

impl Member {
    /// Serves `request` on the leader, wherever this member stands.
    pub(super) async fn route<R: LeaderRequest>(&self, request: R) -> Result<R::Answer> {
        let started = Instant::now();
        if let Some(leader) = self.node().other_leader() {
            return self.inner.forwarder.forward(self, leader, request).await;
        }
        let before = leadership(self.node());
        match request.clone().serve_on_leader(self).await {
            Err(Error::NoLeader) => {
                let next = match request.waits_for_next_leader() {
                    true => next_leader_within(self.node(), before, started).await,
                    false => self.node().other_leader(),
                };
                match next {
                    // Elected itself meanwhile.
                    Some(leader) if leader == self.id() => request.serve_on_leader(self).await,
                    Some(leader) => match request.rerouted(self) {
                        Some(answer) => answer,
                        None => self.inner.forwarder.forward(self, leader, request).await,
                    },
                    None => Err(Error::NoLeader),
                }
            }
            other => other,
        }
    }
}

/// Who raft names leader, in which term.
fn leadership(node: &Node) -> (Option<NodeId>, u64) {
    node.with_metrics(|m| (m.current_leader, m.current_term))
}

/// The leader raft names after `before` (a leader named in another term, or another one),
/// waiting for it no longer than the longest election timeout, nor than the rest of a
/// request begun at `started`. As etcd's read loop retries until a leader is elected; but a
/// member that sees no election end in that time (cut off, or removed from the cluster) says
/// `NoLeader` while its client still waits, so the client tries another member.
async fn next_leader_within(
    node: &Node,
    before: (Option<NodeId>, u64),
    started: Instant,
) -> Option<NodeId> {
    let mut metrics = node.raft.metrics();
    let next = async {
        loop {
            let now = {
                let named = metrics.borrow_watched();
                (named.current_leader, named.current_term)
            };
            if let (Some(leader), true) = (now.0, now != before) {
                return Some(leader);
            }
            metrics.changed().await.ok()?;
        }
    };
    let left = node.config.request_timeout.saturating_sub(started.elapsed());
    let election = node.config.election_timeout * 2;
    DetRuntime::timeout(left.min(election), next).await.ok().flatten()
}
