//! Serving peers' calls: raft's RPCs go to this member's raft, forwarded batches to `forward`.
//!
//! Each kind of peer call (`peer::PeerCall`) is served by its own impl of [`PeerServed`] and
//! answered with its own reply type, so a transport hands back exactly what the caller's
//! `PeerConnection` or `Forwarder` expects. Every reply carries the outsider notice (`removal`)
//! when this member's applied membership does not name the sender, computed before the call is
//! served.
//!
//! Invariant: raft's errors travel as text (the sender only learns "that peer could not help"),
//! and a member that saw the sender leave serves nothing it forwards (`Stopped` for each request).

use super::forward::ForwardServed;
use super::removal::Removal;
use super::Member;
use crate::api::{LeaseKeepAliveRequest, LeaseLeasesRequest, LeaseTimeToLiveRequest};
use crate::apply::Command;
use crate::error::Error;
use crate::peer::ReadIndex;
use crate::peer::{AppendEntries, Forward, InstallSnapshot, PreVote, RequestVote, TransferLeader};
use crate::peer::{ForwardReply, ForwardedRange, MembershipChange, Noticed, PeerCall, RaftReply};
use crate::raft::types::Snapshot;
use std::future::Future;

/// A peer call a member serves.
pub trait PeerServed: PeerCall {
    /// Serves the call on `member` (without the outsider notice: `Member::serve_peer` adds it).
    fn serve(self, member: &Member) -> impl Future<Output = Self::Reply> + Send;
}

impl Member {
    /// Serves one call from a peer.
    pub async fn serve_peer<C: PeerServed>(&self, call: C) -> Noticed<C::Reply> {
        let outsider = Removal::outsider_notice(self.node(), call.sender());
        let reply = call.serve(self).await;
        Noticed { outsider, reply }
    }
}

fn as_text<T, E: ToString>(result: Result<T, E>) -> RaftReply<T> {
    result.map_err(|e| e.to_string())
}

impl PeerServed for AppendEntries {
    async fn serve(self, member: &Member) -> Self::Reply {
        as_text(member.node().raft.append_entries(self.0).await)
    }
}

impl PeerServed for RequestVote {
    async fn serve(self, member: &Member) -> Self::Reply {
        as_text(member.node().raft.vote(self.0).await)
    }
}

impl PeerServed for PreVote {
    async fn serve(self, member: &Member) -> Self::Reply {
        as_text(member.node().raft.pre_vote(self.0).await)
    }
}

impl PeerServed for TransferLeader {
    async fn serve(self, member: &Member) -> Self::Reply {
        as_text(member.node().raft.handle_transfer_leader(self.0).await)
    }
}

impl PeerServed for InstallSnapshot {
    async fn serve(self, member: &Member) -> Self::Reply {
        let snapshot = Snapshot { meta: self.meta, snapshot: std::io::Cursor::new(self.data) };
        as_text(member.node().raft.install_full_snapshot(self.vote, snapshot).await)
    }
}

/// Every kind of forwarded batch (`Forward<R>`) is served by the same batch server.
macro_rules! forwarded_batches {
    ($($request:ty,)*) => {$(
        impl PeerServed for Forward<$request> {
            async fn serve(self, member: &Member) -> Self::Reply {
                serve_batch(member, self).await
            }
        }
    )*};
}

forwarded_batches! {
    Command,
    ForwardedRange,
    LeaseKeepAliveRequest,
    LeaseTimeToLiveRequest,
    LeaseLeasesRequest,
    MembershipChange,
    ReadIndex,
}

async fn serve_batch<R: ForwardServed>(member: &Member, batch: Forward<R>) -> ForwardReply<R> {
    // A member that left is told so (the outsider notice), and nothing it forwards is served.
    if member.inner.removal.has_left(batch.from) {
        return batch.requests.iter().map(|_| Err(Error::Stopped)).collect();
    }
    member.serve_forwarded_batch(batch.from, batch.requests).await
}
