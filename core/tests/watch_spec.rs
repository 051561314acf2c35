//! Spec tests for the watcher hub, script style: drive writes and requests, then compare what a
//! stream received, summarised one response per line, with what etcd sends.

use detcd_core::kv::{Event, EventType};
use detcd_core::watch::api::{DUPLICATE_WATCH_ID, EMPTY_WATCHER_RANGE};
use detcd_core::watch::{
    EventHistory, MemoryHistory, StreamId, WatchCancelRequest, WatchConfig, WatchCreateRequest,
    WatchFilter, WatchHub, WatchProgressRequest, WatchRequest, WatchResponse,
};

/// A store and a hub kept in lockstep, with one open stream.
struct Fixture {
    history: MemoryHistory,
    hub: WatchHub,
    stream: StreamId,
}

impl Fixture {
    fn new() -> Self {
        Self::with(WatchConfig::default())
    }

    fn with(config: WatchConfig) -> Self {
        let mut hub = WatchHub::new(config);
        let stream = hub.open_stream();
        Fixture { history: MemoryHistory::new(), hub, stream }
    }

    fn put(&mut self, key: &str, value: &str) {
        let events = self.history.put(key, value);
        self.hub.notify(&events);
    }

    fn delete(&mut self, key: &str) {
        let events = self.history.delete(key);
        self.hub.notify(&events);
    }

    /// One revision writing several keys (a txn).
    fn txn(&mut self, puts: &[(&str, &str)]) {
        let changes: Vec<_> = puts
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec())))
            .collect();
        let events = self.history.write(&changes);
        self.hub.notify(&events);
    }

    fn watch(&mut self, request: WatchCreateRequest) -> Option<i64> {
        self.hub.create(self.stream, request, &self.history)
    }

    fn cancel(&mut self, watch_id: i64) -> bool {
        self.hub.cancel(self.stream, WatchCancelRequest { watch_id }, &self.history)
    }

    fn progress(&mut self) {
        self.hub.request_progress(self.stream, WatchProgressRequest {}, &self.history);
    }

    fn sync(&mut self) {
        self.hub.sync(&self.history);
    }

    fn compact(&mut self, revision: i64) {
        assert_eq!(self.history.compact(revision), Ok(()));
        self.hub.sync(&self.history);
    }

    /// Everything queued on the stream, one line per response.
    fn received(&mut self) -> Vec<String> {
        self.hub.take_responses(self.stream).iter().map(summary).collect()
    }
}

fn summary(response: &WatchResponse) -> String {
    let mut line = format!("#{} @{}", response.watch_id, response.header.revision);
    for (flag, name) in [
        (response.created, " created"),
        (response.canceled, " canceled"),
        (response.fragment, " fragment"),
    ] {
        if flag {
            line.push_str(name);
        }
    }
    if response.compact_revision != 0 {
        line.push_str(&format!(" compact={}", response.compact_revision));
    }
    if !response.cancel_reason.is_empty() {
        line.push_str(&format!(" reason={:?}", response.cancel_reason));
    }
    if response.is_progress() {
        line.push_str(" progress");
    }
    for event in &response.events {
        line.push(' ');
        line.push_str(&event_summary(event));
    }
    line
}

fn event_summary(event: &Event) -> String {
    let key = String::from_utf8_lossy(&event.kv.key);
    let mut text = match event.kind {
        EventType::Put => {
            format!("put:{key}={}@{}", String::from_utf8_lossy(&event.kv.value), event.revision())
        }
        EventType::Delete => format!("del:{key}@{}", event.revision()),
    };
    if let Some(prev) = &event.prev_kv {
        text.push_str(&format!("(prev={})", String::from_utf8_lossy(&prev.value)));
    }
    text
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|line| line.to_string()).collect()
}

#[test]
fn start_zero_watches_from_the_next_revision() {
    let mut f = Fixture::new();
    f.put("a", "1");
    assert_eq!(f.watch(WatchCreateRequest::key("a", 0)), Some(0));
    f.put("a", "2");
    f.put("b", "x");
    f.delete("a");
    assert_eq!(f.received(), lines(&["#0 @1 created", "#0 @2 put:a=2@2", "#0 @4 del:a@4"]),);
}

#[test]
fn a_past_start_catches_up_from_history_then_goes_live() {
    let mut f = Fixture::new();
    f.put("a", "1");
    f.put("a", "2");
    f.put("b", "x");
    f.put("a", "3");
    f.watch(WatchCreateRequest::key("a", 2));
    f.put("a", "4");
    assert_eq!(
        f.received(),
        lines(&["#0 @4 created", "#0 @4 put:a=2@2 put:a=3@4", "#0 @5 put:a=4@5"]),
    );
}

#[test]
fn a_future_start_waits_for_its_revision() {
    let mut f = Fixture::new();
    f.put("a", "1");
    f.watch(WatchCreateRequest::key("a", 3));
    f.put("a", "2");
    f.put("a", "3");
    assert_eq!(f.received(), lines(&["#0 @1 created", "#0 @3 put:a=3@3"]));
}

#[test]
fn a_start_at_the_compact_revision_works_and_below_it_is_canceled() {
    let mut f = Fixture::new();
    for value in ["1", "2", "3"] {
        f.put("a", value);
    }
    f.compact(2);
    f.watch(WatchCreateRequest::key("a", 2));
    f.watch(WatchCreateRequest::key("a", 1));
    assert_eq!(
        f.received(),
        lines(&[
            "#0 @3 created",
            "#0 @3 put:a=2@2 put:a=3@3",
            "#1 @3 created",
            "#1 @3 canceled compact=2",
        ]),
    );
    assert_eq!(f.hub.watcher_count(), 1);
}

#[test]
fn ranges_prefixes_and_open_ranges_see_only_their_keys() {
    let mut f = Fixture::new();
    f.watch(WatchCreateRequest::prefix("a/", 0));
    f.watch(WatchCreateRequest {
        key: b"b".to_vec(),
        range_end: b"d".to_vec(),
        ..Default::default()
    });
    f.watch(WatchCreateRequest { key: b"c".to_vec(), range_end: vec![0], ..Default::default() });
    for key in ["a", "a/1", "b", "c", "d", "zz"] {
        f.put(key, "v");
    }
    assert_eq!(
        f.received(),
        lines(&[
            "#0 @0 created",
            "#1 @0 created",
            "#2 @0 created",
            "#0 @2 put:a/1=v@2",
            "#1 @3 put:b=v@3",
            "#1 @4 put:c=v@4",
            "#2 @4 put:c=v@4",
            "#2 @5 put:d=v@5",
            "#2 @6 put:zz=v@6",
        ]),
    );
}

#[test]
fn filters_drop_event_kinds_and_a_fully_filtered_revision_sends_nothing() {
    let mut f = Fixture::new();
    let no_put =
        WatchCreateRequest { filters: vec![WatchFilter::NoPut], ..WatchCreateRequest::key("a", 0) };
    let no_delete = WatchCreateRequest {
        filters: vec![WatchFilter::NoDelete],
        ..WatchCreateRequest::key("a", 0)
    };
    f.watch(no_put);
    f.watch(no_delete);
    f.put("a", "1");
    f.delete("a");
    assert_eq!(
        f.received(),
        lines(&["#0 @0 created", "#1 @0 created", "#1 @1 put:a=1@1", "#0 @2 del:a@2"]),
    );
}

#[test]
fn prev_kv_is_sent_only_when_asked_for() {
    let mut f = Fixture::new();
    f.put("a", "1");
    f.watch(WatchCreateRequest { prev_kv: true, ..WatchCreateRequest::key("a", 0) });
    f.watch(WatchCreateRequest::key("a", 0));
    f.put("a", "2");
    f.delete("a");
    assert_eq!(
        f.received(),
        lines(&[
            "#0 @1 created",
            "#1 @1 created",
            "#0 @2 put:a=2@2(prev=1)",
            "#1 @2 put:a=2@2",
            "#0 @3 del:a@3(prev=2)",
            "#1 @3 del:a@3",
        ]),
    );
}

#[test]
fn all_events_of_one_revision_arrive_together() {
    let mut f = Fixture::new();
    f.watch(WatchCreateRequest::prefix("k", 0));
    f.watch(WatchCreateRequest::key("k2", 0));
    f.txn(&[("k1", "a"), ("k2", "b"), ("k3", "c")]);
    assert_eq!(
        f.received(),
        lines(&[
            "#0 @0 created",
            "#1 @0 created",
            "#0 @1 put:k1=a@1 put:k2=b@1 put:k3=c@1",
            "#1 @1 put:k2=b@1",
        ]),
    );
}

#[test]
fn watch_ids_are_chosen_per_stream_and_duplicates_are_refused() {
    let mut f = Fixture::new();
    assert_eq!(
        f.watch(WatchCreateRequest { watch_id: 1, ..WatchCreateRequest::key("a", 0) }),
        Some(1)
    );
    assert_eq!(f.watch(WatchCreateRequest::key("a", 0)), Some(0));
    assert_eq!(f.watch(WatchCreateRequest::key("a", 0)), Some(2), "auto ids skip ids in use");
    assert_eq!(
        f.watch(WatchCreateRequest { watch_id: 2, ..WatchCreateRequest::key("a", 0) }),
        None
    );
    let other = f.hub.open_stream();
    assert_eq!(f.hub.create(other, WatchCreateRequest::key("a", 0), &f.history), Some(0));
    let received = f.received();
    assert_eq!(received[3], format!("#-1 @0 created canceled reason={DUPLICATE_WATCH_ID:?}"));
}

#[test]
fn invalid_requests_are_refused_like_etcd() {
    let mut f = Fixture::new();
    let empty =
        WatchCreateRequest { key: b"b".to_vec(), range_end: b"a".to_vec(), ..Default::default() };
    assert_eq!(f.watch(empty), None);
    assert_eq!(f.watch(WatchCreateRequest::key("a", -1)), None);
    assert_eq!(
        f.received(),
        lines(&[
            &format!("#-1 @0 created canceled reason={EMPTY_WATCHER_RANGE:?}"),
            "#-1 @0 created canceled reason=\"etcdserver: mvcc: required revision has been compacted\"",
        ]),
    );
    // An empty key means "\0", and [0] as range end means "every key from there".
    let everything =
        WatchCreateRequest { key: Vec::new(), range_end: vec![0], ..Default::default() };
    assert_eq!(f.watch(everything), Some(0));
}

#[test]
fn cancel_ends_a_watcher_and_unknown_ids_get_no_answer() {
    let mut f = Fixture::new();
    f.watch(WatchCreateRequest::key("a", 0));
    f.put("a", "1");
    assert!(f.cancel(0));
    assert!(!f.cancel(0));
    f.put("a", "2");
    assert_eq!(f.received(), lines(&["#0 @0 created", "#0 @1 put:a=1@1", "#0 @1 canceled"]));
    assert_eq!(f.hub.watcher_count(), 0);
}

#[test]
fn requests_go_through_handle_too() {
    let mut f = Fixture::new();
    let stream = f.stream;
    f.hub.handle(stream, WatchRequest::Create(WatchCreateRequest::key("a", 0)), &f.history);
    f.put("a", "1");
    f.hub.handle(stream, WatchRequest::Progress(WatchProgressRequest {}), &f.history);
    f.hub.handle(stream, WatchRequest::Cancel(WatchCancelRequest { watch_id: 0 }), &f.history);
    assert_eq!(
        f.received(),
        lines(&["#0 @0 created", "#0 @1 put:a=1@1", "#-1 @1 progress", "#0 @1 canceled"]),
    );
}

#[test]
fn a_slow_consumer_falls_behind_and_is_caught_up_whole_revisions_at_a_time() {
    let config = WatchConfig { max_pending_events: 2, ..Default::default() };
    let mut f = Fixture::with(config);
    f.watch(WatchCreateRequest::prefix("k", 0));
    f.put("k1", "a");
    f.txn(&[("k1", "b"), ("k2", "b")]);
    f.put("k1", "c");
    f.put("k1", "d");
    assert_eq!(f.hub.watcher_synced(f.stream, 0), Some(false));
    assert_eq!(f.received(), lines(&["#0 @0 created", "#0 @1 put:k1=a@1"]));
    f.sync();
    // The outbox holds two events: revision 2 (two events) fits alone, not with revision 3.
    assert_eq!(f.received(), lines(&["#0 @2 put:k1=b@2 put:k2=b@2"]));
    f.sync();
    // The rest fits: the watcher is caught up and back in the synced group.
    assert_eq!(f.received(), lines(&["#0 @4 put:k1=c@3 put:k1=d@4"]));
    assert_eq!(f.hub.watcher_synced(f.stream, 0), Some(true));
    f.put("k2", "e");
    assert_eq!(f.received(), lines(&["#0 @5 put:k2=e@5"]));
}

#[test]
fn an_oversized_revision_still_gets_through_an_empty_outbox() {
    let config = WatchConfig { max_pending_events: 1, ..Default::default() };
    let mut f = Fixture::with(config);
    f.watch(WatchCreateRequest::prefix("k", 0));
    f.txn(&[("k1", "a"), ("k2", "a"), ("k3", "a")]);
    f.txn(&[("k1", "b"), ("k2", "b")]);
    assert_eq!(f.received().len(), 2);
    f.sync();
    assert_eq!(f.received(), lines(&["#0 @2 put:k1=b@2 put:k2=b@2"]));
}

#[test]
fn compaction_cancels_a_watcher_that_is_behind_it() {
    let config = WatchConfig { max_pending_events: 1, ..Default::default() };
    let mut f = Fixture::with(config);
    f.watch(WatchCreateRequest::key("a", 0));
    f.put("a", "1");
    f.put("a", "2");
    f.put("a", "3");
    f.compact(3);
    assert_eq!(
        f.received(),
        lines(&["#0 @0 created", "#0 @1 put:a=1@1", "#0 @3 canceled compact=3"]),
    );
    assert_eq!(f.hub.watcher_count(), 0);
}

#[test]
fn a_progress_request_waits_until_every_watcher_of_the_stream_is_synced() {
    let config = WatchConfig { max_pending_events: 1, ..Default::default() };
    let mut f = Fixture::with(config);
    f.watch(WatchCreateRequest::key("a", 0));
    f.watch(WatchCreateRequest::key("b", 0));
    f.put("a", "1");
    f.put("a", "2"); // the outbox is full: watcher 0 falls behind
    f.put("b", "1");
    f.progress();
    assert_eq!(
        f.received(),
        lines(&["#0 @0 created", "#1 @0 created", "#0 @1 put:a=1@1"]),
        "no progress while watcher 0 owes revision 2; watcher 1's revision 3 did not fit either",
    );
    // A catch-up response's header says how far it covers this watcher: through revision 3.
    f.sync();
    assert_eq!(f.received(), lines(&["#0 @3 put:a=2@2"]));
    // Once both are synced, the waiting progress request is answered, behind their events.
    f.sync();
    assert_eq!(f.received(), lines(&["#1 @3 put:b=1@3", "#-1 @3 progress"]));
}

#[test]
fn a_progress_request_on_a_stream_without_watchers_gets_nothing() {
    let mut f = Fixture::new();
    f.put("a", "1");
    f.progress();
    f.sync();
    assert!(f.received().is_empty());
}

#[test]
fn progress_ticks_go_to_quiet_synced_progress_notify_watchers() {
    let mut f = Fixture::new();
    f.watch(WatchCreateRequest { progress_notify: true, ..WatchCreateRequest::key("a", 0) });
    f.watch(WatchCreateRequest::key("a", 0));
    f.hub.tick_progress(&f.history);
    f.put("a", "1");
    f.hub.tick_progress(&f.history); // elided: watcher 0 was just sent an event
    f.put("b", "1");
    f.hub.tick_progress(&f.history);
    assert_eq!(
        f.received(),
        lines(&[
            "#0 @0 created",
            "#1 @0 created",
            "#0 @0 progress",
            "#0 @1 put:a=1@1",
            "#1 @1 put:a=1@1",
            "#0 @2 progress",
        ]),
    );
}

#[test]
fn fragment_watchers_get_large_revisions_in_pieces() {
    let config = WatchConfig { max_response_bytes: 60, ..Default::default() };
    let mut f = Fixture::with(config);
    f.watch(WatchCreateRequest { fragment: true, ..WatchCreateRequest::prefix("k", 0) });
    f.watch(WatchCreateRequest::prefix("k", 0));
    f.txn(&[("k1", "aaaaaaaaaa"), ("k2", "bbbbbbbbbb"), ("k3", "cccccccccc")]);
    let responses = f.hub.take_responses(f.stream);
    let fragments: Vec<&WatchResponse> = responses.iter().filter(|r| r.watch_id == 0).collect();
    assert!(fragments.len() > 2, "created + at least two pieces");
    let pieces = &fragments[1..];
    assert!(pieces[..pieces.len() - 1].iter().all(|piece| piece.fragment));
    assert!(!pieces[pieces.len() - 1].fragment);
    let joined: usize = pieces.iter().map(|piece| piece.events.len()).sum();
    assert_eq!(joined, 3);
    let whole: Vec<&WatchResponse> = responses.iter().filter(|r| r.watch_id == 1).collect();
    assert_eq!(whole.len(), 2);
    assert_eq!(whole[1].events.len(), 3);
}

#[test]
fn a_watcher_resumed_from_last_plus_one_sees_exactly_the_rest() {
    let mut f = Fixture::new();
    f.watch(WatchCreateRequest::prefix("k", 0));
    f.put("k1", "a");
    f.put("k2", "b");
    let first = f.received();
    f.cancel(0);
    f.put("k1", "c");
    f.put("x", "x");
    f.delete("k2");
    f.received();
    f.watch(WatchCreateRequest::prefix("k", 3));
    assert_eq!(first, lines(&["#0 @0 created", "#0 @1 put:k1=a@1", "#0 @2 put:k2=b@2"]));
    // Automatic ids only grow within a stream (etcd 3.4/3.5), so the new watcher is #1.
    assert_eq!(f.received(), lines(&["#1 @5 created", "#1 @5 put:k1=c@3 del:k2@5"]));
}

#[test]
fn writes_the_hub_was_not_told_about_are_caught_up_from_history() {
    let mut f = Fixture::new();
    f.watch(WatchCreateRequest::key("a", 0));
    let missed = f.history.put("a", "1"); // applied, but notify never called for it
    f.put("a", "2"); // the hub sees revision 2 without 1: the watcher must catch up
    f.sync();
    f.hub.notify(&missed); // a late notify is ignored: no duplicate
    f.put("a", "3");
    assert_eq!(
        f.received(),
        lines(&["#0 @0 created", "#0 @2 put:a=1@1 put:a=2@2", "#0 @3 put:a=3@3"]),
    );
    assert_eq!(f.history.current_revision(), f.hub.revision());
}

#[test]
fn closing_a_stream_drops_its_watchers() {
    let mut f = Fixture::new();
    let other = f.hub.open_stream();
    f.watch(WatchCreateRequest::key("a", 0));
    f.hub.create(other, WatchCreateRequest::key("a", 0), &f.history);
    assert_eq!(f.hub.watcher_count(), 2);
    assert!(f.hub.close_stream(other));
    assert!(!f.hub.close_stream(other));
    f.put("a", "1");
    assert_eq!(f.hub.watcher_count(), 1);
    assert_eq!(f.hub.next_response(other), None);
    assert_eq!(f.received(), lines(&["#0 @0 created", "#0 @1 put:a=1@1"]));
}

/// A view of a store that hides its newest revisions: the hub was notified before the store
/// caught up.
struct Lagging<'a> {
    store: &'a MemoryHistory,
    visible: i64,
}

impl EventHistory for Lagging<'_> {
    fn current_revision(&self) -> i64 {
        self.visible
    }

    fn compact_revision(&self) -> i64 {
        self.store.compact_revision()
    }

    fn events(
        &self,
        range: &detcd_core::kv::KeyRange,
        from: i64,
        to: i64,
    ) -> Result<Vec<Event>, detcd_core::Error> {
        self.store.events(range, from, to.min(self.visible))
    }
}

#[test]
fn a_store_behind_the_hub_makes_catch_up_wait_not_skip() {
    let mut f = Fixture::new();
    f.put("a", "1");
    f.put("a", "2");
    f.put("a", "3");
    // The hub knows revision 3; the store it reads from only shows revision 2 yet.
    let lagging = Lagging { store: &f.history, visible: 2 };
    f.hub.create(f.stream, WatchCreateRequest::key("a", 1), &lagging);
    assert_eq!(f.hub.watcher_synced(f.stream, 0), Some(false));
    assert_eq!(f.received(), lines(&["#0 @3 created", "#0 @2 put:a=1@1 put:a=2@2"]));
    f.sync(); // the store shows revision 3 now
    f.put("a", "4");
    assert_eq!(f.received(), lines(&["#0 @3 put:a=3@3", "#0 @4 put:a=4@4"]));
}
