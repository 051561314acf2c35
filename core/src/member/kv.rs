//! Ranges on a member: linearizable reads on the leader after a read index, serializable reads
//! from the local replica. (Writes are proposals, see `propose`.)

use super::request::MemberRequest;
use super::route::LeaderRequest;
use super::Member;
use crate::api::{RangeRequest, RangeResponse};
use crate::client::outcome::Rpc;
use crate::error::Result;
use crate::peer::ForwardedRange;
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use crate::raft::types::NodeId;

impl MemberRequest for RangeRequest {
    type Answer = RangeResponse;

    fn rpc(&self) -> Rpc<'_> {
        Rpc::Range
    }

    async fn serve(self, member: &Member) -> Result<RangeResponse> {
        if self.serializable {
            return member.local_range(&self);
        }
        member.route(self).await
    }
}

/// A linearizable range: served by the leader after a read index.
impl LeaderRequest for RangeRequest {
    type Answer = RangeResponse;

    async fn serve_on_leader(self, member: &Member) -> Result<RangeResponse> {
        member.linearizable_range_here(&self).await
    }

    type Wire = ForwardedRange;

    fn into_wire(self) -> ForwardedRange {
        ForwardedRange { caller: None, request: self }
    }

    fn from_wire(response: RangeResponse, _member: &Member) -> Result<RangeResponse> {
        Ok(response)
    }

    fn may_repeat(&self) -> bool {
        true
    }

    fn waits_for_next_leader(&self) -> bool {
        true
    }

    fn rerouted(&self, member: &Member) -> Option<Result<RangeResponse>> {
        probes::hit(Probe::ReadIndexRetried);
        plant::active(Bug::RetriedReadLocal).then(|| member.local_range(self))
    }
}

impl Member {
    /// Reads after a read index on this member, which must be the leader.
    pub(super) async fn linearizable_range_here(
        &self,
        request: &RangeRequest,
    ) -> Result<RangeResponse> {
        if plant::active(Bug::StaleRead) {
            return self.local_range(request);
        }
        let trusted_itself = self.node().leads();
        let confirmed = self.node().confirm_leadership().await;
        if trusted_itself && confirmed.is_err() {
            probes::hit(Probe::DeposedLeaderRead);
        }
        confirmed?;
        self.local_range(request)
    }

    /// Reads this member's replica as it is now.
    pub fn local_range(&self, request: &RangeRequest) -> Result<RangeResponse> {
        let state = self.node().replica.lock();
        let mut response = state.machine.range(request)?;
        response.header = self.node().header(state.machine.revision());
        Ok(response)
    }

    /// The member raft currently believes leads, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.node().leader()
    }
}
