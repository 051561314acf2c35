//! A member's settings: identity, raft timings, lease minimum, watch limits, backend quota.

use crate::raft::types::NodeId;
use crate::watch::WatchConfig;
use std::io;
use std::time::Duration;

pub use crate::raft::observer::{MemberEvent, MemberObserver};

#[derive(Debug, Clone)]
pub struct MemberConfig {
    pub id: NodeId,
    pub name: String,
    pub cluster_id: u64,
    /// etcd's `--heartbeat-interval` (default 100 ms).
    pub heartbeat: Duration,
    /// etcd's `--election-timeout` (default 1000 ms); raft draws each timeout from [e, 2e).
    pub election_timeout: Duration,
    /// Build a snapshot (and let the log be purged) after this many applied entries.
    pub snapshot_entries: u64,
    /// Entries kept in the log behind a snapshot, for followers that lag a little.
    pub snapshot_catchup_entries: u64,
    /// The WAL rolls to a new segment file once the active one reaches this many bytes.
    pub wal_segment_size: u64,
    /// Smallest lease TTL in seconds; etcd derives it from the election timeout.
    pub min_lease_ttl: i64,
    /// How long a forwarded request or a proposal may take before the caller is told `Timeout`.
    pub request_timeout: Duration,
    pub watch: WatchConfig,
    /// How often `progress_notify` watchers hear the current revision (etcd: 10 minutes).
    pub progress_notify_interval: Duration,
    /// etcd's `--quota-backend-bytes`: writes that would take the backend size (`mvcc::size`)
    /// to this many bytes raise NOSPACE (`member::quota`); `None` = no quota.
    pub quota_backend_bytes: Option<u64>,
    /// Token TTL and bcrypt cost (etcd's `--auth-token-ttl`, `--bcrypt-cost`).
    pub auth: crate::auth::AuthConfig,
    /// Told about every applied entry (the simulator's invariant checks); none in production.
    pub observer: Option<MemberObserver>,
}

impl MemberConfig {
    /// etcd's defaults for a member with this id and name.
    pub fn new(id: NodeId, name: impl Into<String>) -> Self {
        MemberConfig {
            id,
            name: name.into(),
            cluster_id: 0x1000,
            heartbeat: Duration::from_millis(100),
            election_timeout: Duration::from_millis(1000),
            snapshot_entries: 10_000,
            snapshot_catchup_entries: 5_000,
            wal_segment_size: crate::storage::WalOptions::default().segment_size,
            min_lease_ttl: 2,
            request_timeout: Duration::from_secs(5),
            watch: WatchConfig::default(),
            progress_notify_interval: Duration::from_secs(600),
            quota_backend_bytes: Some(super::quota::DEFAULT_QUOTA_BYTES),
            auth: crate::auth::AuthConfig::default(),
            observer: None,
        }
    }

    pub(super) fn raft_config(&self) -> io::Result<openraft::Config> {
        let election = self.election_timeout.as_millis() as u64;
        let config = openraft::Config {
            cluster_name: format!("detcd-{:x}", self.cluster_id),
            heartbeat_interval: self.heartbeat.as_millis() as u64,
            election_timeout_min: election,
            election_timeout_max: election * 2,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_entries),
            max_in_snapshot_log_to_keep: self.snapshot_catchup_entries,
            // Standard raft: a restarted leader wins an election before it leads again, and learns
            // the commit index from it. Restored as leader of its old term, it took read indexes
            // from its persisted commit marker, which then had to be fsynced on every commit
            // (`raft::log_store::save_committed`).
            enable_leader_restore: Some(false),
            // Appends return before their fsync (`raft::group_commit`): replicate them at once, so
            // the leader's fsync overlaps the followers' instead of preceding it.
            broadcast_submitted_on_append: Some(true),
            ..openraft::Config::default()
        };
        config.validate().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }
}
