//! Proposals: the requests that go through the raft log (put, delete, txn, compact, lease grant
//! and revoke, alarms: etcd lists them through the log too), served on the leader and answered with what applying them answered.
//!
//! A txn goes through the log even when it only reads: its compares must see the latest state.
//! The leader proposes (`here`); a follower forwards the request (`Member::route`), and
//! answers with the leader's answer under its own header (`stamp`), as it answers every request.
//! Before proposing, the leader checks the backend quota (`quota`).
//!
//! Proposing needs nothing of a member but its raft, its config and its header: the functions
//! here take the shared `Node` handle, so every component that proposes (requests, the lease
//! countdown, the quota's alarm) takes the same path, and none of them reaches into another's state.

use super::node::Node;
use super::quota;
use super::request::MemberRequest;
use super::route::LeaderRequest;
use super::Member;
use crate::api::{
    CompactionRequest, DeleteRangeRequest, LeaseGrantRequest, LeaseRevokeRequest, PutRequest,
    TxnRequest,
};
use crate::apply::{AlarmRequest, Command, Proposal, Response};
use crate::client::outcome::Rpc;
use crate::error::{Error, Result};
use crate::invariant;
use crate::probes::{self, Probe};
use crate::runtime::DetRuntime;
use openraft::errors::{ClientWriteError, RaftError};
use openraft_rt::AsyncRuntime;

/// Proposes on this member; `NoLeader` when it is not the leader (nothing was appended).
pub(super) async fn here(node: &Node, command: Command) -> Result<Response> {
    if !node.is_running() {
        return Err(Error::Stopped);
    }
    quota::check(node, &command).await?;
    write(node, command).await
}

/// Appends `command` to the log and waits for its answer; `NoLeader` when this member does
/// not lead. The quota is the caller's to check (`here`).
pub(super) async fn write(node: &Node, command: Command) -> Result<Response> {
    let proposal = node.raft.client_write(command);
    let timeout = node.config.request_timeout;
    let written = match DetRuntime::timeout(timeout, proposal).await {
        Ok(written) => written,
        Err(_) => return Err(Error::Timeout),
    };
    match written {
        Ok(reply) => reply.data.map(|response| stamp(node, response)),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(Error::NoLeader),
        // Appended, then discarded from this log: another leader may still commit it.
        Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(_))) => {
            probes::hit(Probe::ProposalDiscarded);
            Err(Error::LeaderChanged)
        }
        // Raft stopped (a failed fsync, say) while the write was pending: it may already be
        // replicated, and the next leader may commit it. Only a member that had stopped before
        // the proposal can say nothing was appended (`Stopped`, above).
        Err(RaftError::Fatal(_)) => Err(Error::LeaderChanged),
        Err(RaftError::APIError(other)) => Err(Error::Internal(other.to_string())),
    }
}

/// Proposes `proposal` on this member and hands back its typed answer.
pub(super) async fn typed<P: Proposal>(node: &Node, proposal: P) -> Result<P::Applied> {
    let response = here(node, proposal.into_command()).await?;
    // This member's own state machine answered this member's own command.
    P::applied(response)
        .or_else(|other| invariant::violated(format_args!("applying a command answered {other:?}")))
}

/// Puts this member's identity and term into a response the state machine produced.
pub(super) fn stamp(node: &Node, mut response: Response) -> Response {
    let revision = response.header().revision;
    *response.header_mut() = node.header(revision);
    response
}

/// The typed answer to proposal `P`, which this member forwarded to the leader, in what applying
/// it there answered (`response`), under this member's header.
///
/// The leader applied the very command `P` became, and a state machine answers every command
/// with its own kind (`apply::proposal`); an answer of another kind can only come from a peer
/// that breaks the protocol (another version), so what it did is unknown (`Timeout`), as with a
/// batch lost on the wire. A peer's reply is never grounds for a panic.
pub(super) fn forwarded<P: Proposal>(member: &Member, response: Response) -> Result<P::Applied> {
    P::applied(member.stamp(response)).map_err(|_| {
        probes::hit(Probe::ForwardedBatchLost);
        Error::Timeout
    })
}

impl Member {
    /// Puts this member's identity and term into a response the state machine produced.
    pub(super) fn stamp(&self, response: Response) -> Response {
        stamp(self.node(), response)
    }
}

macro_rules! proposed {
    ($($request:ty => $rpc:expr,)*) => {$(
        impl MemberRequest for $request {
            type Answer = <$request as Proposal>::Applied;

            fn rpc(&self) -> Rpc<'_> {
                let rpc: fn(&$request) -> Rpc<'_> = $rpc;
                rpc(self)
            }

            async fn serve(self, member: &Member) -> Result<Self::Answer> {
                member.route(self).await
            }
        }

        impl LeaderRequest for $request {
            type Answer = <$request as Proposal>::Applied;

            async fn serve_on_leader(self, member: &Member) -> Result<Self::Answer> {
                typed(member.node(), self).await
            }

            type Wire = Command;

            fn into_wire(self) -> Command {
                self.into_command()
            }

            fn from_wire(response: Response, member: &Member) -> Result<Self::Answer> {
                forwarded::<$request>(member, response)
            }

            fn may_repeat(&self) -> bool {
                false
            }
        }
    )*};
}

proposed! {
    PutRequest => |_| Rpc::Put,
    DeleteRangeRequest => |_| Rpc::DeleteRange,
    TxnRequest => |txn| Rpc::Txn(txn),
    CompactionRequest => |_| Rpc::Compact,
    LeaseGrantRequest => |_| Rpc::LeaseGrant,
    LeaseRevokeRequest => |_| Rpc::LeaseRevoke,
    AlarmRequest => |alarm| Rpc::Alarm(alarm),
}
