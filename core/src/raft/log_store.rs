//! openraft's log storage on the write-ahead log.
//!
//! Raft's entries, vote and committed marker are encoded (postcard) into WAL records. The
//! durability contract openraft relies on is kept here: an append's `IOFlushed` callback fires only
//! after the WAL's fsync returned, and a vote is acknowledged only once synced (both checked
//! against the WAL's count of durable appends with `invariant!`). A failed fsync
//! poisons the WAL (see `storage::wal`), so every later call fails and the member must restart and
//! recover from what is really on disk — it never acknowledges bytes that may be gone.

use super::group_commit;
use super::types::*;
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use crate::runtime::DetRuntime;
use crate::storage::wal::{Entry as WalEntry, Purged, Wal};
use crate::storage::StorageError;
use bytes::Bytes;
use openraft::alias::LogIdOf;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft_rt::AsyncRuntime;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::Mutex;

/// The raft log of one member, backed by its WAL. Clones share the log.
#[derive(Debug, Clone)]
pub struct LogStore {
    wal: Arc<Mutex<Wal>>,
    /// Appends whose durability the group-commit task reports (see `raft::group_commit`), each
    /// with the WAL's append count once it was written.
    unsynced: UnboundedSender<group_commit::Waiting>,
}

impl LogStore {
    /// The log on `wal`; spawns its group-commit task, which ends with the last clone.
    pub fn new(wal: Wal) -> Self {
        let wal = Arc::new(Mutex::new(wal));
        let (unsynced, queued) = unbounded_channel();
        DetRuntime::spawn(group_commit::run(wal.clone(), queued));
        LogStore { wal, unsynced }
    }
}

fn encode<T: Serialize>(value: &T) -> io::Result<Bytes> {
    postcard::to_allocvec(value).map(Bytes::from).map_err(io::Error::other)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

pub(super) fn storage_error(error: StorageError) -> io::Error {
    io::Error::other(error.to_string())
}

/// Syncs the WAL before the caller returns to openraft, which takes the return as "durable".
async fn sync_inline(wal: &mut Wal) -> io::Result<()> {
    wal.sync().await.map_err(storage_error)?;
    crate::invariant!(
        wal.durable() == wal.appended(),
        "the log returns after a sync that left {} of {} appends not durable",
        wal.appended() - wal.durable(),
        wal.appended()
    );
    Ok(())
}

fn to_wal_entry(entry: &Entry) -> io::Result<WalEntry> {
    let log_id = entry.log_id;
    Ok(WalEntry {
        index: log_id.index(),
        term: log_id.committed_leader_id().term,
        payload: encode(entry)?,
    })
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let wal = self.wal.lock().await;
        wal.state().entries.range(range).map(|(_, entry)| decode(&entry.payload)).collect()
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        let wal = self.wal.lock().await;
        wal.state().vote.as_deref().map(decode).transpose()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let wal = self.wal.lock().await;
        let state = wal.state();
        let last_purged: Option<LogId> =
            state.purged.as_ref().map(|purged| decode(&purged.log_id)).transpose()?;
        let last_entry = state.entries.values().next_back();
        let last: Option<LogId> = match last_entry {
            Some(entry) => Some(decode::<Entry>(&entry.payload)?.log_id),
            None => last_purged,
        };
        Ok(LogState { last_purged_log_id: last_purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let mut wal = self.wal.lock().await;
        wal.save_vote(encode(vote)?).map_err(storage_error)?;
        sync_inline(&mut wal).await
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogIdOf<TypeConfig>>,
    ) -> Result<(), io::Error> {
        // Written, not synced: it becomes durable with the next append's fsync. openraft calls
        // this before every apply, and an fsync here blocked the raft core once more per round.
        // A stale marker after a crash only means replaying less at start-up: a restarted member
        // never leads without winning an election (`enable_leader_restore` is off, see
        // `member::config`), and the election teaches it the commit index. (With leader restore
        // on, a restarted leader took read indexes from a stale marker: `sweep bank`, seed 701.)
        let mut wal = self.wal.lock().await;
        let encoded = committed.as_ref().map(encode).transpose()?;
        wal.save_committed(encoded).map_err(storage_error)
    }

    async fn read_committed(&mut self) -> Result<Option<LogIdOf<TypeConfig>>, io::Error> {
        let wal = self.wal.lock().await;
        wal.state().committed.as_deref().map(decode).transpose()
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry>,
    {
        let records: Vec<WalEntry> =
            entries.into_iter().map(|e| to_wal_entry(&e)).collect::<io::Result<_>>()?;
        let mut wal = self.wal.lock().await;
        wal.append_entries(records).map_err(storage_error)?;
        if plant::active(Bug::AckBeforeDurable) {
            callback.io_completed(Ok(()));
            return Ok(());
        }
        // Queued while the WAL is still locked, so the sync that takes it began after this write.
        let waiting = (wal.appended(), callback);
        self.unsynced.send(waiting).map_err(|_| io::Error::other("the log's group commit ended"))
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let since = last_log_id.map_or(0, |log_id| log_id.index() + 1);
        let mut wal = self.wal.lock().await;
        wal.truncate(since).map_err(storage_error)?;
        sync_inline(&mut wal).await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let purged = Purged { index: log_id.index(), log_id: encode(&log_id)? };
        let mut wal = self.wal.lock().await;
        wal.purge(purged).map_err(storage_error)?;
        probes::hit(Probe::LogPurged);
        sync_inline(&mut wal).await
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use crate::storage::{Disk, SimDisk, SimDiskFaults, WalOptions};
    use openraft::entry::RaftEntry;
    use openraft_rt::Oneshot;
    use openraft_rt_tokio::TokioOneshot;
    use std::time::Duration;
    use tokio::sync::oneshot::{error::TryRecvError, Receiver};

    /// A disk whose fsyncs take 50 ms, and a log store on it.
    async fn slow_store(seed: u64) -> (SimDisk, Arc<dyn Disk>, LogStore) {
        let latency = Duration::from_millis(50);
        let sim = SimDisk::new(seed, SimDiskFaults::default());
        let disk: Arc<dyn Disk> = Arc::new(sim.clone());
        let store = LogStore::new(Wal::open(disk.clone(), WalOptions::default()).await.unwrap());
        sim.set_faults(SimDiskFaults {
            fsync_latency: latency..=latency,
            ..SimDiskFaults::default()
        });
        (sim, disk, store)
    }

    /// Appends a blank entry at `index`; the receiver hears what raft would be told of it.
    async fn append(store: &mut LogStore, index: u64) -> io::Result<Receiver<io::Result<()>>> {
        let (flushed, reported) = TokioOneshot::channel();
        let entry = Entry::new_blank(LogId::new_term_index(1, index));
        store.append([entry], IOFlushed::signal(flushed)).await.map(|()| reported)
    }

    async fn indexes_after_crash(sim: &SimDisk, disk: &Arc<dyn Disk>) -> Vec<u64> {
        sim.crash();
        let wal = Wal::open(disk.clone(), WalOptions::default()).await.unwrap();
        wal.state().entries.keys().copied().collect()
    }

    #[tokio::test]
    async fn an_append_returns_at_once_and_is_reported_only_once_durable() {
        let (sim, disk, mut store) = slow_store(1).await;
        let mut first = append(&mut store, 1).await.unwrap();
        let second = append(&mut store, 2).await.unwrap();
        // Both appends returned while the first fsync still sleeps: nothing is reported yet.
        assert!(matches!(first.try_recv(), Err(TryRecvError::Empty)));
        assert!(first.await.unwrap().is_ok());
        assert!(second.await.unwrap().is_ok());
        assert_eq!(indexes_after_crash(&sim, &disk).await, vec![1, 2]);
    }

    #[tokio::test]
    async fn a_failed_fsync_fails_the_appends_it_covered_and_every_later_one() {
        let (sim, disk, mut store) = slow_store(2).await;
        sim.set_faults(SimDiskFaults { fsync_error_probability: 1.0, ..SimDiskFaults::default() });
        let first = append(&mut store, 1).await.unwrap();
        assert!(first.await.unwrap().is_err(), "the failed fsync is reported to raft");
        assert!(append(&mut store, 2).await.is_err(), "the log is poisoned after it");
        sim.set_faults(SimDiskFaults::default());
        assert!(indexes_after_crash(&sim, &disk).await.is_empty());
    }
}
