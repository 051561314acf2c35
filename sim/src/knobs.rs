//! Knobs: settings of the cluster that a seed may draw, so that sweeps reach the rare paths.
//!
//! etcd's defaults are right for production and wrong for a ten-second simulated run: a snapshot
//! every 10,000 entries and 64 MiB WAL segments mean that no follower ever installs a snapshot,
//! no log is purged and no segment rolls; an fsync that takes no virtual time leaves no window
//! between acknowledging and syncing; a 1,024-event watch outbox never fills. [`Knobs::draw`]
//! picks values at which those paths run within a run's length, and [`Knobs::etcd`] keeps the
//! production values for runs that want them.
//!
//! Knobs are plain data (serde), part of a replay plan like the fault plan, so a run replays from
//! its plan file alone and the shrinker keeps them. They change nothing outside the simulator.

use detcd_core::member::MemberConfig;
use detcd_core::storage::SimDiskFaults;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// Build a snapshot (and let the log be purged) after this many applied entries.
    pub snapshot_entries: u64,
    /// Entries kept in the log behind a snapshot; fewer means lagging followers need a snapshot.
    pub snapshot_keep_entries: u64,
    /// WAL segments roll at this many bytes.
    pub wal_segment_bytes: u64,
    /// Every fsync of every member's disk takes up to this long (drawn per fsync).
    pub fsync_latency_ms: u64,
    /// Events a watch stream's outbox holds before its watchers fall back to history.
    pub watch_outbox_events: usize,
    /// Clients start on different members (client `i` on the `i`-th) and are pinned to them
    /// (they stay after a timeout), so a partitioned leader keeps its clients.
    #[serde(default)]
    pub spread_clients: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs::etcd()
    }
}

impl Knobs {
    /// etcd's own settings (and a disk whose fsync takes no time).
    pub fn etcd() -> Knobs {
        Knobs {
            snapshot_entries: 10_000,
            snapshot_keep_entries: 5_000,
            wal_segment_bytes: 64 * 1024 * 1024,
            fsync_latency_ms: 0,
            watch_outbox_events: 1024,
            spread_clients: false,
        }
    }

    /// Values drawn so that snapshots, purges, segment rolls, slow fsyncs and full outboxes
    /// happen within a run of a few hundred operations, each on some seeds and not others.
    pub fn draw(rng: &mut ChaCha8Rng) -> Knobs {
        let etcd = Knobs::etcd();
        let snapshot_entries = [20, 50, 100, 200, 10_000][rng.gen_range(0..5)];
        Knobs {
            snapshot_entries,
            snapshot_keep_entries: [0, 5, 20][rng.gen_range(0..3)].min(snapshot_entries),
            wal_segment_bytes: if rng.gen_bool(0.5) {
                rng.gen_range(4 * 1024..64 * 1024)
            } else {
                etcd.wal_segment_bytes
            },
            fsync_latency_ms: [0, 1, 5, 20][rng.gen_range(0..4)],
            watch_outbox_events: if rng.gen_bool(0.5) { rng.gen_range(4..64) } else { 1024 },
            spread_clients: rng.gen_bool(0.8),
        }
    }

    /// Sets a member's configuration from the knobs.
    pub fn configure(&self, config: &mut MemberConfig) {
        config.snapshot_entries = self.snapshot_entries;
        config.snapshot_catchup_entries = self.snapshot_keep_entries;
        config.wal_segment_size = self.wal_segment_bytes;
        config.watch.max_pending_events = self.watch_outbox_events;
    }

    /// The disk every member has when no disk fault is on.
    pub fn disk(&self) -> SimDiskFaults {
        SimDiskFaults {
            fsync_latency: Duration::ZERO..=Duration::from_millis(self.fsync_latency_ms),
            ..SimDiskFaults::default()
        }
    }

    /// The knobs' one-line description for summaries.
    pub fn describe(&self) -> String {
        format!(
            "snapshot every {} (keep {}), wal segment {} KiB, fsync <= {} ms, watch outbox {}{}",
            self.snapshot_entries,
            self.snapshot_keep_entries,
            self.wal_segment_bytes / 1024,
            self.fsync_latency_ms,
            self.watch_outbox_events,
            if self.spread_clients { ", clients spread and pinned" } else { "" }
        )
    }
}
