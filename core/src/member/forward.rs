//! Serving the peer protocol's requests (`crate::peer::request`): what a follower forwards to
//! the leader.
//!
//! Each [`LeaderRequest`](super::route::LeaderRequest) says how it travels (`into_peer`) and
//! finds its answer in the reply (`from_peer`). The leader serves a forwarded request exactly as
//! it serves its own clients' (`serve_on_leader`); a member that is not the leader refuses
//! (`NoLeader` / `LeaderChanged`) rather than forwarding again, so a request is never bounced
//! around.

use super::route::LeaderRequest;
use super::Member;
use crate::api::{LeaseKeepAliveRequest, LeaseLeasesRequest};
use crate::error::Error;
use crate::peer::{PeerAnswer, PeerRequest, PeerResponse};
use crate::raft::types::NodeId;

impl Member {
    /// Serves a request a peer forwarded, as the leader.
    pub(super) async fn serve_forwarded(&self, request: PeerRequest) -> PeerResponse {
        match request {
            PeerRequest::Propose(command) => {
                super::propose::here(self.node(), command).await.map(PeerAnswer::Applied)
            }
            PeerRequest::LinearizableRange(range) => {
                range.serve_on_leader(self).await.map(PeerAnswer::Range)
            }
            PeerRequest::LeaseKeepAlive(id) => {
                LeaseKeepAliveRequest { id }.serve_on_leader(self).await.map(PeerAnswer::KeepAlive)
            }
            PeerRequest::LeaseTimeToLive(request) => {
                request.serve_on_leader(self).await.map(PeerAnswer::TimeToLive)
            }
            PeerRequest::LeaseLeases => {
                LeaseLeasesRequest {}.serve_on_leader(self).await.map(PeerAnswer::Leases)
            }
            PeerRequest::ChangeMembership(change) => {
                change.serve_on_leader(self).await.map(|()| PeerAnswer::MembershipChanged)
            }
        }
    }

    /// Serves a batch member `from` forwarded: its requests run concurrently, answers in order.
    /// A member that is no longer in the membership is refused (`NoLeader`, nothing done): it
    /// was removed, perhaps without learning so, and must not get writes committed (etcd's
    /// leader likewise drops what removed members send).
    pub(super) async fn serve_forwarded_batch(
        &self,
        from: NodeId,
        requests: Vec<PeerRequest>,
    ) -> Vec<PeerResponse> {
        if self.node().member_info(from).is_none() {
            return vec![Err(Error::NoLeader); requests.len()];
        }
        futures::future::join_all(requests.into_iter().map(|request| self.serve_forwarded(request)))
            .await
    }
}
