//! Watch streams on a member: requests in, responses out, fed by the replica's watcher hub.
//!
//! Watches are served by whichever member the client talks to, from its own replica (as etcd
//! does): events reach a watcher once they are applied locally. The hub is pure and only queues
//! responses; a `WatchStream` drains its queue and sleeps on the replica's change notification.
//!
//! A client's stream (`Member::watch_as`) carries who opened it, resolved once at opening as
//! etcd resolves a stream's credentials; each watch it creates is checked for read on the whole
//! watched range first, and one the caller may not read is answered created-and-canceled with
//! etcd's "permission denied", so no event of it is ever delivered.
//!
//! Watches own no state of the member's: a stream holds the `Node` handle (replica and headers)
//! and the member's `Removal` (to end when the member is removed), and the sync task needs only
//! the `Node`. Invariant: every response a stream hands out carries this member's header.

use super::node::Node;
use super::removal::Removal;
use super::Member;
use crate::auth::{AuthInfo, Caller, PermissionType};
use crate::error::Result;
use crate::raft::state_machine::{MachineHistory, ReplicaState};
use crate::runtime::DetRuntime;
use crate::watch::{StreamId, WatchRequest, WatchResponse};
use openraft_rt::AsyncRuntime;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often unsynced watchers are caught up (etcd: every 100 ms).
const SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// One client's watch stream on one member.
pub struct WatchStream {
    /// The member's replica (the hub) and header, shared with its other components.
    node: Node,
    /// Whether the member was removed: its streams end then.
    removal: Arc<Removal>,
    stream: StreamId,
    /// Who opened the stream (`None`: the member itself, unchecked).
    caller: Option<AuthInfo>,
    /// Answers to creates the caller was not allowed, waiting to be taken.
    refused: Mutex<Vec<WatchResponse>>,
}

impl Member {
    /// Opens a watch stream (etcd: one gRPC `Watch` call).
    pub fn watch(&self) -> WatchStream {
        self.open_watch(None)
    }

    /// Opens a watch stream for `caller`, whose creates are checked (see the module docs).
    pub fn watch_as(&self, caller: &Caller) -> Result<WatchStream> {
        Ok(self.open_watch(self.authorize(caller)?))
    }

    fn open_watch(&self, caller: Option<AuthInfo>) -> WatchStream {
        let stream = self.node().replica.lock().hub.open_stream();
        WatchStream {
            node: self.node().clone(),
            removal: self.inner.removal.clone(),
            stream,
            caller,
            refused: Mutex::new(Vec::new()),
        }
    }

    /// How many watchers this member serves now, over all its streams.
    pub fn watcher_count(&self) -> usize {
        self.node().replica.lock().hub.watcher_count()
    }
}

/// Catches up unsynced watchers and sends progress notifications, for as long as raft runs.
pub(super) async fn run_sync(node: &Node) {
    let mut ticks: u64 = 0;
    let interval = node.config.progress_notify_interval;
    let progress_ticks = (interval.as_millis() / SYNC_INTERVAL.as_millis()).max(1) as u64;
    while node.is_running() {
        DetRuntime::sleep(SYNC_INTERVAL).await;
        ticks += 1;
        let mut state = node.replica.lock();
        let ReplicaState { machine, hub, .. } = &mut *state;
        hub.sync(&MachineHistory(machine));
        if ticks.is_multiple_of(progress_ticks) {
            hub.tick_progress(&MachineHistory(machine));
        }
        drop(state);
        node.replica.changed.notify_waiters();
    }
}

impl WatchStream {
    /// Sends a create, cancel or progress request on this stream.
    pub fn send(&self, request: WatchRequest) {
        let mut state = self.node.replica.lock();
        if let (WatchRequest::Create(create), Some(caller)) = (&request, &self.caller) {
            let auth = state.machine.auth();
            if let Err(error) =
                auth.check(caller, PermissionType::Read, &create.key, &create.range_end)
            {
                let mut refusal = WatchResponse {
                    watch_id: if create.watch_id == 0 { -1 } else { create.watch_id },
                    created: true,
                    canceled: true,
                    cancel_reason: error.to_string(),
                    ..WatchResponse::default()
                };
                refusal.header.revision = state.machine.revision();
                self.refused.lock().unwrap_or_else(|e| e.into_inner()).push(refusal);
                drop(state);
                self.node.replica.changed.notify_waiters();
                return;
            }
        }
        let ReplicaState { machine, hub, .. } = &mut *state;
        hub.handle(self.stream, request, &MachineHistory(machine));
        drop(state);
        self.node.replica.changed.notify_waiters();
    }

    /// The next responses for this stream, waiting until there is at least one. Each response
    /// carries this member's header.
    /// Empty at once when the stream is no longer open (`is_open`).
    pub async fn recv(&self) -> Vec<WatchResponse> {
        loop {
            let changed = self.node.replica.changed.notified();
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
        !self.removal.is_removed()
    }

    fn take(&self) -> Vec<WatchResponse> {
        let mut state = self.node.replica.lock();
        let mut responses: Vec<WatchResponse> =
            std::mem::take(&mut *self.refused.lock().unwrap_or_else(|e| e.into_inner()));
        responses.extend(state.hub.take_responses(self.stream));
        if !responses.is_empty() {
            // Room freed in the outbox: let unsynced watchers of this stream catch up.
            let ReplicaState { machine, hub, .. } = &mut *state;
            hub.sync(&MachineHistory(machine));
        }
        for response in &mut responses {
            response.header = self.node.header(response.header.revision);
        }
        responses
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.node.replica.lock().hub.close_stream(self.stream);
    }
}
