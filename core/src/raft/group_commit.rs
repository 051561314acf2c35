//! Group commit: appends return at once; one task per log fsyncs for all of them.
//!
//! openraft asks `append` to return as soon as the entries are readable and to report durability
//! through the `IOFlushed` callback later. Syncing inline kept the raft core waiting on the disk
//! for every batch: nothing was replicated, committed or applied during a leader's fsync, so a
//! write's latency was the leader's fsync *then* a follower's fsync, and the core took the next
//! batch only after that. Now an append writes its records (page cache) and queues its callback
//! here; this task takes every queued callback, fsyncs the WAL once without holding it (appends go
//! on meanwhile), and fires the callbacks in order. The leader's fsync overlaps replication.
//!
//! Invariants: a callback fires `Ok` only after an fsync that began after its records were written
//! (callbacks are queued under the WAL lock, after the write, and taken before the sync begins);
//! callbacks fire in append order; a failed fsync poisons the WAL and fails every callback it
//! covered, and every later one (see `storage::wal`). The task ends when the log store is dropped.

use super::types::TypeConfig;
use crate::buggify::{self, Site};
use crate::plant::{self, Bug};
use crate::runtime::DetRuntime;
use crate::storage::wal::Wal;
use openraft::storage::IOFlushed;
use openraft_rt::AsyncRuntime;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::Mutex;

/// Fsyncs for queued appends until every sender (every clone of the log store) is gone.
pub(super) async fn run(
    wal: Arc<Mutex<Wal>>,
    mut queued: UnboundedReceiver<IOFlushed<TypeConfig>>,
) {
    while let Some(first) = queued.recv().await {
        let mut waiting = vec![first];
        while let Ok(next) = queued.try_recv() {
            waiting.push(next);
        }
        let synced = sync(&wal).await;
        if plant::active(Bug::GroupCommitOverreach) {
            while let Ok(late) = queued.try_recv() {
                waiting.push(late);
            }
        }
        for callback in waiting {
            let report =
                synced.as_ref().map(|_| ()).map_err(|e| io::Error::new(e.kind(), e.to_string()));
            callback.io_completed(report);
        }
    }
}

/// One fsync of everything written so far, without holding the WAL while the disk works.
async fn sync(wal: &Mutex<Wal>) -> io::Result<()> {
    let pending = wal.lock().await.begin_sync().map_err(super::log_store::storage_error)?;
    let Some(pending) = pending else {
        // An inline sync (a vote, a truncation) already made these records durable.
        return Ok(());
    };
    if buggify::fires(Site::SlowDisk) {
        DetRuntime::sleep(Duration::from_millis(50)).await;
    }
    let synced = pending.run().await;
    let mut wal = wal.lock().await;
    wal.finish_sync(&pending, synced).await.map_err(super::log_store::storage_error)
}
