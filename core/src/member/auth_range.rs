//! A linearizable range for an authenticated caller: its permission is checked by the member
//! that serves it, at a state no older than the read's linearization point.
//!
//! Checking on the member that received the read, before or after asking the leader, judges it
//! by that member's replica, which may be behind the leader's: a permission granted (and
//! acknowledged) before the read was called could deny it, and one revoked before it could
//! still allow it. So the leader checks it after its read index, against the state it serves
//! from, under the same lock. A follower forwards it to the leader in the range lane with its
//! caller (`peer::ForwardedRange`), and the leader serves it exactly as its own. A caller
//! resolved at an older auth revision than the one the check sees gets `AuthOldRevision`, as
//! every request does.

use super::route::LeaderRequest;
use super::Member;
use crate::api::{RangeRequest, RangeResponse};
use crate::auth::AuthInfo;
use crate::error::Result;
use crate::peer::ForwardedRange;

#[derive(Debug, Clone)]
pub(super) struct AuthorizedRange {
    pub info: AuthInfo,
    pub request: RangeRequest,
}

impl LeaderRequest for AuthorizedRange {
    type Answer = RangeResponse;

    async fn serve_on_leader(self, member: &Member) -> Result<RangeResponse> {
        let node = member.node();
        node.confirm_leadership().await?;
        let state = node.replica.lock();
        state.machine.auth().check_range(&self.info, &self.request)?;
        let mut response = state.machine.range(&self.request)?;
        response.header = node.header(state.machine.revision());
        Ok(response)
    }

    type Wire = ForwardedRange;

    fn into_wire(self) -> ForwardedRange {
        ForwardedRange { caller: Some(self.info), request: self.request }
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
}
