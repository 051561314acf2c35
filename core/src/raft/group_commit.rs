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
//! (callbacks are queued under the WAL lock, after the write, and taken before the sync begins;
//! each carries the WAL's append count, checked against the count the fsync covered before the
//! callback fires: `invariant!`, see `Wal::durable`);
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

/// An append waiting for its fsync: the WAL's append count once it was written
/// ([`Wal::appended`]), and openraft's callback.
pub(super) type Waiting = (u64, IOFlushed<TypeConfig>);

/// Fsyncs for queued appends until every sender (every clone of the log store) is gone.
pub(super) async fn run(wal: Arc<Mutex<Wal>>, mut queued: UnboundedReceiver<Waiting>) {
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
        for (appended, callback) in waiting {
            let report = match &synced {
                Ok(durable) => {
                    crate::invariant!(
                        appended <= *durable || plant::active(Bug::GroupCommitOverreach),
                        "the log acknowledges append {appended} before its fsync: only {durable} \
                         appends are durable"
                    );
                    Ok(())
                }
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            callback.io_completed(report);
        }
    }
}

/// One fsync of everything written so far, without holding the WAL while the disk works;
/// returns how many appends are durable after it ([`Wal::durable`]).
async fn sync(wal: &Mutex<Wal>) -> io::Result<u64> {
    let pending = {
        let mut wal = wal.lock().await;
        match wal.begin_sync().map_err(super::log_store::storage_error)? {
            Some(pending) => pending,
            // An inline sync (a vote, a truncation) already made these records durable.
            None => return Ok(wal.durable()),
        }
    };
    if buggify::fires(Site::SlowDisk) {
        DetRuntime::sleep(Duration::from_millis(50)).await;
    }
    let synced = pending.run().await;
    let mut wal = wal.lock().await;
    wal.finish_sync(&pending, synced).await.map_err(super::log_store::storage_error)?;
    Ok(wal.durable())
}
