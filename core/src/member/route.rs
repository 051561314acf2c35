//! The one routing function: a request that must run on the leader is served here when this
//! member leads, and forwarded to the leader otherwise.
//!
//! Writes, linearizable reads and everything about lease deadlines need the leader; each is a
//! [`LeaderRequest`], and every one of them takes the same path (`Member::route`): a follower
//! that knows the leader forwards at once, without asking its own raft first; otherwise the
//! request is tried here, and if this member turns out not to lead (`NoLeader`: nothing was
//! done) it goes to the member raft names as leader now. The leader serves a forwarded request
//! with the same `serve_on_leader` (`forward`), and refuses rather than forwarding again.
//!
//! Invariants: a request is served at most once per member it reaches, except one that may be
//! repeated (`may_repeat`: a read, a keep-alive) when the leader changes under it; every error
//! is the serving member's own (`NoLeader`, `LeaderChanged`, `Timeout`, ...) and is passed on
//! as it is, so the outcome classification sees the same error whichever member served it.

use super::forward::{PeerAnswer, PeerRequest};
use super::Member;
use crate::error::{Error, Result};
use crate::runtime::DetRuntime;
use openraft::ReadPolicy;
use openraft_rt::AsyncRuntime;
use std::future::Future;

/// A request that must be served by the leader.
pub trait LeaderRequest: Clone + Send + Sync + 'static {
    /// What the leader answers.
    type Answer: Send + 'static;

    /// Serves the request on this member as the leader: `NoLeader`, with nothing done, when it
    /// does not lead.
    fn serve_on_leader(self, member: &Member) -> impl Future<Output = Result<Self::Answer>> + Send;

    /// The request as the peer protocol carries it to the leader.
    fn into_peer(self) -> PeerRequest;

    /// The answer in what the leader sent back, as `member` answers its caller. `None` when the
    /// leader answered another kind of request: the peer protocol was broken on the wire (a
    /// peer of another version), and what the leader did is unknown.
    fn from_peer(answer: PeerAnswer, member: &Member) -> Option<Self::Answer>;

    /// Whether serving the request twice is the same as serving it once, so it may go again to
    /// a new leader when the old one stopped answering (a read, a keep-alive; never a proposal).
    fn may_repeat(&self) -> bool;

    /// Called when this member tried to serve the request as the leader and found that another
    /// member leads: the request goes there unless this answers it instead.
    fn rerouted(&self, _member: &Member) -> Option<Result<Self::Answer>> {
        None
    }
}

impl Member {
    /// Serves `request` on the leader, wherever this member stands.
    pub(super) async fn route<R: LeaderRequest>(&self, request: R) -> Result<R::Answer> {
        if let Some(leader) = self.other_leader() {
            return self.forward(leader, request).await;
        }
        match request.clone().serve_on_leader(self).await {
            Err(Error::NoLeader) => match self.other_leader() {
                Some(leader) => match request.rerouted(self) {
                    Some(answer) => answer,
                    None => self.forward(leader, request).await,
                },
                None => Err(Error::NoLeader),
            },
            other => other,
        }
    }

    /// Confirms that this member leads with a current view (a read index), as everything a
    /// `LeaderRequest` reads must: `NoLeader` when it does not lead (the caller may forward),
    /// `Stopped` when raft stopped, `Timeout` when leadership could not be confirmed in time.
    /// The one mapping of a read index's outcome, for reads and lease deadlines alike.
    pub(super) async fn confirm_leadership(&self) -> Result<()> {
        let read = self.inner.raft.ensure_linearizable(ReadPolicy::ReadIndex);
        match DetRuntime::timeout(self.inner.config.request_timeout, read).await {
            Err(_) => Err(Error::Timeout),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) if error.forward_to_leader().is_some() => Err(Error::NoLeader),
            Ok(Err(_)) if !self.is_running() => Err(Error::Stopped),
            Ok(Err(_)) => Err(Error::Timeout),
        }
    }
}
