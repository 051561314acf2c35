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
//! `Member` is a façade: `Member::call` is the one entry point for unary client requests, and the
//! behaviour lives in components, each owning its own state and given only the handles it needs:
//! - `node`: the handle every component shares (config, raft, replica; id, leader, headers, the
//!   read index); it owns no behaviour;
//! - routing and forwarding: `route` (serve here or forward to the leader), `forward_queue`
//!   (`Forwarder`: a lane per kind of forwarded request, the transport, batches), `forward` (the
//!   leader serving forwarded requests), `propose` and `quota` (the log's write path, functions of `Node`);
//!   `serve_peer` (each kind of peer call, raft's included, served with its own reply type);
//! - lease expiry: `lease` (`Leases`: the leader's deadlines; the countdown task);
//! - watches: `watch` (streams over the replica's hub; the sync task);
//! - membership: `membership` (`Membership`), with `admit`, `one_change`, `publish`, `cluster`,
//!   `move_leader`; and `removal` (`Removal`: what this member knows of removals);
//! - life: `ready` (`Readiness`), `catch_up`, `restore`, `archive`, and the probes etcd's
//!   `/livez` and `/readyz` answer (`health`);
//! - the API's other rooms: `kv`, `auth` (with `token_ttl`), `lock_election`, `local_client`,
//!   `downgrade` (etcd 3.5's Downgrade), `range_stream` (etcd 3.7's RangeStream);
//! - `read_index`: etcd's `linearizableReadNotify` from any member (a read index through the
//!   leader, then waiting to apply that far), for reads of state outside the key space
//!   (`MemberList{linearizable}`, Downgrade's checks).
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
mod downgrade;
mod forward;
mod forward_queue;
mod health;
mod kv;
mod lease;
mod local_client;
mod lock_election;
mod membership;
mod move_leader;
mod node;
mod one_change;
mod propose;
mod publish;
mod quota;
pub mod range_stream;
mod read_index;
mod ready;
mod removal;
mod request;
pub mod restore;
mod route;
mod serve_peer;
mod token_ttl;
mod watch;

pub use crate::peer::MembershipChange;
pub use auth::CallerRequest;
pub use cluster::{MemberStatus, MemberSummary};
pub use config::{MemberConfig, MemberEvent, MemberObserver};
pub use health::{all_passed, CheckOutcome, HealthProbe};
pub use local_client::{LocalClient, LocalWatcher};
pub use lock_election::LeaderKey;
pub use move_leader::MoveLeaderRequest;
pub use quota::DEFAULT_QUOTA_BYTES;
pub use range_stream::{RangeChunk, RangeStreamRequest};
pub use request::{HashKvRequest, MemberListRequest, MemberRequest, StatusRequest};
pub use serve_peer::PeerServed;
pub use watch::WatchStream;

use crate::kv::ResponseHeader;
use crate::peer::{Network, PeerTransport};
use crate::raft::log_store::LogStore;
use crate::raft::state_machine::{Replica, ReplicaStateMachine};
use crate::raft::types::*;
use crate::storage::wal::{Wal, WalOptions};
use crate::storage::{Disk, SnapshotFiles};
use forward_queue::Forwarder;
use node::Node;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

/// One running member. Cheap to clone; clones share the member.
#[derive(Clone)]
pub struct Member {
    inner: Arc<Inner>,
}

struct Inner {
    /// Config, raft and replica: what every component shares (`node`).
    node: Node,
    /// Membership changes and answers about the membership (`membership`).
    membership: membership::Membership,
    /// Leader-local lease deadlines (`lease`).
    leases: lease::Leases,
    /// Requests waiting to be forwarded to the leader, and the transport they go over.
    forwarder: Forwarder,
    /// Set once, when start-up is done and clients may be served (`ready`).
    ready: ready::Readiness,
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
        let node = Node { config: Arc::new(config), raft, replica };
        let inner = Inner {
            membership: membership::Membership { node: node.clone() },
            node,
            leases: lease::Leases::new(),
            forwarder: Forwarder::new(transport),
            ready: ready::Readiness::new(),
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
        if self.node().raft.is_initialized().await.map_err(io::Error::other)? {
            return Ok(());
        }
        match self.node().raft.initialize(members).await {
            Ok(()) => Ok(()),
            Err(error) => Err(io::Error::other(error.to_string())),
        }
    }

    pub fn id(&self) -> NodeId {
        self.node().id()
    }

    pub fn raft(&self) -> &Raft {
        &self.node().raft
    }

    pub fn replica(&self) -> &Arc<Replica> {
        &self.node().replica
    }

    pub fn config(&self) -> &MemberConfig {
        &self.node().config
    }

    /// The handle every component shares.
    fn node(&self) -> &Node {
        &self.inner.node
    }

    /// Stops raft; the member's tasks end. Its disk stays as it is.
    pub async fn shutdown(&self) {
        let _ = self.node().raft.shutdown().await;
    }

    /// A copy of raft's current metrics (leader, term, indexes, membership).
    pub fn metrics(&self) -> RaftMetrics {
        self.node().with_metrics(RaftMetrics::clone)
    }

    /// The header of an answer that is about this member now rather than about a request
    /// (status, alarms, an election's leader): its current revision. Both transports take every
    /// header from here or from a component's own answers (`Node::header`).
    pub fn header_now(&self) -> ResponseHeader {
        self.node().header_now()
    }

    /// The Cluster service's header: like etcd's, it names cluster, member and term but no
    /// revision (membership is not part of the key space).
    pub fn cluster_header(&self) -> ResponseHeader {
        self.node().header(0)
    }

    fn spawn_background(&self) {
        let member = self.clone();
        madsim::task::spawn(async move { member.run_lease_expiry().await });
        let node = self.node().clone();
        madsim::task::spawn(async move { watch::run_sync(&node).await });
        let member = self.clone();
        madsim::task::spawn(async move { member.run_forwarding().await });
        let (removal, node) = (self.inner.removal.clone(), self.node().clone());
        madsim::task::spawn(async move { removal.run(&node).await });
    }
}
