//! `watch`: watchers over single keys, ranges and prefixes, resuming across lost streams under
//! writes and compactions, judged by the watch checker (`detcd_check::watch`: order, no
//! duplicates, atomic revisions, no gaps, cancels only for compaction, progress notifications
//! that vouch only for what came, `prev_kv`, `is_create`, filters, no phantoms) against the key
//! space's history.
//!
//! The simulator's `watch` shapes (`scenarios/src/watch.rs`): odd clients write puts, deletes
//! and two-key txns over keys under `w/` (and `x/e`, outside every watched range), recorded in
//! the `etcd` model's shapes (`put`, `delete`, `txn`), and client 1 compacts now and then, a
//! little or far behind the newest revision it saw. Even clients watch: each keeps three
//! watchers on one stream — the key `w/a`, the range `[w/b, w/d)` with a filter (NODELETE or
//! NOPUT, by client), the prefix `w/` with `prev_kv` — started now, at a past revision or at
//! revision 1, and asks for a progress notification every second; half of them (drawn from the
//! seed) are slow consumers that pause between reads. Every few seconds a client reconnects to
//! the same member and resumes its watchers; when a stream is lost (its member killed, paused,
//! cut off: no message for [`RECV_TIMEOUT`] after a progress request) it opens one on the next
//! member and resumes each watcher from its last revision + 1; a watcher canceled by a compaction
//! is replaced by one started now. Recorded: one `watch` operation per watcher whose output is
//! the watcher as `detcd_check::watch::Watcher` (its range, start, filters and every message in
//! order: event batches, progress notifications, resumptions, a cancel).
//!
//! The key space's history: the simulator reads the committed events from the members'
//! replicas; a real cluster does not hand them out, so the run keeps an *archive*: from the
//! setup on, the command itself watches every key from revision 1 with `prev_kv` (one stream,
//! resumed on the next member when lost), and compactions never pass what the archive has
//! received, so its history stays complete. After the heal its events up to the cluster's
//! revision then are recorded as `watch-committed`, and the watch checker judges every watcher
//! against them. The archive is itself a watcher of the system under test, so it is judged on
//! its own, against what clients were told (`watch archive`): every revision from 2 to the end
//! has events (a revision with none was skipped), every acknowledged write is there at the
//! revision its answer named, with its value, and every put in it wrote a value a client
//! wrote. A missing or phantom event that the archive shares with a watcher is caught there.

use super::{jitter, Ctx, Shared, Verdict};
use crate::recorder::{Pending, Recorder};
use detcd_check::history::Operation;
use detcd_check::watch::{self as check, EventKind, Filter, Message, WatchHistory, Watcher};
use detcd_core::api::*;
use detcd_core::client::ClientResult;
use detcd_core::kv::{Event, EventType};
use detcd_core::watch::{
    WatchCreateRequest, WatchFilter, WatchProgressRequest, WatchRequest, WatchResponse,
    INVALID_WATCH_ID,
};
use detcd_proto::client::{GrpcClient, GrpcWatcher};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keys the writers change; `x/e` is outside every watched range.
const KEYS: [&str; 5] = ["w/a", "w/b", "w/c", "w/d", "x/e"];
/// How long a stream may stay silent after a progress request before it counts as lost.
const RECV_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a watching client asks for a progress notification.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// How far behind the newest revision client 1 compacts, most of the time.
const COMPACT_LAG: i64 = 25;
/// How long a slow consumer waits between reads (milliseconds).
const SLOW_READ_PAUSE_MS: std::ops::Range<u64> = 200..800;
/// How long a client keeps one stream before it reconnects to the same member (milliseconds).
const STREAM_LIFETIME_MS: std::ops::Range<u64> = 2_000..8_000;
/// How long the finish waits for the archive to reach the cluster's revision.
const ARCHIVE_CATCH_UP: Duration = Duration::from_secs(30);

/// The archive: every event of the key space from revision 1, as one stream of the command
/// received it.
pub struct Archive {
    /// One past the newest revision received: compactions must not go beyond it.
    next: AtomicI64,
    events: Mutex<Vec<check::Event>>,
    /// Why the archive stopped short (it was canceled), if it did.
    trouble: Mutex<Option<String>>,
    stop: AtomicBool,
}

impl Default for Archive {
    fn default() -> Archive {
        Archive {
            next: AtomicI64::new(1),
            events: Mutex::default(),
            trouble: Mutex::default(),
            stop: AtomicBool::new(false),
        }
    }
}

impl Archive {
    /// One past the newest revision the archive holds: compactions must not go beyond it.
    pub fn next(&self) -> i64 {
        self.next.load(Ordering::SeqCst)
    }
}

/// Starts the archive's stream (on the fresh cluster, before any write).
pub fn start_archive(endpoints: Vec<String>, shared: Arc<Shared>) {
    tokio::spawn(async move {
        let mut member = 0;
        while !shared.archive.stop.load(Ordering::SeqCst) {
            let endpoint = endpoints[member % endpoints.len()].as_str();
            if let Ok(client) = GrpcClient::new(&[endpoint]) {
                if archive_stream(&client, &shared.archive).await {
                    return;
                }
            }
            member += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

/// Follows one stream until it is lost (false) or the archive is stopped or canceled (true).
async fn archive_stream(client: &GrpcClient, archive: &Archive) -> bool {
    let Ok(mut stream) = client.watch().await else { return false };
    let create = WatchCreateRequest {
        key: vec![0],
        range_end: vec![0],
        start_revision: archive.next(),
        prev_kv: true,
        ..Default::default()
    };
    if stream.send(WatchRequest::Create(create)).await.is_err() {
        return false;
    }
    let mut heard = Instant::now();
    loop {
        if archive.stop.load(Ordering::SeqCst) {
            return true;
        }
        let response = match tokio::time::timeout(PROGRESS_EVERY, stream.recv()).await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) => return false,
            Err(_) if heard.elapsed() > PROGRESS_EVERY + RECV_TIMEOUT => return false,
            Err(_) => {
                let progress = WatchRequest::Progress(WatchProgressRequest {});
                if stream.send(progress).await.is_err() {
                    return false;
                }
                continue;
            }
        };
        heard = Instant::now();
        if response.canceled {
            let why = format!(
                "the archive's watch was canceled at revision {} (compact revision {}, reason {:?})",
                archive.next(),
                response.compact_revision,
                response.cancel_reason
            );
            *archive.trouble.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
            return true;
        }
        let next = archive.next();
        let events: Vec<check::Event> = response
            .events
            .iter()
            .filter(|e| e.kv.mod_revision >= next)
            .map(|e| checker_event(e, true))
            .collect();
        if let Some(last) = events.last() {
            let newest = last.revision;
            archive.events.lock().unwrap_or_else(|p| p.into_inner()).extend(events);
            archive.next.store(newest + 1, Ordering::SeqCst);
        }
    }
}

/// After the heal: waits for the archive to reach the cluster's revision and records its
/// events as `watch-committed`.
pub async fn finish(client: &GrpcClient, recorder: &Recorder, index: u64, shared: &Shared) {
    let archive = &shared.archive;
    let pending = recorder.invoke(index, "watch-committed", None, Value::Null);
    let mut revision = None;
    for _ in 0..30 {
        let request = RangeRequest { key: b"w/a".to_vec(), ..Default::default() };
        if let Ok(r) = client.range(request).await {
            revision = Some(r.header.revision);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let Some(revision) = revision else {
        archive.stop.store(true, Ordering::SeqCst);
        return recorder.unknown(pending);
    };
    let deadline = Instant::now() + ARCHIVE_CATCH_UP;
    while archive.next() <= revision && Instant::now() < deadline {
        if archive.trouble.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    archive.stop.store(true, Ordering::SeqCst);
    let events: Vec<check::Event> = archive
        .events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|e| e.revision <= revision)
        .cloned()
        .collect();
    let trouble = archive.trouble.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let trouble = trouble.or_else(|| {
        (archive.next() <= revision).then(|| {
            format!(
                "the archive reached only revision {} of {revision} within {ARCHIVE_CATCH_UP:?}",
                archive.next() - 1
            )
        })
    });
    let committed = Committed { revision, events, trouble };
    match serde_json::to_value(&committed) {
        Ok(output) => recorder.complete(pending, output),
        Err(_) => recorder.unknown(pending),
    }
}

/// What `watch-committed` records.
#[derive(Serialize, Deserialize)]
pub struct Committed {
    /// The cluster's revision after the heal: the archive holds every event up to it.
    pub revision: i64,
    pub events: Vec<check::Event>,
    /// Why the archive is incomplete, if it is (then nothing is judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trouble: Option<String>,
}

/// A core event in the checker's shape; `prev` keeps the previous value. `create` is etcd's
/// `Event.IsCreate()`, as a client reads it.
fn checker_event(event: &Event, prev: bool) -> check::Event {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();
    let put = event.kind == EventType::Put;
    check::Event {
        revision: event.kv.mod_revision,
        key: text(&event.kv.key),
        kind: if put { EventKind::Put } else { EventKind::Delete },
        value: put.then(|| text(&event.kv.value)),
        prev_value: if prev { event.prev_kv.as_ref().map(|kv| text(&kv.value)) } else { None },
        create: Some(put && event.kv.create_revision == event.kv.mod_revision),
    }
}

pub async fn client(ctx: Ctx) {
    if ctx.index % 2 == 1 {
        writer(ctx).await
    } else {
        watcher_client(ctx).await
    }
}

async fn writer(mut ctx: Ctx) {
    let mut sequence = 0;
    let mut newest = 0;
    let mut compacted = 0;
    while ctx.running() {
        sequence += 1;
        let key = KEYS[ctx.rng.gen_range(0..KEYS.len())];
        let value = format!("c{}-{sequence}", ctx.index);
        let revision = match ctx.rng.gen_range(0..10) {
            0..=5 => put(&ctx, key, &value).await,
            6 | 7 => delete(&ctx, key).await,
            _ => two_key_txn(&ctx, key, &value).await,
        };
        newest = newest.max(revision.unwrap_or(0));
        if ctx.index == 1 && newest - COMPACT_LAG > compacted + 10 && ctx.rng.gen_bool(0.1) {
            let lag = match ctx.rng.gen_range(0..4) {
                0 => 0,
                1 => ctx.rng.gen_range(1..5),
                _ => COMPACT_LAG,
            };
            // Never past what the archive has: it must stay complete.
            let target = (newest - lag).min(ctx.shared.archive.next());
            if target > compacted {
                compacted = target;
                // Recorded, so the checker knows which previous values etcd may leave out.
                let input = json!({ "revision": target });
                let pending = ctx.recorder.invoke(ctx.index, "compact", None, input);
                let request = CompactionRequest { revision: target, ..Default::default() };
                let outcome = ctx.client.compact(request).await;
                settle(&ctx, pending, &outcome, |_| (json!({}), target));
            }
        }
        jitter(&mut ctx, 5, 60).await;
    }
}

/// Records a write's outcome: an answer as `output`, an open fate as unknown, a refusal leaves
/// the history. Returns the answer's revision.
fn settle<T>(
    ctx: &Ctx,
    pending: Pending,
    outcome: &ClientResult<T>,
    output: impl FnOnce(&T) -> (Value, i64),
) -> Option<i64> {
    match outcome {
        Ok(answer) => {
            let (output, revision) = output(answer);
            ctx.recorder.complete(pending, output);
            Some(revision)
        }
        Err(error) if error.is_unknown() => {
            ctx.recorder.unknown(pending);
            None
        }
        Err(_) => {
            ctx.recorder.refused(pending);
            None
        }
    }
}

async fn put(ctx: &Ctx, key: &str, value: &str) -> Option<i64> {
    let input = json!({"key": key, "value": value});
    let pending = ctx.recorder.invoke(ctx.index, "put", Some(key), input);
    let request = PutRequest { key: key.into(), value: value.into(), ..Default::default() };
    let outcome = ctx.client.put(request).await;
    settle(ctx, pending, &outcome, |r| (json!({"revision": r.header.revision}), r.header.revision))
}

async fn delete(ctx: &Ctx, key: &str) -> Option<i64> {
    let pending = ctx.recorder.invoke(ctx.index, "delete", Some(key), json!({"key": key}));
    let request = DeleteRangeRequest { key: key.into(), ..Default::default() };
    let outcome = ctx.client.delete_range(request).await;
    settle(ctx, pending, &outcome, |r| {
        (json!({"revision": r.header.revision, "deleted": r.deleted}), r.header.revision)
    })
}

/// Puts `key` and the next key in one txn: both events share one revision.
async fn two_key_txn(ctx: &Ctx, key: &str, value: &str) -> Option<i64> {
    let position = KEYS.iter().position(|k| *k == key).unwrap_or(0);
    let other = KEYS[(position + 1) % KEYS.len()];
    let put = |key: &str| {
        RequestOp::Put(PutRequest { key: key.into(), value: value.into(), ..Default::default() })
    };
    let txn = TxnRequest {
        compare: Vec::new(),
        success: vec![put(key), put(other)],
        failure: Vec::new(),
    };
    let input = json!({
        "compare": [],
        "success": [{"put": {"key": key, "value": value}}, {"put": {"key": other, "value": value}}],
        "failure": [],
    });
    let pending = ctx.recorder.invoke(ctx.index, "txn", Some(key), input);
    let outcome = ctx.client.txn(txn).await;
    settle(ctx, pending, &outcome, |r| {
        (json!({"revision": r.header.revision, "succeeded": r.succeeded}), r.header.revision)
    })
}

/// One watcher as the client keeps it: its record for the checker and where to resume.
struct Tracked {
    id: i64,
    record: Watcher,
    pending: Option<Pending>,
    /// The first revision still owed (last received + 1); 0 until the start is known.
    next: i64,
    /// Created with `start_revision` 0 and not yet confirmed: its start is still unknown.
    awaiting_start: bool,
    /// Created on some stream with a known start: a later stream resumes it.
    opened: bool,
    done: bool,
}

/// Watcher `k` of client `client` from `start` (see the module doc).
fn spec(client: u64, k: usize, start: i64) -> WatchCreateRequest {
    match k {
        0 => WatchCreateRequest::key("w/a", start),
        1 => WatchCreateRequest {
            key: b"w/b".to_vec(),
            range_end: b"w/d".to_vec(),
            start_revision: start,
            filters: vec![if (client / 2).is_multiple_of(2) {
                WatchFilter::NoDelete
            } else {
                WatchFilter::NoPut
            }],
            ..Default::default()
        },
        _ => WatchCreateRequest { prev_kv: true, ..WatchCreateRequest::prefix("w/", start) },
    }
}

fn checker_filter(filter: WatchFilter) -> Filter {
    match filter {
        WatchFilter::NoPut => Filter::NoPut,
        WatchFilter::NoDelete => Filter::NoDelete,
    }
}

/// The client's watchers with their kinds (0: key, 1: range, 2: prefix).
struct Watching {
    slow: bool,
    watchers: Vec<(usize, Tracked)>,
    next_id: i64,
}

impl Watching {
    fn add(&mut self, ctx: &Ctx, k: usize, start: i64) {
        self.next_id += 1;
        let request = spec(ctx.index, k, start);
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();
        let record = Watcher {
            key: text(&request.key),
            range_end: (!request.range_end.is_empty()).then(|| text(&request.range_end)),
            start_revision: start,
            prev_kv: request.prev_kv,
            filters: request.filters.iter().map(|f| checker_filter(*f)).collect(),
            received: Vec::new(),
        };
        let input = json!({"watch_id": self.next_id, "key": record.key, "range_end": record.range_end, "start_revision": start, "filters": record.filters});
        let pending = ctx.recorder.invoke(ctx.index, "watch", Some(&record.key), input);
        let tracked = Tracked {
            id: self.next_id,
            record,
            pending: Some(pending),
            next: start,
            awaiting_start: start == 0,
            opened: false,
            done: false,
        };
        self.watchers.push((k, tracked));
    }

    fn find(&mut self, id: i64) -> Option<&mut Tracked> {
        self.watchers.iter_mut().map(|(_, t)| t).find(|t| t.id == id && !t.done)
    }
}

fn finish_watcher(recorder: &Recorder, tracked: &mut Tracked) {
    if let Some(pending) = tracked.pending.take() {
        match serde_json::to_value(&tracked.record) {
            Ok(output) => recorder.complete(pending, output),
            Err(_) => recorder.unknown(pending),
        }
    }
}

/// Why a stream was given up.
struct Lost;

async fn watcher_client(mut ctx: Ctx) {
    let current = {
        let request = RangeRequest { key: b"w/a".to_vec(), ..Default::default() };
        ctx.client.range(request).await.map(|r| r.header.revision).unwrap_or(1)
    };
    let slow = ctx.rng.gen_bool(0.5);
    let mut watching = Watching { slow, watchers: Vec::new(), next_id: ctx.index as i64 * 1000 };
    for k in 0..3 {
        let start = match ctx.rng.gen_range(0..3) {
            0 => 0,
            1 => (current - ctx.rng.gen_range(0..15)).max(1),
            _ => 1,
        };
        watching.add(&ctx, k, start);
    }
    let clients: Vec<GrpcClient> =
        ctx.endpoints.iter().filter_map(|e| GrpcClient::new(&[e.as_str()]).ok()).collect();
    let mut member = 0;
    while ctx.running() && !clients.is_empty() {
        let client = &clients[member % clients.len()];
        if serve_stream(&mut ctx, &mut watching, client).await.is_err() {
            member += 1;
        }
        jitter(&mut ctx, 10, 200).await;
    }
    for (_, tracked) in &mut watching.watchers {
        finish_watcher(&ctx.recorder, tracked);
    }
}

/// Serves one stream until it is lost, the client reconnects (after a drawn lifetime) or the
/// chaos phase is over.
async fn serve_stream(
    ctx: &mut Ctx,
    watching: &mut Watching,
    client: &GrpcClient,
) -> Result<(), Lost> {
    let mut stream = client.watch().await.map_err(|_| Lost)?;
    create_all(ctx, &mut stream, watching).await?;
    let until = Instant::now() + Duration::from_millis(ctx.rng.gen_range(STREAM_LIFETIME_MS));
    let mut last_progress = Instant::now();
    let mut heard = Instant::now();
    while ctx.running() && Instant::now() < until {
        let due = last_progress + PROGRESS_EVERY;
        let wait = due.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        match tokio::time::timeout(wait, stream.recv()).await {
            Ok(Ok(response)) => {
                heard = Instant::now();
                handle(ctx, watching, response)?;
                replace_canceled(ctx, &mut stream, watching).await?;
            }
            Ok(Err(_)) => return Err(Lost),
            Err(_) => {}
        }
        if Instant::now() >= last_progress + PROGRESS_EVERY {
            // Silent since before the last progress request, and for long: the member is gone
            // (killed, paused, cut off), though the connection may not know it yet.
            if heard < last_progress && heard.elapsed() > PROGRESS_EVERY + RECV_TIMEOUT {
                return Err(Lost);
            }
            last_progress = Instant::now();
            let progress = WatchRequest::Progress(WatchProgressRequest {});
            stream.send(progress).await.map_err(|_| Lost)?;
        }
        if watching.slow {
            let pause = ctx.rng.gen_range(SLOW_READ_PAUSE_MS);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }
    Ok(())
}

/// Creates (or resumes) every live watcher on a new stream.
async fn create_all(
    ctx: &Ctx,
    stream: &mut GrpcWatcher,
    watching: &mut Watching,
) -> Result<(), Lost> {
    for (k, tracked) in &mut watching.watchers {
        if tracked.done {
            continue;
        }
        // A watcher started "now" whose creation was never confirmed simply starts now again.
        if tracked.opened {
            tracked.record.received.push(Message::Resume { start_revision: tracked.next });
        }
        tracked.opened = !tracked.awaiting_start;
        let request =
            WatchCreateRequest { watch_id: tracked.id, ..spec(ctx.index, *k, tracked.next) };
        stream.send(WatchRequest::Create(request)).await.map_err(|_| Lost)?;
    }
    Ok(())
}

/// Records one response for its watcher (a stream-wide progress for all of them).
fn handle(ctx: &Ctx, watching: &mut Watching, response: WatchResponse) -> Result<(), Lost> {
    let revision = response.header.revision;
    if response.watch_id == INVALID_WATCH_ID {
        if response.is_progress() {
            for (_, tracked) in &mut watching.watchers {
                if !tracked.done && !tracked.awaiting_start {
                    tracked.record.received.push(Message::Progress { revision });
                }
            }
        }
        return Ok(());
    }
    // Not ours: the member restarted and this number now belongs to someone else.
    let tracked = watching.find(response.watch_id).ok_or(Lost)?;
    if response.created && !response.canceled {
        if tracked.awaiting_start {
            tracked.awaiting_start = false;
            tracked.record.start_revision = revision + 1;
            tracked.next = revision + 1;
            tracked.opened = true;
        }
        return Ok(());
    }
    if response.canceled {
        let compact = (response.compact_revision > 0).then_some(response.compact_revision);
        tracked.record.received.push(Message::Canceled { compact_revision: compact });
        tracked.done = true;
        finish_watcher(&ctx.recorder, tracked);
        return Ok(());
    }
    if response.events.is_empty() {
        tracked.record.received.push(Message::Progress { revision });
        return Ok(());
    }
    let prev = tracked.record.prev_kv;
    let events: Vec<check::Event> =
        response.events.iter().map(|e| checker_event(e, prev)).collect();
    if let Some(last) = events.last() {
        tracked.next = tracked.next.max(last.revision + 1);
    }
    tracked.record.received.push(Message::Events { events });
    Ok(())
}

/// A watcher canceled by a compaction is replaced by a new one of the same kind, started now.
async fn replace_canceled(
    ctx: &Ctx,
    stream: &mut GrpcWatcher,
    watching: &mut Watching,
) -> Result<(), Lost> {
    let canceled: Vec<usize> = watching
        .watchers
        .iter()
        .filter(|(_, t)| t.done && t.pending.is_none())
        .map(|(k, _)| *k)
        .collect();
    watching.watchers.retain(|(_, t)| !t.done);
    for k in canceled {
        watching.add(ctx, k, 0);
        if let Some((_, tracked)) = watching.watchers.last() {
            let request = WatchCreateRequest { watch_id: tracked.id, ..spec(ctx.index, k, 0) };
            stream.send(WatchRequest::Create(request)).await.map_err(|_| Lost)?;
        }
    }
    Ok(())
}

/// The archive recorded by [`finish`], if it was.
pub fn committed(ops: &[Operation]) -> Option<Committed> {
    ops.iter()
        .filter(|op| op.f == "watch-committed" && op.ret.is_some())
        .find_map(|op| serde_json::from_value(op.output.clone()).ok())
}

/// The watch checker's verdict on every watcher, against the archive.
pub fn verdict(ops: &[Operation]) -> Verdict {
    let checker = "watch".to_string();
    let started = Instant::now();
    let unknown = |summary: String| Verdict { checker: checker.clone(), ok: None, summary };
    let Some(committed) = committed(ops) else {
        return unknown("unknown: the archive of committed events was not recorded".into());
    };
    if let Some(trouble) = committed.trouble {
        return unknown(format!("unknown: {trouble}"));
    }
    let watchers: Vec<Watcher> = ops
        .iter()
        .filter(|op| op.f == "watch" && op.ret.is_some())
        .filter_map(|op| serde_json::from_value(op.output.clone()).ok())
        .collect();
    // Create-ness is left to the checker, which derives it from the complete sequence, so the
    // archive's own `create_revision` cannot vouch for itself.
    let events = committed.events.into_iter().map(|e| check::Event { create: None, ..e });
    let compacted_to = ops
        .iter()
        .filter(|op| op.f == "compact")
        .filter_map(|op| op.input.get("revision")?.as_i64())
        .max();
    let history = WatchHistory { committed: events.collect(), watchers, compacted_to };
    let outcome = check::check(&history);
    let received: usize = history.watchers.iter().map(|w| w.received.len()).sum();
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) = match outcome.violation_summary() {
        None => (
            Some(true),
            format!(
                "ok ({} watchers, {received} messages, {} committed events, {seconds:.2}s)",
                history.watchers.len(),
                history.committed.len()
            ),
        ),
        Some(violated) => (Some(false), violated),
    };
    Verdict { checker, ok, summary }
}

/// The archive judged against what the writers were told (see the module doc).
pub fn archive_verdict(ops: &[Operation]) -> Verdict {
    let checker = "watch archive".to_string();
    let Some(committed) = committed(ops) else {
        let summary = "unknown: the archive of committed events was not recorded".into();
        return Verdict { checker, ok: None, summary };
    };
    if let Some(trouble) = &committed.trouble {
        return Verdict { checker, ok: None, summary: format!("unknown: {trouble}") };
    }
    let (ok, summary) = match archive_findings(ops, &committed).first() {
        None => (
            Some(true),
            format!("ok (revisions 2..={}, {} events)", committed.revision, committed.events.len()),
        ),
        Some(first) => (Some(false), format!("VIOLATED: {first}")),
    };
    Verdict { checker, ok, summary }
}

fn archive_findings(ops: &[Operation], committed: &Committed) -> Vec<String> {
    let mut findings = Vec::new();
    let mut at: BTreeMap<i64, Vec<&check::Event>> = BTreeMap::new();
    for event in &committed.events {
        at.entry(event.revision).or_default().push(event);
    }
    if let Some(missing) = (2..=committed.revision).find(|r| !at.contains_key(r)) {
        findings.push(format!("revision {missing} has no event in the archive"));
    }
    let has = |revision: i64, key: &str, kind: EventKind, value: Option<&str>| {
        at.get(&revision).is_some_and(|events| {
            events.iter().any(|e| e.key == key && e.kind == kind && e.value.as_deref() == value)
        })
    };
    let mut written: BTreeSet<(String, String)> = BTreeSet::new();
    for op in ops {
        let text =
            |v: &Value, field: &str| v.get(field).and_then(Value::as_str).map(str::to_string);
        let puts: Vec<(String, String)> = match op.f.as_str() {
            "put" => text(&op.input, "key").zip(text(&op.input, "value")).into_iter().collect(),
            "txn" => op.input["success"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| text(&r["put"], "key").zip(text(&r["put"], "value")))
                .collect(),
            _ => Vec::new(),
        };
        written.extend(puts.iter().cloned());
        let Some(revision) = op.ret.and_then(|_| op.output.get("revision")?.as_i64()) else {
            continue;
        };
        for (key, value) in &puts {
            if !has(revision, key, EventKind::Put, Some(value)) {
                findings.push(format!(
                    "client {}'s acknowledged put of {key}={value} at revision {revision} is not in the archive",
                    op.client
                ));
            }
        }
        let deleted = op.output.get("deleted").and_then(Value::as_i64).unwrap_or(0);
        if op.f == "delete" && deleted > 0 {
            let key = text(&op.input, "key").unwrap_or_default();
            if !has(revision, &key, EventKind::Delete, None) {
                findings.push(format!(
                    "client {}'s acknowledged delete of {key} at revision {revision} is not in the archive",
                    op.client
                ));
            }
        }
    }
    for event in &committed.events {
        let ours = KEYS.contains(&event.key.as_str());
        if let (true, EventKind::Put, Some(value)) = (ours, event.kind, &event.value) {
            if !written.contains(&(event.key.clone(), value.clone())) {
                findings.push(format!(
                    "the archive has a put of {}={value} at revision {} that no client wrote",
                    event.key, event.revision
                ));
            }
        }
    }
    findings
}
