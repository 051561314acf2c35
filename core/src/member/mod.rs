//! A member: one node of a detcd cluster, serving the etcd API over the replicated core.
//!
//! Everything a member does with a client request lives here, transport-agnostic: a write is
//! proposed to raft (a follower forwards it to the leader), a linearizable read waits for a read
//! index on the leader, a serializable read is served from the local replica, watch streams are fed
//! from the replica's watcher hub, leases are counted down by the leader on its own `Clock`. The
//! server's gRPC layer and the simulator's network only carry these calls. So does a member's
//! start-up: `Member::start` recovers its disk, `Member::until_ready` (`ready`) catches up with the
//! cluster and publishes the member's client URLs through raft, and only then do transports let
//! clients in.
//!
//! Invariants: a response never claims an outcome the member does not know (a forward or a
//! proposal that may still commit ends in `Timeout` or `LeaderChanged`, which clients must treat as
//! "unknown"); response headers carry this member's id and the term it served in; nothing here
//! reads the wall clock (time comes from `runtime::NodeClock`).

mod admit;
pub mod archive;
pub mod auth;
mod auth_range;
mod catch_up;
mod cluster;
mod config;
mod forward;
mod forward_queue;
mod kv;
mod lease;
mod local_client;
mod lock_election;
mod membership;
mod move_leader;
mod one_change;
mod propose;
mod publish;
mod quota;
mod ready;
mod removal;
mod request;
pub mod restore;
mod route;
mod token_ttl;
mod watch;

pub use crate::peer::MembershipChange;
pub use crate::peer::{PeerAnswer, PeerRequest, PeerResponse};
pub use auth::CallerRequest;
pub use cluster::{MemberStatus, MemberSummary};
pub use config::{MemberConfig, MemberEvent, MemberObserver};
pub use local_client::{LocalClient, LocalWatcher};
pub use lock_election::LeaderKey;
pub use move_leader::MoveLeaderRequest;
pub use quota::DEFAULT_QUOTA_BYTES;
pub use request::{HashKvRequest, MemberListRequest, MemberRequest, StatusRequest};
pub use route::LeaderRequest;
pub use watch::WatchStream;

use crate::error::Error;
use crate::kv::ResponseHeader;
use crate::lease::ExpiryTracker;
use crate::peer::{Network, PeerMessage, PeerReply, PeerTransport};
use crate::raft::log_store::LogStore;
use crate::raft::state_machine::{Replica, ReplicaStateMachine};
use crate::raft::types::*;
use crate::storage::wal::{Wal, WalOptions};
use crate::storage::{Disk, SnapshotFiles};
use forward_queue::ForwardQueue;
use openraft_rt::WatchReceiver;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

/// One running member. Cheap to clone; clones share the member.
#[derive(Clone)]
pub struct Member {
    inner: Arc<Inner>,
}

struct Inner {
    config: MemberConfig,
    raft: Raft,
    replica: Arc<Replica>,
    transport: Arc<dyn PeerTransport>,
    /// Leader-local lease deadlines; empty (and ignored) while this member is not the leader.
    expiry: Mutex<ExpiryTracker>,
    /// Requests waiting to be forwarded to the leader.
    forward_queue: ForwardQueue,
    /// Set once, when start-up is done and clients may be served (`ready`).
    ready: tokio::sync::watch::Sender<bool>,
    /// Whether this member knows it was removed from the cluster (`removal`).
    removal: Arc<removal::Removal>,
    /// When each simple token was last used here (`token_ttl`).
    tokens: Mutex<token_ttl::TokenClock>,
}

impl Member {
    /// Starts a member on `disk`: recovers its WAL and newest snapshot (refusing to start if the
    /// WAL is damaged before its tail), then joins raft.
    pub async fn start(
        config: MemberConfig,
        disk: Arc<dyn Disk>,
        transport: Arc<dyn PeerTransport>,
    ) -> io::Result<Member> {
        let wal = Wal::open(
            disk.clone(),
            WalOptions { dir: "wal".into(), segment_size: config.wal_segment_size },
        )
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
        let snapshots = SnapshotFiles::new(disk, "snap", 2);
        let replica = Replica::open(snapshots, config.min_lease_ttl, config.watch.clone())?;
        let state_machine = ReplicaStateMachine {
            replica: replica.clone(),
            member: config.id,
            observer: config.observer.clone(),
        };
        let raft_config = Arc::new(config.raft_config()?);
        let removal = Arc::new(removal::Removal::default());
        let network =
            Network::new(transport.clone(), removal.on_left_out(config.id, replica.clone()));
        let raft = Raft::new(config.id, raft_config, network, LogStore::new(wal), state_machine)
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        let inner = Inner {
            config,
            raft,
            replica,
            transport,
            expiry: Mutex::new(ExpiryTracker::new()),
            forward_queue: ForwardQueue::default(),
            ready: tokio::sync::watch::Sender::new(false),
            removal,
            tokens: Mutex::new(token_ttl::TokenClock::default()),
        };
        let member = Member { inner: Arc::new(inner) };
        member.spawn_background();
        Ok(member)
    }

    /// Makes these members the cluster's first voters. Call on one member of a new cluster only;
    /// a cluster that already has a membership ignores it.
    pub async fn bootstrap(&self, members: BTreeMap<NodeId, MemberInfo>) -> io::Result<()> {
        if self.inner.raft.is_initialized().await.map_err(io::Error::other)? {
            return Ok(());
        }
        match self.inner.raft.initialize(members).await {
            Ok(()) => Ok(()),
            Err(error) => Err(io::Error::other(error.to_string())),
        }
    }

    pub fn id(&self) -> NodeId {
        self.inner.config.id
    }

    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    pub fn replica(&self) -> &Arc<Replica> {
        &self.inner.replica
    }

    pub fn config(&self) -> &MemberConfig {
        &self.inner.config
    }

    /// Stops raft; the member's tasks end. Its disk stays as it is.
    pub async fn shutdown(&self) {
        let _ = self.inner.raft.shutdown().await;
    }

    /// A copy of raft's current metrics (leader, term, indexes, membership).
    pub fn metrics(&self) -> RaftMetrics {
        self.with_metrics(RaftMetrics::clone)
    }

    fn with_metrics<T>(&self, read: impl FnOnce(&RaftMetrics) -> T) -> T {
        let receiver = self.inner.raft.metrics();
        let metrics = receiver.borrow_watched();
        read(&metrics)
    }

    /// The header of an answer that is about this member now rather than about a request
    /// (status, alarms, an election's leader): its current revision. Both transports take every
    /// header from here or from `header`.
    pub fn header_now(&self) -> ResponseHeader {
        let revision = self.inner.replica.lock().machine.revision();
        self.header(revision)
    }

    /// The Cluster service's header: like etcd's, it names cluster, member and term but no
    /// revision (membership is not part of the key space).
    pub fn cluster_header(&self) -> ResponseHeader {
        self.header(0)
    }

    /// A response header for something served now at `revision`.
    fn header(&self, revision: i64) -> ResponseHeader {
        let term = self.with_metrics(|m| m.current_term);
        ResponseHeader {
            cluster_id: self.inner.config.cluster_id,
            member_id: self.inner.config.id,
            revision,
            raft_term: term,
        }
    }

    /// Serves one message from a peer.
    pub async fn handle_peer(&self, message: PeerMessage) -> PeerReply {
        let notice = self.outsider_notice(message.sender());
        let reply = self.answer_peer(message).await;
        match notice {
            Some(membership_at) => PeerReply::ToOutsider { membership_at, reply: Box::new(reply) },
            None => reply,
        }
    }

    async fn answer_peer(&self, message: PeerMessage) -> PeerReply {
        let raft = &self.inner.raft;
        match message {
            PeerMessage::AppendEntries(rpc) => {
                PeerReply::AppendEntries(raft.append_entries(rpc).await.map_err(|e| e.to_string()))
            }
            PeerMessage::Vote(rpc) => {
                PeerReply::Vote(raft.vote(rpc).await.map_err(|e| e.to_string()))
            }
            PeerMessage::PreVote(rpc) => {
                PeerReply::Vote(raft.pre_vote(rpc).await.map_err(|e| e.to_string()))
            }
            PeerMessage::TransferLeader(rpc) => {
                let handled = raft.handle_transfer_leader(rpc).await;
                PeerReply::TransferLeader(handled.map_err(|e| e.to_string()))
            }
            PeerMessage::Snapshot { vote, meta, data } => {
                let snapshot = Snapshot { meta, snapshot: std::io::Cursor::new(data) };
                let installed = raft.install_full_snapshot(vote, snapshot).await;
                PeerReply::Snapshot(installed.map_err(|e| e.to_string()))
            }
            // A member that left is told so (`ToOutsider`), and nothing it forwards is served.
            PeerMessage::Forward { from, requests } if self.has_left(from) => {
                PeerReply::Forward(vec![Err(Error::Stopped); requests.len()])
            }
            PeerMessage::Forward { from, requests } => {
                PeerReply::Forward(self.serve_forwarded_batch(from, requests).await)
            }
        }
    }

    fn spawn_background(&self) {
        let member = self.clone();
        madsim::task::spawn(async move { member.run_lease_expiry().await });
        let member = self.clone();
        madsim::task::spawn(async move { member.run_watch_sync().await });
        let member = self.clone();
        madsim::task::spawn(async move { member.run_forwarding().await });
        let member = self.clone();
        madsim::task::spawn(async move { member.run_removal_watch().await });
    }
}
