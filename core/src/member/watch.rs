//! Watch streams on a member: requests in, responses out, fed by the replica's watcher hub.
//!
//! Watches are served by whichever member the client talks to, from its own replica (as etcd
//! does): events reach a watcher once they are applied locally. The hub is pure and only queues
//! responses; a `WatchStream` drains its queue and sleeps on the replica's change notification.

use super::Member;
use crate::raft::state_machine::{MachineHistory, ReplicaState};
use crate::runtime::DetRuntime;
use crate::watch::{StreamId, WatchRequest, WatchResponse};
use openraft_rt::AsyncRuntime;
use std::time::Duration;

/// How often unsynced watchers are caught up (etcd: every 100 ms).
const SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// One client's watch stream on one member.
pub struct WatchStream {
    member: Member,
    stream: StreamId,
}

impl Member {
    /// Opens a watch stream (etcd: one gRPC `Watch` call).
    pub fn watch(&self) -> WatchStream {
        let stream = self.inner.replica.lock().hub.open_stream();
        WatchStream { member: self.clone(), stream }
    }

    /// How many watchers this member serves now, over all its streams.
    pub fn watcher_count(&self) -> usize {
        self.inner.replica.lock().hub.watcher_count()
    }

    pub(super) async fn run_watch_sync(&self) {
        let mut ticks: u64 = 0;
        let interval = self.inner.config.progress_notify_interval;
        let progress_ticks = (interval.as_millis() / SYNC_INTERVAL.as_millis()).max(1) as u64;
        while self.is_running() {
            DetRuntime::sleep(SYNC_INTERVAL).await;
            ticks += 1;
            let mut state = self.inner.replica.lock();
            let ReplicaState { machine, hub, .. } = &mut *state;
            hub.sync(&MachineHistory(machine));
            if ticks.is_multiple_of(progress_ticks) {
                hub.tick_progress(&MachineHistory(machine));
            }
            drop(state);
            self.inner.replica.changed.notify_waiters();
        }
    }
}

impl WatchStream {
    /// Sends a create, cancel or progress request on this stream.
    pub fn send(&self, request: WatchRequest) {
        let mut state = self.member.inner.replica.lock();
        let ReplicaState { machine, hub, .. } = &mut *state;
        hub.handle(self.stream, request, &MachineHistory(machine));
        drop(state);
        self.member.inner.replica.changed.notify_waiters();
    }

    /// The next responses for this stream, waiting until there is at least one. Each response
    /// carries this member's header.
    /// Empty at once when the stream is no longer open (`is_open`).
    pub async fn recv(&self) -> Vec<WatchResponse> {
        loop {
            let changed = self.member.inner.replica.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let responses = self.take();
            if !responses.is_empty() || !self.is_open() {
                return responses;
            }
            changed.await;
        }
    }

    /// False once the member stopped serving for good (it was removed from the cluster): its
    /// watchers will hear of no other revision, so a transport ends the stream and the client
    /// resumes elsewhere, as etcd's clients do when a member shuts down.
    pub fn is_open(&self) -> bool {
        !self.member.is_removed()
    }

    fn take(&self) -> Vec<WatchResponse> {
        let mut state = self.member.inner.replica.lock();
        let mut responses = state.hub.take_responses(self.stream);
        if !responses.is_empty() {
            // Room freed in the outbox: let unsynced watchers of this stream catch up.
            let ReplicaState { machine, hub, .. } = &mut *state;
            hub.sync(&MachineHistory(machine));
        }
        for response in &mut responses {
            response.header = self.member.header(response.header.revision);
        }
        responses
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.member.inner.replica.lock().hub.close_stream(self.stream);
    }
}
