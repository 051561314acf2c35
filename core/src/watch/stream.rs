//! One watch stream: its watchers by id and the responses waiting to be sent on it.
//!
//! The outbox is the hub's only output. Responses enter it in the order they must reach the
//! client and leave it in that order, so "a progress notification comes after the events it
//! vouches for" is just queue order. The outbox counts the events it holds: when a stream's
//! consumer is slow and the count reaches the hub's limit, its watchers stop receiving live events
//! and are caught up from history later instead of growing the queue without bound.

use super::api::{WatchId, WatchResponse, AUTO_WATCH_ID, DUPLICATE_WATCH_ID};
use super::watcher::Watcher;
use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Default)]
pub(crate) struct Stream {
    pub watchers: BTreeMap<WatchId, Watcher>,
    outbox: VecDeque<WatchResponse>,
    /// Events held in `outbox`.
    pending_events: usize,
    /// Where the search for the next automatic id starts (etcd 3.4/3.5: per stream, from 0).
    next_watch_id: WatchId,
    /// A progress request waits for every watcher of the stream to be synced.
    pub progress_wanted: bool,
}

impl Stream {
    /// The id for a new watcher: `requested`, or the next free one when it is `AUTO_WATCH_ID`.
    pub fn allocate_id(&mut self, requested: WatchId) -> Result<WatchId, &'static str> {
        if requested != AUTO_WATCH_ID {
            if self.watchers.contains_key(&requested) {
                return Err(DUPLICATE_WATCH_ID);
            }
            return Ok(requested);
        }
        while self.watchers.contains_key(&self.next_watch_id) {
            self.next_watch_id += 1;
        }
        let id = self.next_watch_id;
        self.next_watch_id += 1;
        Ok(id)
    }

    pub fn push(&mut self, response: WatchResponse) {
        self.pending_events += response.events.len();
        self.outbox.push_back(response);
    }

    pub fn pop(&mut self) -> Option<WatchResponse> {
        let response = self.outbox.pop_front()?;
        self.pending_events -= response.events.len();
        Some(response)
    }

    pub fn take_all(&mut self) -> Vec<WatchResponse> {
        self.pending_events = 0;
        self.outbox.drain(..).collect()
    }

    pub fn pending_events(&self) -> usize {
        self.pending_events
    }

    pub fn all_synced(&self) -> bool {
        self.watchers.values().all(|watcher| watcher.synced)
    }
}
