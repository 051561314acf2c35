//! The watcher hub: every watcher of a member, fed by applied writes and by the store's history.
//!
//! A watcher is in exactly one of two groups (etcd's synced / unsynced):
//!
//! - **synced**: it has been sent every event it is owed up to the hub's `revision`. `notify`
//!   hands each new revision's events straight to synced watchers, through the `WatcherIndex`.
//! - **unsynced**: it is behind: it started in the past, or its stream's outbox was full when a
//!   revision came, or the hub learned of revisions it was not notified of. `sync` (and `create`)
//!   catch it up by reading the store's history in batches of whole revisions, as far as its
//!   stream's outbox has room, and move it to synced once nothing is left; a watcher whose next
//!   revision has been compacted away is canceled with `compact_revision` instead.
//!
//! Invariants, which give the watch guarantees:
//! - `revision` is the newest revision the hub knows of and only grows; every synced watcher has
//!   been sent every event it is owed up to it, and each watcher's `next_revision` only grows. So
//!   each watcher's stream is ordered, gap-free and duplicate-free, and resumable from `last + 1`.
//!   Both growths are checked where they happen (`move_to`, `Watcher::advance`, `invariant!`).
//! - A response holds all of one watcher's events of a revision (fragments aside): `notify` sends
//!   one response per revision, catch-up batches never cut a revision.
//! - A progress notification at revision R is queued only when the watchers it speaks for are all
//!   synced at R, behind the events it vouches for in the same outbox.
//!
//! The hub is a pure state machine: no clock, threads, channels or I/O, and only ordered maps.
//! Every call queues responses in the outbox of the stream they belong to; the caller drains them
//! with `next_response` / `take_responses` and sends them in that order.
//!
//! Caller contract: apply a write to the store first, then pass its events to `notify`. If the
//! hub ever sees the store ahead of what it was notified of (a missed `notify`, a restored
//! snapshot), it does not guess: it moves every synced watcher to unsynced and lets history catch
//! them up, so the guarantees hold either way.

use super::api::{
    StreamId, WatchCancelRequest, WatchCreateRequest, WatchId, WatchProgressRequest, WatchRequest,
    WatchResponse, EMPTY_WATCHER_RANGE, INVALID_WATCH_ID,
};
use super::fragment;
use super::group::WatcherIndex;
use super::history::EventHistory;
use super::stream::Stream;
use super::watcher::{response, Watcher, WatcherRef};
use crate::error::Error;
use crate::kv::{Event, EventType, KeyRange};
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use std::collections::{BTreeMap, BTreeSet};

/// Limits of a hub. The defaults are etcd's where etcd has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchConfig {
    /// Events a stream's outbox may hold before its watchers stop receiving live events and fall
    /// back to catching up from history (etcd bounds its per-stream channel to 128 responses).
    pub max_pending_events: usize,
    /// Revisions read from history per catch-up batch (etcd: `watchBatchMaxRevs` = 1000).
    pub max_catch_up_revisions: i64,
    /// Encoded size at which responses of `fragment` watchers are split (etcd: max request bytes
    /// 1.5 MiB + 512 KiB gRPC overhead).
    pub max_response_bytes: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            max_pending_events: 1024,
            max_catch_up_revisions: 1000,
            max_response_bytes: 1536 * 1024 + 512 * 1024,
        }
    }
}

/// Every watch stream and watcher of one member.
#[derive(Debug, Default)]
pub struct WatchHub {
    config: WatchConfig,
    /// The newest revision the hub knows of (notified, or seen in the store).
    revision: i64,
    streams: BTreeMap<StreamId, Stream>,
    next_stream: u64,
    synced: WatcherIndex,
    unsynced: BTreeSet<WatcherRef>,
}

impl WatchHub {
    pub fn new(config: WatchConfig) -> Self {
        WatchHub { config, ..Default::default() }
    }

    /// The newest revision the hub knows of.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    pub fn open_stream(&mut self) -> StreamId {
        self.next_stream += 1;
        let id = StreamId(self.next_stream);
        self.streams.insert(id, Stream::default());
        id
    }

    /// Drops a stream, its watchers and its unsent responses (the client went away). False when
    /// it was not open.
    pub fn close_stream(&mut self, stream: StreamId) -> bool {
        let Some(closed) = self.streams.remove(&stream) else { return false };
        for (id, watcher) in closed.watchers {
            self.unindex(WatcherRef { stream, id }, &watcher);
        }
        true
    }

    /// Serves one request of a stream.
    pub fn handle<H: EventHistory + ?Sized>(
        &mut self,
        stream: StreamId,
        request: WatchRequest,
        history: &H,
    ) {
        match request {
            WatchRequest::Create(create) => {
                self.create(stream, create, history);
            }
            WatchRequest::Cancel(cancel) => {
                self.cancel(stream, cancel, history);
            }
            WatchRequest::Progress(progress) => self.request_progress(stream, progress, history),
        }
    }

    /// Creates a watcher and queues its `created` response, then whatever history it is owed
    /// right away (as far as the outbox has room). Returns its id; `None` when the request was
    /// refused (a `created` + `canceled` response with id -1 and the reason is queued, as etcd
    /// does) or the stream is not open.
    pub fn create<H: EventHistory + ?Sized>(
        &mut self,
        stream: StreamId,
        request: WatchCreateRequest,
        history: &H,
    ) -> Option<WatchId> {
        self.observe(history);
        let revision = self.revision;
        let owner = self.streams.get_mut(&stream)?;
        let validated = validate(&request, history).and_then(|range| {
            let id = owner.allocate_id(request.watch_id).map_err(str::to_string)?;
            Ok((range, id))
        });
        let (range, id) = match validated {
            Ok(valid) => valid,
            Err(reason) => {
                owner.push(refusal(revision, reason));
                return None;
            }
        };
        owner.push(WatchResponse { created: true, ..response(id, revision) });
        let who = WatcherRef { stream, id };
        let start = request.start_revision;
        if start == 0 || start > revision {
            // Nothing in the past to send: synced from the start (etcd does the same).
            let mut watcher = Watcher::new(&request, range, start.max(revision + 1));
            watcher.synced = true;
            self.synced.insert(who, &watcher.range);
            owner.watchers.insert(id, watcher);
        } else {
            owner.watchers.insert(id, Watcher::new(&request, range, start));
            self.unsynced.insert(who);
            self.catch_up(who, history);
        }
        Some(id)
    }

    /// Cancels a watcher and queues its `canceled` response. False (and nothing queued, as etcd)
    /// when there is no such watcher.
    pub fn cancel<H: EventHistory + ?Sized>(
        &mut self,
        stream: StreamId,
        request: WatchCancelRequest,
        history: &H,
    ) -> bool {
        self.observe(history);
        let who = WatcherRef { stream, id: request.watch_id };
        if self.remove(who).is_none() {
            return false;
        }
        self.push(stream, WatchResponse { canceled: true, ..response(who.id, self.revision) });
        self.answer_progress_if_ready(stream);
        true
    }

    /// A client's progress request: queues a progress notification for the whole stream (id -1)
    /// at the hub's revision once every watcher of the stream is synced — now if they are, else
    /// at the `sync` that gets them there. A stream without watchers gets none (as etcd).
    pub fn request_progress<H: EventHistory + ?Sized>(
        &mut self,
        stream: StreamId,
        _request: WatchProgressRequest,
        history: &H,
    ) {
        self.observe(history);
        let Some(owner) = self.streams.get_mut(&stream) else { return };
        if owner.watchers.values().any(|watcher| !watcher.synced) {
            probes::hit(Probe::ProgressRequestedWhileBehind);
        }
        owner.progress_wanted = true;
        self.answer_progress_if_ready(stream);
    }

    /// Delivers the events of one applied write (all of one revision) to the synced watchers they
    /// match: one response per watcher, filters applied, `prev_kv` only when asked for. A watcher
    /// whose stream has no room is moved to unsynced and caught up by a later `sync`.
    pub fn notify(&mut self, events: &[Event]) {
        let Some(revision) = events.first().map(Event::revision) else { return };
        if revision <= self.revision {
            return; // Already known from history: the watchers that need it catch up from there.
        }
        if revision > self.revision + 1 {
            self.demote_all(); // Revisions were missed: only history can fill the gap.
            self.move_to(revision);
            return;
        }
        self.move_to(revision);
        let events: Vec<&Event> = events
            .iter()
            .filter(|e| e.revision() == revision)
            .filter(|e| !(plant::active(Bug::LostDeleteEvent) && e.kind == EventType::Delete))
            .collect();
        for (who, matched) in self.matches(&events) {
            self.deliver_live(who, revision, matched);
        }
    }

    /// Catches up unsynced watchers from history as far as their outboxes have room, cancels those
    /// that fell below the store's compaction, and answers progress requests that can now be
    /// answered. Call it after draining outboxes, after a compaction, or on a timer (etcd: 100 ms).
    pub fn sync<H: EventHistory + ?Sized>(&mut self, history: &H) {
        self.observe(history);
        let behind: Vec<WatcherRef> = self.unsynced.iter().copied().collect();
        for who in behind {
            self.catch_up(who, history);
        }
        let waiting: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, stream)| stream.progress_wanted)
            .map(|(&id, _)| id)
            .collect();
        for stream in waiting {
            self.answer_progress_if_ready(stream);
        }
    }

    /// The periodic progress notification (etcd: every 10 minutes by default): each synced
    /// `progress_notify` watcher that was sent no events since the last tick gets an empty
    /// response at the hub's revision.
    pub fn tick_progress<H: EventHistory + ?Sized>(&mut self, history: &H) {
        self.observe(history);
        let revision = self.revision;
        for stream in self.streams.values_mut() {
            let mut due = Vec::new();
            for (&id, watcher) in stream.watchers.iter_mut().filter(|(_, w)| w.progress_notify) {
                if watcher.quiet && watcher.synced {
                    due.push(id);
                }
                watcher.quiet = true;
            }
            for id in due {
                stream.push(response(id, revision));
            }
        }
    }

    /// The next response to send on `stream`, if any.
    pub fn next_response(&mut self, stream: StreamId) -> Option<WatchResponse> {
        self.streams.get_mut(&stream)?.pop()
    }

    /// Every response waiting on `stream`, in sending order.
    pub fn take_responses(&mut self, stream: StreamId) -> Vec<WatchResponse> {
        self.streams.get_mut(&stream).map(Stream::take_all).unwrap_or_default()
    }

    /// Events waiting in `stream`'s outbox.
    pub fn pending_events(&self, stream: StreamId) -> usize {
        self.streams.get(&stream).map_or(0, Stream::pending_events)
    }

    /// Watchers in the hub, synced and unsynced.
    pub fn watcher_count(&self) -> usize {
        self.synced.len() + self.unsynced.len()
    }

    /// Watchers waiting to be caught up from history.
    pub fn unsynced_count(&self) -> usize {
        self.unsynced.len()
    }

    /// Whether `stream` has a watcher `id`, and whether it is synced.
    pub fn watcher_synced(&self, stream: StreamId, id: WatchId) -> Option<bool> {
        Some(self.streams.get(&stream)?.watchers.get(&id)?.synced)
    }

    /// Takes `revision` as delivered to every synced watcher without sending them anything: only
    /// the planted `snapshot-watch-gap` calls this, and it breaks the synced watchers' guarantee
    /// (they go on after `revision` and never see the events before it).
    pub fn assume_delivered(&mut self, revision: i64) {
        self.move_to(self.revision.max(revision));
    }

    /// Notices revisions the store has that the hub was not notified of: synced watchers can no
    /// longer vouch for them, so all of them go back to catching up from history.
    fn observe<H: EventHistory + ?Sized>(&mut self, history: &H) {
        let current = history.current_revision();
        if current > self.revision {
            self.demote_all();
            self.move_to(current);
        }
    }

    /// Takes `revision` as the newest the hub knows of. The hub's revision only grows: a synced
    /// watcher vouches for everything up to it, and no watcher can be un-sent an event.
    fn move_to(&mut self, revision: i64) {
        crate::invariant!(
            revision >= self.revision,
            "the watch hub's revision would go back from {} to {revision}",
            self.revision
        );
        self.revision = revision;
    }

    /// Moves every synced watcher to unsynced. They have been sent everything up to `revision`,
    /// so they resume after it.
    fn demote_all(&mut self) {
        let resume = self.revision + 1;
        for who in self.synced.take_all() {
            if let Some(watcher) = self.watcher_mut(who) {
                watcher.synced = false;
                let next = watcher.next_revision.max(resume);
                watcher.advance(next);
                self.unsynced.insert(who);
            }
        }
    }

    /// Pairs every synced watcher matching some of `events` with the events it matched, in
    /// watcher order; each watcher's events stay in write order.
    fn matches<'a>(&self, events: &[&'a Event]) -> Vec<(WatcherRef, Vec<&'a Event>)> {
        let mut hits: Vec<(WatcherRef, usize)> = Vec::new();
        let mut found = Vec::new();
        for (index, event) in events.iter().enumerate() {
            found.clear();
            self.synced.matching(&event.kv.key, &mut found);
            hits.extend(found.iter().map(|&who| (who, index)));
        }
        hits.sort_unstable();
        let mut grouped: Vec<(WatcherRef, Vec<&'a Event>)> = Vec::new();
        for (who, index) in hits {
            match grouped.last_mut() {
                Some((last, matched)) if *last == who => matched.push(events[index]),
                _ => grouped.push((who, vec![events[index]])),
            }
        }
        grouped
    }

    /// Sends one synced watcher its events of `revision`, or demotes it when its stream is full.
    fn deliver_live(&mut self, who: WatcherRef, revision: i64, matched: Vec<&Event>) {
        let limit = self.config.max_pending_events;
        let max_bytes = self.config.max_response_bytes;
        let Some(owner) = self.streams.get_mut(&who.stream) else { return };
        let pending = owner.pending_events();
        let Some(watcher) = owner.watchers.get_mut(&who.id) else { return };
        if watcher.next_revision > revision {
            return; // Starts in the future.
        }
        let events = watcher.select(matched);
        if events.is_empty() {
            watcher.advance(revision + 1); // All filtered out: etcd sends nothing.
            return;
        }
        if pending != 0 && pending + events.len() > limit {
            // Slow consumer: stop here and catch up from history once the outbox drains.
            probes::hit(Probe::WatcherFellBehind);
            watcher.synced = false;
            watcher.advance(revision);
            let range = watcher.range.clone();
            self.synced.remove(who, &range);
            self.unsynced.insert(who);
            return;
        }
        watcher.advance(revision + 1);
        watcher.quiet = false;
        let fragment = watcher.fragment;
        let reply = WatchResponse { events, ..response(who.id, revision) };
        push_split(owner, reply, fragment, max_bytes);
    }

    /// Sends an unsynced watcher what history owes it, batch by batch, while its outbox has room;
    /// moves it to synced when nothing is left, cancels it when history is compacted past it.
    fn catch_up<H: EventHistory + ?Sized>(&mut self, who: WatcherRef, history: &H) {
        loop {
            let Some((next, range)) = self.watcher(who).map(|w| (w.next_revision, w.range.clone()))
            else {
                self.unsynced.remove(&who);
                return;
            };
            if next > self.revision {
                self.promote(who);
                return;
            }
            let compacted = history.compact_revision();
            if next < compacted {
                probes::hit(Probe::WatcherCompactedWhileCatchingUp);
                self.cancel_compacted(who, compacted);
                return;
            }
            let to = self
                .revision
                .min(history.current_revision())
                .min(next.saturating_add(self.config.max_catch_up_revisions.max(1) - 1));
            if to < next {
                return; // The store is behind what the hub was notified of; wait for it.
            }
            if !self.has_room(who.stream) {
                return; // Nothing would fit: do not read history for nothing.
            }
            let from = if plant::active(Bug::WatchSkip) { next + 1 } else { next };
            let events = match history.events(&range, from, to) {
                Ok(events) => events,
                Err(Error::Compacted { compact_revision }) => {
                    probes::hit(Probe::WatcherCompactedWhileCatchingUp);
                    self.cancel_compacted(who, compact_revision);
                    return;
                }
                Err(other) => {
                    self.cancel_failed(who, other.to_string());
                    return;
                }
            };
            if !self.send_batch(who, events, to) {
                return; // Outbox full: the next `sync` continues from here.
            }
        }
    }

    /// Sends the longest run of whole revisions out of `events` (read up to `to`) that fits the
    /// watcher's outbox. True when the whole batch went out.
    fn send_batch(&mut self, who: WatcherRef, events: Vec<Event>, to: i64) -> bool {
        let limit = self.config.max_pending_events;
        let max_bytes = self.config.max_response_bytes;
        let Some(owner) = self.streams.get_mut(&who.stream) else { return false };
        let pending = owner.pending_events();
        let Some(watcher) = owner.watchers.get_mut(&who.id) else { return false };
        let mut selected = watcher.select(&events);
        if selected.is_empty() {
            watcher.advance(to + 1);
            return true;
        }
        let budget = limit.saturating_sub(pending);
        let Some((count, last)) = whole_revisions_within(&selected, budget, pending == 0) else {
            return false;
        };
        let complete = count == selected.len();
        let through = if complete { to } else { last };
        selected.truncate(count);
        watcher.advance(through + 1);
        watcher.quiet = false;
        let fragment = watcher.fragment;
        let reply = WatchResponse { events: selected, ..response(who.id, through) };
        push_split(owner, reply, fragment, max_bytes);
        complete
    }

    fn promote(&mut self, who: WatcherRef) {
        self.unsynced.remove(&who);
        if let Some(watcher) = self.watcher_mut(who) {
            watcher.synced = true;
            let range = watcher.range.clone();
            self.synced.insert(who, &range);
        }
    }

    /// Ends a watcher whose next revision was compacted away (etcd: canceled with
    /// `compact_revision` and no reason).
    fn cancel_compacted(&mut self, who: WatcherRef, compact_revision: i64) {
        if self.remove(who).is_some() {
            let base = response(who.id, self.revision);
            self.push(who.stream, WatchResponse { canceled: true, compact_revision, ..base });
            self.answer_progress_if_ready(who.stream);
        }
    }

    /// Ends a watcher whose history could not be read for another reason.
    fn cancel_failed(&mut self, who: WatcherRef, cancel_reason: String) {
        if self.remove(who).is_some() {
            let base = response(who.id, self.revision);
            self.push(who.stream, WatchResponse { canceled: true, cancel_reason, ..base });
            self.answer_progress_if_ready(who.stream);
        }
    }

    /// Queues a pending whole-stream progress notification if every watcher is synced now.
    fn answer_progress_if_ready(&mut self, stream: StreamId) {
        let revision = self.revision;
        let Some(owner) = self.streams.get_mut(&stream) else { return };
        if !owner.progress_wanted || !owner.all_synced() {
            return;
        }
        owner.progress_wanted = false;
        if !owner.watchers.is_empty() {
            owner.push(response(INVALID_WATCH_ID, revision));
        }
    }

    /// Whether `stream`'s outbox can take at least one more event.
    fn has_room(&self, stream: StreamId) -> bool {
        self.streams.get(&stream).is_some_and(|owner| {
            let pending = owner.pending_events();
            pending == 0 || pending < self.config.max_pending_events
        })
    }

    fn push(&mut self, stream: StreamId, reply: WatchResponse) {
        if let Some(owner) = self.streams.get_mut(&stream) {
            owner.push(reply);
        }
    }

    fn watcher(&self, who: WatcherRef) -> Option<&Watcher> {
        self.streams.get(&who.stream)?.watchers.get(&who.id)
    }

    fn watcher_mut(&mut self, who: WatcherRef) -> Option<&mut Watcher> {
        self.streams.get_mut(&who.stream)?.watchers.get_mut(&who.id)
    }

    /// Takes a watcher out of its stream and its group.
    fn remove(&mut self, who: WatcherRef) -> Option<Watcher> {
        let watcher = self.streams.get_mut(&who.stream)?.watchers.remove(&who.id)?;
        self.unindex(who, &watcher);
        Some(watcher)
    }

    fn unindex(&mut self, who: WatcherRef, watcher: &Watcher) {
        if watcher.synced {
            self.synced.remove(who, &watcher.range);
        } else {
            self.unsynced.remove(&who);
        }
    }
}

/// The watched range of a create request, or the reason etcd refuses it.
fn validate<H: EventHistory + ?Sized>(
    request: &WatchCreateRequest,
    history: &H,
) -> Result<KeyRange, String> {
    if request.start_revision < 0 {
        // etcd answers a negative start revision with the compacted error text.
        return Err(Error::Compacted { compact_revision: history.compact_revision() }.to_string());
    }
    // etcd: an empty key means the smallest key, "\0".
    let key = if request.key.is_empty() { vec![0] } else { request.key.clone() };
    let range = KeyRange { key, range_end: request.range_end.clone() };
    let bounded = !range.range_end.is_empty() && range.range_end != [0];
    if bounded && range.key >= range.range_end {
        return Err(EMPTY_WATCHER_RANGE.to_string());
    }
    Ok(range)
}

fn refusal(revision: i64, cancel_reason: String) -> WatchResponse {
    WatchResponse {
        created: true,
        canceled: true,
        cancel_reason,
        ..response(INVALID_WATCH_ID, revision)
    }
}

/// Queues `reply`, split into fragments when the watcher asked for that.
fn push_split(owner: &mut Stream, reply: WatchResponse, fragment: bool, max_bytes: usize) {
    if !fragment {
        owner.push(reply);
        return;
    }
    for piece in fragment::split(reply, max_bytes) {
        owner.push(piece);
    }
}

/// The longest prefix of `events` (sorted by revision) that holds only whole revisions and at
/// most `budget` events: its length and last revision. With `take_one`, the first revision is
/// taken even when it alone exceeds the budget (an empty outbox must always make progress).
fn whole_revisions_within(events: &[Event], budget: usize, take_one: bool) -> Option<(usize, i64)> {
    let mut taken = None;
    let mut end = 0;
    while end < events.len() {
        let revision = events[end].revision();
        let next = end + events[end..].iter().take_while(|e| e.revision() == revision).count();
        if next > budget && !(take_one && taken.is_none()) {
            break;
        }
        taken = Some((next, revision));
        end = next;
    }
    taken
}
