//! Property test for the watcher hub: random interleavings of writes, watcher creates (random
//! ranges, start revisions, filters, options), cancels, compactions, progress requests, ticks,
//! syncs and slow consumers (streams drained rarely, in small bites, with tiny outboxes).
//!
//! A model consumer reads every stream in order, as a client would, and checks each watcher's
//! stream against the reference log of every event ever written:
//! - what a watcher received is exactly a prefix of its reference events (range, start revision,
//!   filters and `prev_kv` applied): ordered, no duplicates, no gaps;
//! - every response holds whole revisions (after joining fragments);
//! - a watcher still alive at the end received all of them;
//! - a compaction cancel names a compaction that happened and that the watcher was really behind;
//! - every progress notification at R comes after every event <= R its watchers are owed;
//! - a watcher resumed from `last + 1` receives exactly the rest;
//! - the same operations give byte-identical responses (the hub is deterministic).
//!
//! Some writes reach the store without their `notify` (it comes late or never), as after a missed
//! notification or a restored snapshot: the guarantees must hold anyway.

use detcd_core::kv::{Event, KeyRange};
use detcd_core::watch::{
    EventHistory, MemoryHistory, StreamId, WatchCancelRequest, WatchConfig, WatchCreateRequest,
    WatchFilter, WatchHub, WatchId, WatchProgressRequest, WatchResponse, AUTO_WATCH_ID,
    INVALID_WATCH_ID,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

const KEYS: [&str; 6] = ["a", "a/1", "a/2", "b", "c", "d"];
const STREAMS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    /// One revision: (key, Some(value) = put / None = delete).
    Write(Vec<(usize, Option<u8>)>),
    /// A revision applied to the store whose `notify` is held back (a missed notification).
    WriteUnnotified(Vec<(usize, Option<u8>)>),
    /// The oldest held-back notification finally arrives, late.
    LateNotify,
    Create(CreateOp),
    Cancel {
        stream: usize,
        pick: usize,
    },
    Compact {
        pick: i64,
    },
    Progress {
        stream: usize,
    },
    Tick,
    /// The client reads `count` responses of a stream (0 = all of them).
    Drain {
        stream: usize,
        count: usize,
    },
    Sync,
}

#[derive(Debug, Clone)]
struct CreateOp {
    stream: usize,
    range: usize,
    start: i64,
    filter: u8,
    prev_kv: bool,
    fragment: bool,
    progress_notify: bool,
    id: i64,
}

/// The request and the range the hub will watch (an empty key means "\0", as in etcd).
fn range_choice(choice: usize) -> (Vec<u8>, Vec<u8>) {
    match choice {
        0 => (b"a".to_vec(), Vec::new()),
        1 => (b"a/1".to_vec(), Vec::new()),
        2 => (KeyRange::prefix("a/").key, KeyRange::prefix("a/").range_end),
        3 => (KeyRange::prefix("a").key, KeyRange::prefix("a").range_end),
        4 => (b"b".to_vec(), b"d".to_vec()),
        5 => (b"b".to_vec(), vec![0]),
        _ => (Vec::new(), vec![0]),
    }
}

fn op() -> impl Strategy<Value = Op> {
    let changes =
        prop::collection::vec((0..KEYS.len(), prop::option::weighted(0.8, 0u8..10)), 1..4);
    let write = changes.clone().prop_map(Op::Write);
    let unnotified = changes.prop_map(Op::WriteUnnotified);
    let create =
        (0..STREAMS, 0usize..7, 0i64..8, 0u8..6, any::<bool>(), any::<bool>(), any::<bool>())
            .prop_flat_map(|(stream, range, start, filter, prev_kv, fragment, progress_notify)| {
                (0i64..6).prop_map(move |id| {
                    let id = if id < 3 { AUTO_WATCH_ID } else { id - 2 };
                    Op::Create(CreateOp {
                        stream,
                        range,
                        start,
                        filter,
                        prev_kv,
                        fragment,
                        progress_notify,
                        id,
                    })
                })
            });
    prop_oneof![
        6 => write,
        1 => unnotified,
        1 => Just(Op::LateNotify),
        3 => create,
        1 => (0..STREAMS, 0usize..8).prop_map(|(stream, pick)| Op::Cancel { stream, pick }),
        1 => (0i64..100).prop_map(|pick| Op::Compact { pick }),
        1 => (0..STREAMS).prop_map(|stream| Op::Progress { stream }),
        1 => Just(Op::Tick),
        3 => (0..STREAMS, 0usize..3).prop_map(|(stream, count)| Op::Drain { stream, count }),
        2 => Just(Op::Sync),
    ]
}

fn config() -> impl Strategy<Value = WatchConfig> {
    (1usize..6, 1i64..4, any::<bool>()).prop_map(|(pending, revisions, small)| WatchConfig {
        max_pending_events: pending,
        max_catch_up_revisions: revisions,
        max_response_bytes: if small { 60 } else { WatchConfig::default().max_response_bytes },
    })
}

#[derive(Debug, Clone, PartialEq)]
enum End {
    Canceled,
    Compacted(i64),
}

/// One watcher's life, as the model client sees it.
#[derive(Debug)]
struct Incarnation {
    request: WatchCreateRequest,
    range: KeyRange,
    /// The resolved start revision (0 = the revision after the one at creation).
    start: i64,
    received: Vec<Event>,
    /// Events of fragments not yet joined.
    partial: Vec<Event>,
    end: Option<End>,
    /// The incarnation this one resumes, if any.
    resumes: Option<usize>,
}

impl Incarnation {
    /// Everything this watcher is owed by the reference log.
    fn expected(&self, log: &[Event]) -> Vec<Event> {
        let no_put = self.request.filters.contains(&WatchFilter::NoPut);
        let no_delete = self.request.filters.contains(&WatchFilter::NoDelete);
        log.iter()
            .filter(|e| e.revision() >= self.start && self.range.contains(&e.kv.key))
            .filter(|e| match e.kind {
                detcd_core::kv::EventType::Put => !no_put,
                detcd_core::kv::EventType::Delete => !no_delete,
            })
            .map(|e| {
                let mut e = e.clone();
                if !self.request.prev_kv {
                    e.prev_kv = None;
                }
                e
            })
            .collect()
    }

    fn last_revision(&self) -> i64 {
        self.received.last().map_or(self.start - 1, Event::revision)
    }
}

#[derive(Default)]
struct StreamModel {
    /// Create calls in order: the incarnation, or None when refused.
    creates: VecDeque<Option<usize>>,
    announced: BTreeMap<WatchId, usize>,
}

struct World {
    hub: WatchHub,
    history: MemoryHistory,
    log: Vec<Event>,
    compactions: BTreeSet<i64>,
    streams: Vec<StreamId>,
    models: BTreeMap<StreamId, StreamModel>,
    incarnations: Vec<Incarnation>,
    /// Notifications held back by `WriteUnnotified`.
    late: VecDeque<Vec<Event>>,
    /// Every response, for the determinism check.
    transcript: Vec<(StreamId, WatchResponse)>,
}

impl World {
    fn new(config: WatchConfig) -> Self {
        let mut hub = WatchHub::new(config);
        let streams: Vec<StreamId> = (0..STREAMS).map(|_| hub.open_stream()).collect();
        let models = streams.iter().map(|&s| (s, StreamModel::default())).collect();
        World {
            hub,
            history: MemoryHistory::new(),
            log: Vec::new(),
            compactions: BTreeSet::new(),
            streams,
            models,
            incarnations: Vec::new(),
            late: VecDeque::new(),
            transcript: Vec::new(),
        }
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Write(changes) => {
                let events = self.write(changes);
                self.hub.notify(&events);
            }
            Op::WriteUnnotified(changes) => {
                let events = self.write(changes);
                self.late.push_back(events);
            }
            Op::LateNotify => {
                if let Some(events) = self.late.pop_front() {
                    self.hub.notify(&events);
                }
            }
            Op::Create(create) => {
                let (key, range_end) = range_choice(create.range);
                let current = self.history.current_revision();
                let start = if create.start == 0 { 0 } else { 1 + create.start % (current + 3) };
                let filters = match create.filter {
                    1 => vec![WatchFilter::NoPut],
                    2 => vec![WatchFilter::NoDelete],
                    _ => Vec::new(),
                };
                let request = WatchCreateRequest {
                    key,
                    range_end,
                    start_revision: start,
                    progress_notify: create.progress_notify,
                    filters,
                    prev_kv: create.prev_kv,
                    watch_id: create.id,
                    fragment: create.fragment,
                };
                self.create(self.streams[create.stream], request, None);
            }
            Op::Cancel { stream, pick } => {
                let stream = self.streams[*stream];
                let ids: Vec<WatchId> = (0..8).collect();
                let id = ids[*pick % ids.len()];
                self.hub.cancel(stream, WatchCancelRequest { watch_id: id }, &self.history);
            }
            Op::Compact { pick } => {
                let (current, compacted) =
                    (self.history.current_revision(), self.history.compact_revision());
                if current > compacted {
                    let target = compacted + 1 + pick % (current - compacted);
                    prop_assert_eq!(self.history.compact(target), Ok(()));
                    self.compactions.insert(target);
                }
            }
            Op::Progress { stream } => {
                let stream = self.streams[*stream];
                self.hub.request_progress(stream, WatchProgressRequest {}, &self.history);
            }
            Op::Tick => self.hub.tick_progress(&self.history),
            Op::Drain { stream, count } => {
                let stream = self.streams[*stream];
                let count = if *count == 0 { usize::MAX } else { *count };
                self.read(stream, count)?;
            }
            Op::Sync => self.hub.sync(&self.history),
        }
        Ok(())
    }

    /// Applies a write to the store and the reference log; returns its events.
    fn write(&mut self, changes: &[(usize, Option<u8>)]) -> Vec<Event> {
        let mut seen = BTreeSet::new();
        let changes: Vec<_> = changes
            .iter()
            .filter(|(key, _)| seen.insert(*key))
            .map(|(key, value)| (KEYS[*key].as_bytes().to_vec(), value.map(|v| vec![b'0' + v])))
            .collect();
        let events = self.history.write(&changes);
        self.log.extend(events.iter().cloned());
        events
    }

    fn create(&mut self, stream: StreamId, request: WatchCreateRequest, resumes: Option<usize>) {
        let start = match request.start_revision {
            0 => self.history.current_revision() + 1,
            start => start,
        };
        let key = if request.key.is_empty() { vec![0] } else { request.key.clone() };
        let range = KeyRange { key, range_end: request.range_end.clone() };
        let created = self.hub.create(stream, request.clone(), &self.history);
        let incarnation = created.map(|_| {
            self.incarnations.push(Incarnation {
                request,
                range,
                start,
                received: Vec::new(),
                partial: Vec::new(),
                end: None,
                resumes,
            });
            self.incarnations.len() - 1
        });
        self.model(stream).creates.push_back(incarnation);
    }

    fn model(&mut self, stream: StreamId) -> &mut StreamModel {
        self.models.entry(stream).or_default()
    }

    /// The client reads up to `count` responses of `stream`, checking each.
    fn read(&mut self, stream: StreamId, count: usize) -> Result<(), TestCaseError> {
        for _ in 0..count {
            let Some(response) = self.hub.next_response(stream) else { break };
            self.transcript.push((stream, response.clone()));
            self.receive(stream, response)?;
        }
        Ok(())
    }

    fn receive(&mut self, stream: StreamId, response: WatchResponse) -> Result<(), TestCaseError> {
        if response.created {
            let incarnation = self.model(stream).creates.pop_front();
            prop_assert!(incarnation.is_some(), "a created response nobody asked for");
            match incarnation.flatten() {
                Some(index) => {
                    prop_assert!(!response.canceled);
                    self.model(stream).announced.insert(response.watch_id, index);
                }
                None => {
                    prop_assert!(response.canceled && response.watch_id == INVALID_WATCH_ID);
                }
            }
            return Ok(());
        }
        if response.is_progress() {
            return self.check_progress(stream, &response);
        }
        let index = self.model(stream).announced.get(&response.watch_id).copied();
        let Some(index) = index else {
            return Err(TestCaseError::fail(format!("response for unknown watcher {response:?}")));
        };
        if response.canceled {
            self.model(stream).announced.remove(&response.watch_id);
            let incarnation = &mut self.incarnations[index];
            prop_assert!(incarnation.partial.is_empty(), "canceled in the middle of fragments");
            incarnation.end = Some(match response.compact_revision {
                0 => End::Canceled,
                revision => End::Compacted(revision),
            });
            return Ok(());
        }
        let incarnation = &mut self.incarnations[index];
        incarnation.partial.extend(response.events.iter().cloned());
        if response.fragment {
            return Ok(());
        }
        let joined = std::mem::take(&mut incarnation.partial);
        prop_assert!(!joined.is_empty());
        let last = joined.last().map_or(0, Event::revision);
        prop_assert!(response.header.revision >= last, "header behind its events");
        let expected = incarnation.expected(&self.log);
        for revision in joined.iter().map(Event::revision).collect::<BTreeSet<_>>() {
            let got = joined.iter().filter(|e| e.revision() == revision).count();
            let owed = expected.iter().filter(|e| e.revision() == revision).count();
            prop_assert_eq!(got, owed, "revision {} split across responses", revision);
        }
        incarnation.received.extend(joined);
        Ok(())
    }

    /// A progress notification at R: every watcher it speaks for has every event <= R.
    fn check_progress(
        &mut self,
        stream: StreamId,
        response: &WatchResponse,
    ) -> Result<(), TestCaseError> {
        let revision = response.header.revision;
        let announced = &self.model(stream).announced;
        let covered: Vec<usize> = if response.watch_id == INVALID_WATCH_ID {
            announced.values().copied().collect()
        } else {
            announced.get(&response.watch_id).copied().into_iter().collect()
        };
        prop_assert!(!covered.is_empty(), "progress for no watcher");
        for index in covered {
            let incarnation = &self.incarnations[index];
            let owed = incarnation.expected(&self.log);
            let owed = owed.iter().filter(|e| e.revision() <= revision).count();
            let got = incarnation.received.iter().filter(|e| e.revision() <= revision).count();
            prop_assert_eq!(got, owed, "progress at {} before all events were sent", revision);
        }
        Ok(())
    }

    /// Syncs and drains until every watcher is caught up.
    fn flush(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..100_000 {
            self.hub.sync(&self.history);
            let streams: Vec<StreamId> = self.models.keys().copied().collect();
            for stream in streams {
                self.read(stream, usize::MAX)?;
            }
            if self.hub.unsynced_count() == 0 {
                return Ok(());
            }
        }
        Err(TestCaseError::fail("watchers never caught up"))
    }

    /// Resumes every watcher from its last revision + 1 on a fresh stream.
    fn resume_all(&mut self) {
        let stream = self.hub.open_stream();
        for index in 0..self.incarnations.len() {
            let original = &self.incarnations[index];
            let request = WatchCreateRequest {
                start_revision: original.last_revision() + 1,
                watch_id: AUTO_WATCH_ID,
                ..original.request.clone()
            };
            self.create(stream, request, Some(index));
        }
    }

    fn check_final(&self) -> Result<(), TestCaseError> {
        for (index, incarnation) in self.incarnations.iter().enumerate() {
            let expected = incarnation.expected(&self.log);
            let received = &incarnation.received;
            prop_assert!(received.len() <= expected.len(), "watcher {} got extra events", index);
            prop_assert_eq!(received, &expected[..received.len()], "watcher {} diverged", index);
            match &incarnation.end {
                None => {
                    prop_assert_eq!(received.len(), expected.len(), "watcher {} has gaps", index)
                }
                Some(End::Canceled) => {}
                Some(End::Compacted(revision)) => {
                    prop_assert!(
                        self.compactions.contains(revision),
                        "no compaction at {}",
                        revision
                    );
                    let next = incarnation.start.max(incarnation.last_revision() + 1);
                    prop_assert!(*revision > next, "canceled though not behind the compaction");
                }
            }
            if let (Some(original), None) = (incarnation.resumes, &incarnation.end) {
                let original = &self.incarnations[original];
                let mut joined = original.received.clone();
                joined.extend(received.iter().cloned());
                prop_assert_eq!(joined, original.expected(&self.log), "resume is not the rest");
            }
        }
        Ok(())
    }
}

fn run(config: WatchConfig, ops: &[Op]) -> Result<Vec<(StreamId, WatchResponse)>, TestCaseError> {
    let mut world = World::new(config);
    for op in ops {
        world.apply(op)?;
    }
    world.flush()?;
    prop_assert_eq!(world.hub.unsynced_count(), 0);
    world.resume_all();
    world.flush()?;
    world.check_final()?;
    Ok(world.transcript)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_watcher_gets_exactly_its_events(
        config in config(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let first = run(config.clone(), &ops)?;
        let second = run(config, &ops)?;
        prop_assert_eq!(first, second, "the hub is not deterministic");
    }
}
