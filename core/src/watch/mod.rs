//! Watch: the watcher hub, as a pure and deterministic state machine.
//!
//! A client opens a *stream* and creates *watchers* on it, each on a key or a range, from a start
//! revision, with filters. Every applied write's events go to `WatchHub::notify`; watchers that
//! start in the past or fall behind are caught up from the store's history (`EventHistory`).
//! The hub never blocks and owns no channels or tasks: every call queues the responses it causes
//! in per-stream outboxes, and the caller drains them (`next_response`, `take_responses`) and
//! sends them in order. Periodic work (`sync`, `tick_progress`) runs when the caller says so, so
//! a simulator's virtual time drives it exactly as a real timer does.
//!
//! What every watcher's stream guarantees (checked by the tests): events in revision order, no
//! duplicates, all events of one revision in one response (unless the watcher asked for
//! fragments), no gaps, resumable from `last + 1`, and a progress notification at revision R only
//! after every event <= R the stream's watchers are owed was queued before it.
//!
//! - `api`: the request / response types (etcd's `Watch*` messages).
//! - `history`: `EventHistory`, what the hub reads from the store.
//! - `hub`: `WatchHub`, the synced / unsynced groups and the delivery policy.
//! - `watcher`, `group`, `stream`, `fragment`: one watcher, the synced group's key index, one
//!   stream's outbox, response splitting.
//! - `memory`: `MemoryHistory`, a small reference `EventHistory` for tests and benchmarks.

pub mod api;
mod fragment;
mod group;
pub mod history;
pub mod hub;
pub mod memory;
mod stream;
mod watcher;

pub use api::{
    StreamId, WatchCancelRequest, WatchCreateRequest, WatchFilter, WatchId, WatchProgressRequest,
    WatchRequest, WatchResponse, AUTO_WATCH_ID, INVALID_WATCH_ID,
};
pub use history::EventHistory;
pub use hub::{WatchConfig, WatchHub};
pub use memory::MemoryHistory;
