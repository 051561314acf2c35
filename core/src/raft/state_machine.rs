//! openraft's state machine: the member's `Replica` (MVCC + leases + watchers), fed by the log.
//!
//! The replica is shared between openraft (which applies committed entries and installs
//! snapshots) and the member (which serves reads and watch streams from it), behind one
//! non-async mutex that is never held across an await. Every applied entry's events go straight
//! to the watcher hub, and waiting watch streams are woken.
//!
//! Durability: the state machine itself lives in memory. A snapshot is written to the member's
//! disk (atomically) before openraft is told it exists, so openraft only purges log entries that a
//! durable snapshot covers; after a restart the replica reloads the newest snapshot and openraft
//! re-applies the log after it. Applying is deterministic, so re-applying gives the same state.
//!
//! Invariant: the applied index never goes backwards. Entries are applied one after another, each
//! the next index after `last_applied`, and an installed snapshot is never older than what was
//! applied (openraft installs only snapshots past its commit index). Checked with `invariant!`.

use super::observer::{MemberEvent, MemberObserver};
use super::types::*;
use crate::apply::{ApplyCounters, Command, StateMachine};
use crate::buggify::{self, Site};
use crate::error::Error;
use crate::kv::{Event, KeyRange};
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use crate::runtime::DetRuntime;
use crate::storage::SnapshotFiles;
use crate::watch::{EventHistory, WatchConfig, WatchHub};
use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload as Payload, OptionalSend};
use openraft_rt::AsyncRuntime;
use serde::{Deserialize, Serialize};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Everything a member's replicated state consists of, plus the watchers reading it.
#[derive(Debug)]
pub struct ReplicaState {
    pub machine: StateMachine,
    pub hub: WatchHub,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    /// The newest snapshot (meta and bytes), as built or installed.
    pub snapshot: Option<(SnapshotMeta, Vec<u8>)>,
    /// Operations applied since this process started (metrics; a snapshot install keeps them).
    pub counters: ApplyCounters,
}

/// The state machine and its watchers, shared by openraft and the member.
#[derive(Debug)]
pub struct Replica {
    state: Mutex<ReplicaState>,
    /// Woken after every apply so watch streams and waiting readers look again.
    pub changed: tokio::sync::Notify,
    snapshots: SnapshotFiles,
}

/// A snapshot as it rests on disk and travels to peers.
#[derive(Serialize, Deserialize)]
struct SnapshotImage {
    meta: SnapshotMeta,
    /// `Bytes` is encoded as one byte string, a `Vec<u8>` byte by byte: the same postcard bytes
    /// either way, but tens of megabytes of history took ~10x longer to encode and decode.
    machine: Bytes,
}

impl Replica {
    /// The replica of a member whose snapshots live in `snapshots`, restored from the newest one.
    pub fn open(
        snapshots: SnapshotFiles,
        min_lease_ttl: i64,
        watch: WatchConfig,
    ) -> io::Result<Arc<Self>> {
        let mut state = ReplicaState {
            machine: StateMachine::with_min_ttl(min_lease_ttl),
            hub: WatchHub::new(watch),
            last_applied: None,
            membership: StoredMembership::default(),
            snapshot: None,
            counters: ApplyCounters::default(),
        };
        let latest = snapshots.load_latest().map_err(|e| io::Error::other(e.to_string()))?;
        if let Some((_, bytes)) = latest {
            let image: SnapshotImage = decode(&bytes)?;
            restore_into(&mut state, &image, bytes)?;
            probes::hit(Probe::RestartFromSnapshot);
            if state.machine.store().compact_revision() > 0 {
                probes::hit(Probe::RestartAfterCompaction);
            }
        }
        Ok(Arc::new(Replica {
            state: Mutex::new(state),
            changed: tokio::sync::Notify::new(),
            snapshots,
        }))
    }

    /// The replicated state, locked. Never hold the guard across an await.
    pub fn lock(&self) -> MutexGuard<'_, ReplicaState> {
        // A panic while holding the lock already failed the run; keep serving what is there.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A stable fingerprint of a command (FNV-1a over its encoding), to compare what members applied.
fn digest_of(command: &Command) -> u64 {
    let bytes = postcard::to_allocvec(command).unwrap_or_default();
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ *byte as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The index of a log id; `None` (nothing) sorts before every index.
fn index_of(log_id: Option<LogId>) -> Option<u64> {
    log_id.map(|log_id| log_id.index())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn restore_into(state: &mut ReplicaState, image: &SnapshotImage, bytes: Vec<u8>) -> io::Result<()> {
    state.machine = StateMachine::restore(&image.machine)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    state.last_applied = image.meta.last_log_id;
    state.membership = image.meta.last_membership.clone();
    state.snapshot = Some((image.meta.clone(), bytes));
    // Watchers may have missed revisions the snapshot jumped over: the hub catches them up from
    // the restored history (or cancels them as compacted).
    let ReplicaState { machine, hub, .. } = state;
    if plant::active(Bug::SnapshotWatchGap) {
        hub.assume_delivered(machine.revision());
    }
    hub.sync(&MachineHistory(machine));
    Ok(())
}

/// The state machine's history as the watcher hub reads it.
pub struct MachineHistory<'a>(pub &'a StateMachine);

impl EventHistory for MachineHistory<'_> {
    fn current_revision(&self) -> i64 {
        self.0.revision()
    }

    fn compact_revision(&self) -> i64 {
        self.0.store().compact_revision()
    }

    fn events(&self, range: &KeyRange, from: i64, to: i64) -> Result<Vec<Event>, Error> {
        self.0.events(range, from, to)
    }
}

/// openraft's handle on a replica.
#[derive(Debug, Clone)]
pub struct ReplicaStateMachine {
    pub replica: Arc<Replica>,
    pub member: NodeId,
    pub observer: Option<MemberObserver>,
}

impl ReplicaStateMachine {
    fn apply_entry(&self, entry: &Entry) -> CommandOutcome {
        let mut state = self.replica.lock();
        let index = entry.log_id.index();
        let previous = state.last_applied.map(|log_id| log_id.index());
        crate::invariant!(
            previous.is_none_or(|previous| index == previous + 1),
            "member {} applied log index {index} after {previous:?}: not the next one",
            self.member
        );
        state.last_applied = Some(entry.log_id);
        let command = match &entry.payload {
            Payload::Blank => Command::Noop,
            Payload::Normal(command) => command.clone(),
            Payload::Membership(membership) => {
                state.membership = StoredMembership::new(Some(entry.log_id), membership.clone());
                Command::Noop
            }
        };
        let (outcome, events) = state.machine.apply(index, &command);
        state.counters.count(&command, &outcome, &events);
        if let Some(observer) = &self.observer {
            let (term, digest) = (entry.log_id.committed_leader_id().term, digest_of(&command));
            let revision = state.machine.revision();
            (observer.0)(MemberEvent::Applied {
                member: self.member,
                index,
                term,
                digest,
                revision,
            });
        }
        if !events.is_empty() {
            state.hub.notify(&events);
        }
        if matches!(command.unwrapped(), Command::Compact(_)) {
            let ReplicaState { machine, hub, .. } = &mut *state;
            hub.sync(&MachineHistory(machine));
        }
        outcome
    }

    async fn save_image(&self, image: &SnapshotImage) -> io::Result<Vec<u8>> {
        let bytes = postcard::to_allocvec(image).map_err(io::Error::other)?;
        let id = image.meta.last_log_id.as_ref().map_or(0, |log_id| log_id.index());
        self.replica
            .snapshots
            .save(id, &bytes)
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(bytes)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for ReplicaStateMachine {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let image = {
            let state = self.replica.lock();
            let meta = SnapshotMeta {
                last_log_id: state.last_applied,
                last_membership: state.membership.clone(),
            };
            SnapshotImage { meta, machine: Bytes::from(state.machine.snapshot()) }
        };
        let bytes = self.save_image(&image).await?;
        self.replica.lock().snapshot = Some((image.meta.clone(), bytes.clone()));
        Ok(Snapshot { meta: image.meta, snapshot: std::io::Cursor::new(bytes) })
    }
}

impl RaftStateMachine<TypeConfig> for ReplicaStateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let state = self.replica.lock();
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        if buggify::fires(Site::ApplyDelay) {
            DetRuntime::sleep(Duration::from_millis(20)).await;
        }
        while let Some((entry, responder)) = entries.try_next().await? {
            let outcome = self.apply_entry(&entry);
            if let Some(responder) = responder {
                responder.send(outcome);
            }
        }
        self.replica.changed.notify_waiters();
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotData,
    ) -> Result<(), io::Error> {
        let bytes = snapshot.into_inner();
        let image: SnapshotImage = decode(&bytes)?;
        if image.meta.last_log_id != meta.last_log_id {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "snapshot meta does not match its data",
            ));
        }
        self.save_image(&image).await?;
        let mut state = self.replica.lock();
        let (applied, installed) = (index_of(state.last_applied), index_of(meta.last_log_id));
        crate::invariant!(
            installed >= applied,
            "member {} installed a snapshot up to {installed:?} over its applied {applied:?}",
            self.member
        );
        probes::hit(Probe::SnapshotInstalled);
        if state.hub.watcher_count() > 0 {
            probes::hit(Probe::SnapshotInstalledUnderWatchers);
        }
        restore_into(&mut state, &image, bytes)?;
        drop(state);
        self.replica.changed.notify_waiters();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let state = self.replica.lock();
        Ok(state.snapshot.as_ref().map(|(meta, bytes)| Snapshot {
            meta: meta.clone(),
            snapshot: std::io::Cursor::new(bytes.clone()),
        }))
    }
}
