//! Waiting for changes with a watch that survives broken streams.
//!
//! Every blocking recipe waits the same way: "tell me the first event on this key (or prefix) at
//! or after revision R that matches". etcd's watch is resumable, so when a stream breaks (its
//! member crashed or was cut off) the wait opens a new stream, possibly on another member, from
//! the revision after the last event it saw: no event is missed and none is seen twice. Only a
//! compaction past that revision ends the wait, with etcd's compaction error.

use super::error::{RecipeError, RecipeResult};
use crate::client::{ops, Client, Watcher};
use crate::kv::{Event, EventType, KeyRange};
use crate::runtime::DetRuntime;
use crate::watch::{WatchCreateRequest, WatchRequest, WatchResponse};
use openraft_rt::AsyncRuntime;
use std::time::Duration;

const REOPEN_BACKOFF: Duration = Duration::from_millis(200);

/// The first event on `range` at or after `from_revision` for which `wanted` holds.
pub async fn first_event<C: Client>(
    client: &C,
    range: KeyRange,
    from_revision: i64,
    wanted: impl Fn(&Event) -> bool + Send,
) -> RecipeResult<Event> {
    let mut next = from_revision;
    loop {
        match watch_once(client, &range, &mut next, &wanted).await {
            Ok(Some(event)) => return Ok(event),
            Ok(None) => DetRuntime::sleep(REOPEN_BACKOFF).await,
            Err(error) => return Err(error),
        }
    }
}

/// One stream's worth of waiting: `Ok(None)` when the stream broke and should be reopened from
/// `next`, which always holds the revision after the last event seen.
async fn watch_once<C: Client>(
    client: &C,
    range: &KeyRange,
    next: &mut i64,
    wanted: &(impl Fn(&Event) -> bool + Send),
) -> RecipeResult<Option<Event>> {
    let Ok(mut watcher) = client.watch().await else { return Ok(None) };
    let create = WatchCreateRequest {
        key: range.key.clone(),
        range_end: range.range_end.clone(),
        start_revision: *next,
        ..Default::default()
    };
    if watcher.send(WatchRequest::Create(create)).await.is_err() {
        return Ok(None);
    }
    loop {
        let Ok(response) = watcher.recv().await else { return Ok(None) };
        check_canceled(&response)?;
        for event in response.events {
            *next = event.revision() + 1;
            if wanted(&event) {
                return Ok(Some(event));
            }
        }
    }
}

fn check_canceled(response: &WatchResponse) -> RecipeResult<()> {
    if !response.canceled {
        return Ok(());
    }
    if response.compact_revision > 0 {
        let compacted = crate::Error::Compacted { compact_revision: response.compact_revision };
        return Err(compacted.into());
    }
    Err(RecipeError::WatchCanceled(response.cancel_reason.clone()))
}

/// Waits until `key` is deleted at or after `from_revision`.
pub async fn deleted<C: Client>(client: &C, key: &[u8], from_revision: i64) -> RecipeResult<()> {
    let range = KeyRange::single(key);
    first_event(client, range, from_revision, |e| e.kind == EventType::Delete).await?;
    Ok(())
}

/// Waits until no key under `prefix` has a create revision at or below `max_create_revision`
/// (etcd's `waitDeletes`): the newest such key is waited for first, then the check repeats.
pub async fn all_deleted_before<C: Client>(
    client: &C,
    prefix: &[u8],
    max_create_revision: i64,
) -> RecipeResult<()> {
    loop {
        let mut request = ops::get_prefix_by_create(prefix);
        request.max_create_revision = max_create_revision;
        request.sort_order = crate::api::SortOrder::Descend;
        request.limit = 1;
        let response = super::retry::idempotent(|| client.range(request.clone())).await?;
        let Some(newest) = response.kvs.first() else { return Ok(()) };
        deleted(client, &newest.key, response.header.revision + 1).await?;
    }
}
