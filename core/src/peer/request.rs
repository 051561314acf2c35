//! The peer protocol's requests: what a follower forwards to the leader, and what comes back.
//! The shapes are internal to detcd (both the server's peer transport and the simulator's carry
//! them as values), not part of etcd's wire format; `member` serves them (`member::forward`).

use crate::api::{
    LeaseKeepAliveResponse, LeaseLeasesResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
    RangeRequest, RangeResponse,
};
use crate::apply::{Command, Response};
use crate::error::Error;
use crate::kv::LeaseId;
use crate::raft::types::{MemberInfo, NodeId};
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
