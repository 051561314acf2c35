//! The peer protocol's requests: what a follower forwards to the leader, and what comes back.
//! The shapes are internal to detcd (both the server's peer transport and the simulator's carry
//! them as values), not part of etcd's wire format; `member` serves them (`member::forward`).
//!
//! Each kind of forwarded request is [`Forwarded`] and names its own answer type: a batch holds
//! requests of one kind only (`message::Forward<R>`), and is answered with one `Result` of that
//! kind's answer per request, so no answer of another kind can come back and nobody unpacks an
//! enum of answers. Proposals travel as the log's `Command` and come back as what applying it
//! answered (`Response`), which the proposer reads with `apply::Proposal::applied`, exactly as a
//! leader reads its own.

use crate::api::{
    LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, RangeRequest, RangeResponse,
};
use crate::apply::{Command, Response};
use crate::auth::AuthInfo;
use crate::error::Error;
use crate::raft::types::{MemberInfo, NodeId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// A kind of request a follower forwards to the leader, and what the leader answers it with.
pub trait Forwarded: Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The leader's answer to one request of this kind.
    type Answer: Debug + Serialize + DeserializeOwned + Send + Sync + 'static;
}

/// The leader's answers to a batch of requests of kind `R`, one per request, in order.
pub type ForwardReply<R> = Vec<Result<<R as Forwarded>::Answer, Error>>;

/// A proposal (a write, a txn, a range through the log): appended and applied by the leader.
impl Forwarded for Command {
    type Answer = Response;
}

/// A linearizable range, and the caller the leader checks it for: `None` when nobody is to be
/// checked (auth is off, or the member reads for itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForwardedRange {
    pub caller: Option<AuthInfo>,
    pub request: RangeRequest,
}

/// A linearizable range: checked (when it has a caller) and served by the leader after a read
/// index.
impl Forwarded for ForwardedRange {
    type Answer = RangeResponse;
}

impl Forwarded for LeaseKeepAliveRequest {
    type Answer = LeaseKeepAliveResponse;
}

impl Forwarded for LeaseTimeToLiveRequest {
    type Answer = LeaseTimeToLiveResponse;
}

impl Forwarded for LeaseLeasesRequest {
    type Answer = LeaseLeasesResponse;
}

/// A read index (etcd's `linearizableReadNotify`): the leader confirms it still leads and
/// answers the log index a read that started before this request must see applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadIndex;

impl Forwarded for ReadIndex {
    type Answer = u64;
}

/// A membership change: made by the leader, answered with nothing but success.
impl Forwarded for MembershipChange {
    type Answer = ();
}

/// One change to the cluster's membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    /// A member that will start later (`member add`), as a learner or a voter.
    Admit {
        id: NodeId,
        info: MemberInfo,
        is_learner: bool,
    },
    Remove {
        id: NodeId,
    },
    Promote {
        id: NodeId,
    },
    /// New peer URLs for an existing member (`member update`).
    UpdatePeerUrls {
        id: NodeId,
        peer_urls: Vec<String>,
    },
    /// A started member's own name and client URLs (see `publish`).
    Publish {
        id: NodeId,
        name: String,
        client_urls: Vec<String>,
    },
}
