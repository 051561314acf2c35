//! The watch API as plain domain types: etcd's `WatchRequest` / `WatchResponse` family.
//!
//! Field for field these mirror `etcdserverpb.WatchCreateRequest`, `WatchCancelRequest`,
//! `WatchProgressRequest` and `WatchResponse`, so the gRPC edge only converts. A response's header
//! carries only `revision`: the node fills `cluster_id`, `member_id` and `raft_term` when it sends.

use crate::kv::{Event, KeyRange, ResponseHeader};
use serde::{Deserialize, Serialize};

/// A watcher's id, unique within its stream (etcd's `WatchID`).
pub type WatchId = i64;

/// In a create request: "let the hub choose the id" (etcd's `AutoWatchID`).
pub const AUTO_WATCH_ID: WatchId = 0;

/// The id of a response that speaks for no single watcher: a refused create, or a progress
/// notification for a whole stream (etcd's `InvalidWatchID`).
pub const INVALID_WATCH_ID: WatchId = -1;

/// etcd's cancel reason when an explicit `watch_id` is already used on the stream.
pub const DUPLICATE_WATCH_ID: &str = "mvcc: duplicate watch ID provided on the WatchStream";

/// etcd's cancel reason when `key >= range_end`.
pub const EMPTY_WATCHER_RANGE: &str = "mvcc: watcher range is empty";

/// One client watch stream (etcd: one gRPC `Watch` call). Watch ids are unique per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StreamId(pub u64);

/// Events a watcher does not want (etcd's `WatchCreateRequest.FilterType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WatchFilter {
    NoPut,
    NoDelete,
}

/// etcd's `WatchCreateRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct WatchCreateRequest {
    pub key: Vec<u8>,
    /// Same encoding as a range request: empty = the single key, `[0]` = every key >= `key`.
    pub range_end: Vec<u8>,
    /// First revision to deliver (inclusive); 0 = the current revision + 1.
    pub start_revision: i64,
    /// Send an empty response now and then when nothing happened (see `WatchHub::tick_progress`).
    pub progress_notify: bool,
    pub filters: Vec<WatchFilter>,
    /// Fill `prev_kv` in events; stripped otherwise.
    pub prev_kv: bool,
    /// The id to use; `AUTO_WATCH_ID` (0) = the hub chooses.
    pub watch_id: WatchId,
    /// Split responses larger than the size limit into fragments.
    pub fragment: bool,
}

impl WatchCreateRequest {
    /// A request for one key from `start_revision` (0 = from now on).
    pub fn key(key: impl Into<Vec<u8>>, start_revision: i64) -> Self {
        WatchCreateRequest { key: key.into(), start_revision, ..Default::default() }
    }

    /// A request for every key under `prefix` from `start_revision` (0 = from now on).
    pub fn prefix(prefix: impl Into<Vec<u8>>, start_revision: i64) -> Self {
        let range = KeyRange::prefix(prefix);
        WatchCreateRequest {
            key: range.key,
            range_end: range.range_end,
            start_revision,
            ..Default::default()
        }
    }

    pub fn key_range(&self) -> KeyRange {
        KeyRange { key: self.key.clone(), range_end: self.range_end.clone() }
    }
}

/// etcd's `WatchCancelRequest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct WatchCancelRequest {
    pub watch_id: WatchId,
}

/// etcd's `WatchProgressRequest`: "tell me how far this stream is".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct WatchProgressRequest {}

/// etcd's `WatchRequest`: what a client sends on a stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WatchRequest {
    Create(WatchCreateRequest),
    Cancel(WatchCancelRequest),
    Progress(WatchProgressRequest),
}

/// etcd's `WatchResponse`.
///
/// Kinds, as etcd sends them: a *created* response (`created`; with `canceled` and
/// `watch_id == -1` when refused), *events* (non-empty `events`), a *progress* notification
/// (no events, not created, not canceled; `watch_id == -1` when it speaks for the whole stream),
/// a *cancel* (`canceled`; `compact_revision > 0` when the watcher fell below a compaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct WatchResponse {
    pub header: ResponseHeader,
    pub watch_id: WatchId,
    pub created: bool,
    pub canceled: bool,
    /// Set when the watcher was canceled because the revisions it still needed were compacted.
    pub compact_revision: i64,
    pub cancel_reason: String,
    /// More fragments of the same response follow.
    pub fragment: bool,
    pub events: Vec<Event>,
}

impl WatchResponse {
    /// A response with no events and no flags: a progress notification.
    pub fn is_progress(&self) -> bool {
        self.events.is_empty() && !self.created && !self.canceled && !self.fragment
    }
}
