//! Serving the peer protocol's requests (`crate::peer::request`): what a follower forwards to
//! the leader.
//!
//! Each kind of forwarded request ([`ForwardServed`]) arrives in batches of its own kind and is
//! answered with its own answer type. The leader serves a forwarded request exactly as it serves
//! its own clients' (`serve_on_leader`, or `propose::here` for the log's commands); a member that
//! is not the leader refuses (`NoLeader` / `LeaderChanged`) rather than forwarding again, so a
//! request is never bounced around.

use super::auth_range::AuthorizedRange;
use super::route::LeaderRequest;
use super::Member;
use crate::api::{LeaseKeepAliveRequest, LeaseLeasesRequest, LeaseTimeToLiveRequest};
use crate::apply::Command;
use crate::error::{Error, Result};
use crate::peer::{ForwardReply, Forwarded, ForwardedRange, MembershipChange, ReadIndex};
use crate::raft::types::NodeId;
use std::future::Future;

/// A kind of forwarded request, as the leader serves it.
pub(super) trait ForwardServed: Forwarded {
    /// Serves one forwarded request on `member` as the leader: `NoLeader`, with nothing done,
    /// when it does not lead.
    fn serve_forwarded(self, member: &Member) -> impl Future<Output = Result<Self::Answer>> + Send;
}

/// A proposal is appended and applied here, its answer the state machine's.
impl ForwardServed for Command {
    async fn serve_forwarded(self, member: &Member) -> Result<Self::Answer> {
        super::propose::here(member.node(), self).await
    }
}

/// A linearizable range is served as the leader serves its own clients' ranges: checked for its
/// caller when it has one.
impl ForwardServed for ForwardedRange {
    async fn serve_forwarded(self, member: &Member) -> Result<Self::Answer> {
        match self.caller {
            Some(info) => {
                AuthorizedRange { info, request: self.request }.serve_on_leader(member).await
            }
            None => self.request.serve_on_leader(member).await,
        }
    }
}

/// The kinds that travel as themselves are served as the leader serves them for its own clients.
macro_rules! served_on_leader {
    ($($request:ty,)*) => {$(
        impl ForwardServed for $request {
            async fn serve_forwarded(self, member: &Member) -> Result<Self::Answer> {
                self.serve_on_leader(member).await
            }
        }
    )*};
}

served_on_leader! {
    LeaseKeepAliveRequest,
    LeaseTimeToLiveRequest,
    LeaseLeasesRequest,
    MembershipChange,
    ReadIndex,
}

impl Member {
    /// Serves a batch member `from` forwarded: its requests run concurrently, answers in order.
    /// A member that is no longer in the membership is refused (`NoLeader`, nothing done): it
    /// was removed, perhaps without learning so, and must not get writes committed (etcd's
    /// leader likewise drops what removed members send).
    pub(super) async fn serve_forwarded_batch<R: ForwardServed>(
        &self,
        from: NodeId,
        requests: Vec<R>,
    ) -> ForwardReply<R> {
        if self.node().member_info(from).is_none() {
            return requests.iter().map(|_| Err(Error::NoLeader)).collect();
        }
        let served = requests.into_iter().map(|request| request.serve_forwarded(self));
        futures::future::join_all(served).await
    }
}
