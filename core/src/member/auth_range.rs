//! A linearizable range for an authenticated caller: its permission is checked by the member
//! that serves it, at a state no older than the read's linearization point.
//!
//! Checking on the member that received the read, before or after asking the leader, judges it
//! by that member's replica, which may be behind the leader's: a permission granted (and
//! acknowledged) before the read was called could deny it, and one revoked before it could
//! still allow it. So the leader checks it after its read index, against the state it serves
//! from, under the same lock; a follower sends it to the leader through the log
//! (`Command::As(info, Range)`), where apply checks it at its place in the log (the peer
//! protocol's plain range carries no caller). A caller resolved at an older auth revision than
//! the one the check sees gets `AuthOldRevision`, as every request does.

use super::auth::Authorized;
use super::route::LeaderRequest;
use super::Member;
use crate::api::{RangeRequest, RangeResponse};
use crate::apply::{Command, Proposal, Response};
use crate::auth::AuthInfo;
use crate::error::Result;

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

    type Wire = Command;

    fn into_wire(self) -> Command {
        Authorized { info: Some(self.info), request: self.request }.into_command()
    }

    fn from_wire(response: Response, member: &Member) -> Result<RangeResponse> {
        super::propose::forwarded::<RangeRequest>(member, response)
    }

    fn may_repeat(&self) -> bool {
        true
    }

    fn waits_for_next_leader(&self) -> bool {
        true
    }
}
