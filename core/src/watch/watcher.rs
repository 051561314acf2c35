//! One watcher: what it watches, from which revision, and how its events are shaped.
//!
//! Invariant: `next_revision` is the lowest revision this watcher may still be sent. Everything in
//! its range below it (from its start revision on) has been delivered or deliberately filtered
//! out, so it only ever moves forward, which is what rules out duplicates and reordering. Every
//! move goes through [`Watcher::advance`], which checks that (`invariant!`).

use super::api::{WatchCreateRequest, WatchFilter, WatchId, WatchResponse};
use crate::kv::{Event, EventType, KeyRange, ResponseHeader};

/// A watcher's address in the hub: its stream and its id there. Ordered, so the hub visits
/// watchers in the same order on every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct WatcherRef {
    pub stream: super::api::StreamId,
    pub id: WatchId,
}

#[derive(Debug, Clone)]
pub(crate) struct Watcher {
    pub range: KeyRange,
    /// Lowest revision not yet delivered (etcd's `minRev`).
    pub next_revision: i64,
    pub no_put: bool,
    pub no_delete: bool,
    pub prev_kv: bool,
    pub fragment: bool,
    pub progress_notify: bool,
    /// No events were sent since the last progress tick (etcd elides a tick after events).
    pub quiet: bool,
    /// In the synced group: has been sent every event up to the hub's revision.
    pub synced: bool,
}

impl Watcher {
    /// A watcher for a validated request, not yet placed in either group.
    pub fn new(request: &WatchCreateRequest, range: KeyRange, next_revision: i64) -> Self {
        Watcher {
            range,
            next_revision,
            no_put: request.filters.contains(&WatchFilter::NoPut),
            no_delete: request.filters.contains(&WatchFilter::NoDelete),
            prev_kv: request.prev_kv,
            fragment: request.fragment,
            progress_notify: request.progress_notify,
            quiet: true,
            synced: false,
        }
    }

    /// Moves `next_revision` on to `next`. It never moves back: that is what rules out a
    /// duplicate or a reordered event, so a move back is a broken invariant, not a case to handle.
    pub fn advance(&mut self, next: i64) {
        crate::invariant!(
            next >= self.next_revision,
            "a watcher's next revision would go back from {} to {next}",
            self.next_revision
        );
        self.next_revision = next;
    }

    /// Whether the filters let this kind of event through.
    fn passes_filters(&self, event: &Event) -> bool {
        match event.kind {
            EventType::Put => !self.no_put,
            EventType::Delete => !self.no_delete,
        }
    }

    /// Whether `event` is one this watcher is still owed.
    pub fn wants(&self, event: &Event) -> bool {
        event.revision() >= self.next_revision
            && self.range.contains(&event.kv.key)
            && self.passes_filters(event)
    }

    /// The event as this watcher receives it: `prev_kv` only when asked for.
    pub fn shape(&self, event: &Event) -> Event {
        if self.prev_kv || event.prev_kv.is_none() {
            return event.clone();
        }
        Event { kind: event.kind, kv: event.kv.clone(), prev_kv: None }
    }

    /// The events out of `events` this watcher is owed, shaped for it.
    pub fn select<'a>(&self, events: impl IntoIterator<Item = &'a Event>) -> Vec<Event> {
        events
            .into_iter()
            .filter(|event| self.wants(event))
            .map(|event| self.shape(event))
            .collect()
    }
}

/// A response with only a header revision and an id; the callers set the flags.
pub(crate) fn response(watch_id: WatchId, revision: i64) -> WatchResponse {
    WatchResponse {
        header: ResponseHeader { revision, ..Default::default() },
        watch_id,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watcher_from(next_revision: i64) -> Watcher {
        let request = WatchCreateRequest::key("k", next_revision);
        Watcher::new(&request, request.key_range(), next_revision)
    }

    #[test]
    fn advancing_moves_the_next_revision_forward_or_keeps_it() {
        let mut watcher = watcher_from(5);
        watcher.advance(5);
        watcher.advance(9);
        assert_eq!(watcher.next_revision, 9);
    }

    /// A deliberately broken move: sending revision 8 again to a watcher already past it would
    /// be a duplicate. The check is on where `invariant!` is (debug and simulator builds).
    #[cfg(any(debug_assertions, madsim))]
    #[test]
    #[should_panic(
        expected = "invariant violated: a watcher's next revision would go back from 9 to 8"
    )]
    fn moving_a_watcher_back_breaks_its_invariant() {
        let mut watcher = watcher_from(9);
        watcher.advance(8);
    }
}
