//! Requests one member serves for another: what a follower cannot do itself goes to the leader.
//!
//! Writes, linearizable reads and everything about lease deadlines need the leader. A follower
//! forwards them once, to the member raft names as leader; if that member is not the leader
//! either, the client is told (`NoLeader` / `LeaderChanged`) instead of being bounced around.

use super::membership::MembershipChange;
use super::Member;
use crate::api::{
    LeaseKeepAliveResponse, LeaseLeasesResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
    RangeRequest, RangeResponse,
};
use crate::apply::{Command, Response};
use crate::error::Error;
use crate::kv::LeaseId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PeerRequest {
    Propose(Command),
    LinearizableRange(RangeRequest),
    LeaseKeepAlive(LeaseId),
    LeaseTimeToLive(LeaseTimeToLiveRequest),
    LeaseLeases,
    ChangeMembership(MembershipChange),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PeerAnswer {
    Applied(Response),
    Range(RangeResponse),
    KeepAlive(LeaseKeepAliveResponse),
    TimeToLive(LeaseTimeToLiveResponse),
    Leases(LeaseLeasesResponse),
    MembershipChanged,
}

pub type PeerResponse = Result<PeerAnswer, Error>;

impl PeerRequest {
    /// Whether serving the request twice is the same as serving it once, so it may go again to
    /// a new leader when the old one stopped answering (a read, a keep-alive; never a proposal).
    pub fn may_repeat(&self) -> bool {
        match self {
            PeerRequest::LinearizableRange(_)
            | PeerRequest::LeaseKeepAlive(_)
            | PeerRequest::LeaseTimeToLive(_)
            | PeerRequest::LeaseLeases => true,
            PeerRequest::Propose(_) | PeerRequest::ChangeMembership(_) => false,
        }
    }
}

impl Member {
    /// Serves a request a peer forwarded, as the leader. A member that is not the leader refuses
    /// rather than forwarding again.
    pub(super) async fn serve_forwarded(&self, request: PeerRequest) -> PeerResponse {
        match request {
            PeerRequest::Propose(command) => {
                self.propose_here(command).await.map(PeerAnswer::Applied)
            }
            PeerRequest::LinearizableRange(range) => {
                self.linearizable_range_here(&range).await.map(PeerAnswer::Range)
            }
            PeerRequest::LeaseKeepAlive(id) => {
                self.keep_alive_here(id).await.map(PeerAnswer::KeepAlive)
            }
            PeerRequest::LeaseTimeToLive(req) => {
                self.time_to_live_here(&req).await.map(PeerAnswer::TimeToLive)
            }
            PeerRequest::LeaseLeases => self.leases_here().await.map(PeerAnswer::Leases),
            PeerRequest::ChangeMembership(change) => {
                self.change_membership_here(change).await.map(|()| PeerAnswer::MembershipChanged)
            }
        }
    }

    /// Serves a batch a follower forwarded: its requests run concurrently, answers in order.
    pub(super) async fn serve_forwarded_batch(
        &self,
        requests: Vec<PeerRequest>,
    ) -> Vec<PeerResponse> {
        futures::future::join_all(requests.into_iter().map(|request| self.serve_forwarded(request)))
            .await
    }
}
