//! `watch`: watchers over single keys, ranges and prefixes, judged against the committed history.
//!
//! Odd clients write: puts, deletes and two-key txns over keys under `w/` (and one outside it),
//! and client 1 compacts now and then behind the newest revision, or at it. Even clients watch:
//! each opens a stream on one member with three watchers — the key `w/a`, the range
//! `[w/b, w/d)` with a filter (NODELETE or NOPUT, by client), and the prefix `w/` with `prev_kv`
//! — started now (`start_revision` 0), at a past revision, or at revision 1; every second or so
//! it asks for a progress notification. Half the watching clients (drawn from the seed) are slow
//! consumers that pause between reads, so their streams fall behind. Every few seconds a client
//! reconnects to the same member and resumes its watchers. When a stream is lost
//! (crash, restart, a partition between client and member) the client opens one on the next
//! member and resumes each watcher from its last revision + 1; a watcher canceled by a compaction
//! is replaced by a new one started now.
//!
//! Recorded: one `watch` operation per watcher whose output is the watcher as
//! `detcd_check::watch::Watcher` (range, start revision, filters, every message received in
//! order: event batches with each event's `is_create`, progress notifications, resumptions, a
//! cancel). The simulator reads the committed events from the members' replicas as the run goes
//! (`RunResult::committed`), and `detcd_check::watch` judges every watcher against them.

use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::watch::{self as check, EventKind, Filter, Message, WatchHistory, Watcher};
use detcd_core::api::*;
use detcd_core::kv::{Event, EventType};
use detcd_core::member::MemberListRequest;
use detcd_core::raft::types::NodeId;
use detcd_core::watch::{
    WatchCreateRequest, WatchFilter, WatchProgressRequest, WatchRequest, WatchResponse,
};
use detcd_sim::client::Outcome;
use detcd_sim::history::Pending;
use detcd_sim::knobs::Knobs;
use detcd_sim::plan::{Aims, Episode};
use detcd_sim::run::RunResult;
use detcd_sim::trace;
use detcd_sim::watch_client::{StreamLost, WatchClient};
use detcd_sim::workload::{self, ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct WatchScenario;

/// Keys the writers change; `x/e` is outside every watched range.
const KEYS: [&str; 5] = ["w/a", "w/b", "w/c", "w/d", "x/e"];
/// How long a call on a stream may take (beyond a poll's own wait) before the stream counts as
/// lost.
const RECV_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a watching client asks for a progress notification.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// How far behind the newest revision client 1 compacts, most of the time (else at the newest
/// revision or a few behind).
const COMPACT_LAG: i64 = 25;
/// How long a slow consumer waits between reads, in milliseconds: long enough for dozens of
/// revisions to pile up in its stream's outbox, so a small outbox overflows and its watchers
/// fall back to catching up from history (the hub's unsynced paths) and a progress request
/// arrives while they are behind.
const SLOW_READ_PAUSE_MS: std::ops::Range<u64> = 200..800;
/// How long a client keeps one stream before it reconnects to the same member (as after a
/// proxy's idle timeout or a client's own reconnect) and resumes its watchers from their next
/// revision: the events written while it was away are caught up from history.
const STREAM_LIFETIME_MS: std::ops::Range<u64> = 2_000..8_000;

impl Scenario for WatchScenario {
    fn name(&self) -> &'static str {
        "watch"
    }

    fn description(&self) -> &'static str {
        "watchers on keys, ranges, prefixes from past revisions, resuming after stream loss, under writes and compactions; watch checker"
    }

    fn records_events(&self) -> bool {
        true
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(WatchWorkload)
    }

    /// Mostly a follower cut off while its watchers stay on it, long enough that it comes back
    /// by installing a snapshot under them and short enough that it comes back while they still
    /// watch; else the leader stranded. Alone, so no random crash ends the episode early; the
    /// random faults around it are what watch streams must be resumed across.
    fn aims(&self) -> Aims {
        Aims {
            chance: 0.9,
            episodes: vec![
                (Episode::StrandFollower { min_ms: 3_000, max_ms: 5_000 }, 0.9),
                (Episode::StrandLeader { min_ms: 4_000, max_ms: 10_000 }, 0.1),
            ],
            alone: true,
        }
    }

    /// Snapshots every 20 or 50 entries on most seeds: a follower comes back by installing a
    /// snapshot only when the leader purged entries it missed, and a run has a few hundred.
    fn knobs(&self, rng: &mut ChaCha8Rng) -> Knobs {
        let mut knobs = Knobs::draw(rng);
        if knobs.snapshot_entries > 50 && rng.gen_bool(0.9) {
            knobs.snapshot_entries = if rng.gen_bool(0.5) { 20 } else { 50 };
            knobs.snapshot_keep_entries = knobs.snapshot_keep_entries.min(knobs.snapshot_entries);
        }
        knobs
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![watch_verdict(result)]
    }
}

/// Runs `detcd_check::watch` over the recorded watchers and the committed events.
fn watch_verdict(result: &RunResult) -> CheckerVerdict {
    let started = Instant::now();
    let verdict = |ok, summary: String, details| CheckerVerdict {
        checker: "watch".into(),
        ok,
        seconds: started.elapsed().as_secs_f64(),
        summary,
        details,
    };
    let Some(committed) = &result.committed else {
        return verdict(Some(false), "no committed history was recorded".into(), Value::Null);
    };
    if let Some(hole) = &committed.hole {
        return verdict(
            None,
            format!("unknown: committed history has a hole ({hole})"),
            json!(hole),
        );
    }
    let watchers: Vec<Watcher> = result
        .history
        .iter()
        .filter(|op| op.f == "watch")
        .filter_map(|op| serde_json::from_value(op.output.clone()).ok())
        .collect();
    let history = WatchHistory {
        // Create-ness of committed events is left to the checker, which derives it from the
        // sequence (complete from revision 1, or there is a hole), not from the replica's kvs,
        // so a core that gets `create_revision` wrong cannot vouch for itself.
        committed: committed
            .events
            .iter()
            .map(|e| check::Event { create: None, ..checker_event(e, true) })
            .collect(),
        watchers,
        // detcd keeps each event's previous pair with the event, so it owes the previous value
        // even after a compaction: judged strictly, compactions are not excuses here.
        compacted_to: None,
    };
    let outcome = check::check(&history);
    let details = serde_json::to_value(&outcome).unwrap_or(Value::Null);
    let received: usize = history.watchers.iter().map(|w| w.received.len()).sum();
    match outcome.violation_summary() {
        None => verdict(
            Some(true),
            format!(
                "ok ({} watchers, {received} messages, {} committed events)",
                history.watchers.len(),
                history.committed.len()
            ),
            details,
        ),
        Some(violated) => verdict(Some(false), violated, details),
    }
}

/// A core event in the checker's shape; `prev` keeps the previous value. `create` is etcd's
/// `Event.IsCreate()` (a put whose key was created at this very revision), as a client reads it.
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

fn checker_filter(filter: WatchFilter) -> Filter {
    match filter {
        WatchFilter::NoPut => Filter::NoPut,
        WatchFilter::NoDelete => Filter::NoDelete,
    }
}

struct WatchWorkload;

impl Workload for WatchWorkload {
    fn name(&self) -> &str {
        "watch"
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        if ctx.index % 2 == 1 {
            Box::pin(writer(ctx))
        } else {
            Box::pin(watcher_client(ctx))
        }
    }
}

async fn writer(mut ctx: ClientContext) {
    let mut sequence = 0;
    let mut newest = 0;
    let mut compacted = 0;
    while ctx.running().await {
        sequence += 1;
        let key = KEYS[ctx.rng.gen_range(0..KEYS.len())];
        let value = format!("c{}-{sequence}", ctx.index);
        let revision = match ctx.rng.gen_range(0..10) {
            0..=5 => workload::put(&mut ctx, key, &value).await.ok().map(|r| r.header.revision),
            6 | 7 => delete(&mut ctx, key).await,
            _ => two_key_txn(&mut ctx, key, &value).await,
        };
        newest = newest.max(revision.unwrap_or(0));
        if ctx.index == 1 && newest - COMPACT_LAG > compacted + 10 && ctx.rng.gen_bool(0.1) {
            // Now and then at the newest revision or just behind it, while slow watchers are
            // further behind: they must be caught up to it or canceled, never skipped past it.
            let lag = match ctx.rng.gen_range(0..4) {
                0 => 0,
                1 => ctx.rng.gen_range(1..5),
                _ => COMPACT_LAG,
            };
            compacted = newest - lag;
            let request = CompactionRequest { revision: compacted, ..Default::default() };
            let _ = ctx.client.call(request).await;
        }
        madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(5..60))).await;
    }
}

async fn delete(ctx: &mut ClientContext, key: &str) -> Option<i64> {
    let request = DeleteRangeRequest { key: key.into(), ..Default::default() };
    ctx.client.call(request).await.ok().map(|r| r.header.revision)
}

/// Puts `key` and the next key in one txn: both events share one revision.
async fn two_key_txn(ctx: &mut ClientContext, key: &str, value: &str) -> Option<i64> {
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
    ctx.client.call(txn).await.ok().map(|r| r.header.revision)
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

/// Watcher `k` of client `client`'s stream from `start`. The range watcher filters one kind of
/// event, NODELETE on every second watching client and NOPUT on the others, so both filters
/// run and the checker holds each to its promise; the key and prefix watchers see everything.
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

fn new_tracked(ctx: &ClientContext, id: i64, k: usize, start: i64) -> Tracked {
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
    let input = json!({"watch_id": id, "key": record.key, "range_end": record.range_end, "start_revision": start, "filters": record.filters});
    let pending = ctx.recorder.invoke(ctx.index, "watch", Some(&record.key), input);
    Tracked {
        id,
        record,
        pending: Some(pending),
        next: start,
        awaiting_start: start == 0,
        opened: false,
        done: false,
    }
}

/// The client's watchers, its kinds by position (0: key, 1: range, 2: prefix).
struct Watching {
    client: u64,
    /// A slow consumer: pauses between reads.
    slow: bool,
    watchers: Vec<(usize, Tracked)>,
    next_id: i64,
}

async fn watcher_client(mut ctx: ClientContext) {
    let Some(members) = member_ids(&mut ctx).await else { return };
    let current = current_revision(&mut ctx).await.unwrap_or(1);
    let slow = ctx.rng.gen_bool(0.5);
    let mut watching = Watching {
        client: ctx.index,
        slow,
        watchers: Vec::new(),
        next_id: ctx.index as i64 * 1000,
    };
    for k in 0..3 {
        let start = match ctx.rng.gen_range(0..3) {
            0 => 0,
            1 => (current - ctx.rng.gen_range(0..15)).max(1),
            _ => 1,
        };
        watching.add(&ctx, k, start);
    }
    let mut attempt = ctx.index as usize;
    while ctx.running().await {
        let member = members[attempt % members.len()];
        match serve_stream(&mut ctx, &mut watching, member).await {
            // Reconnected by choice: the same member again.
            Ok(()) => {}
            Err(lost) => {
                trace::event(
                    &format!("c{}", ctx.index),
                    format_args!("watch stream lost: {}", lost.0),
                );
                attempt += 1;
            }
        }
        madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(10..200))).await;
    }
    for (_, tracked) in &mut watching.watchers {
        finish(&ctx, tracked);
    }
}

impl Watching {
    fn add(&mut self, ctx: &ClientContext, k: usize, start: i64) {
        self.next_id += 1;
        self.watchers.push((k, new_tracked(ctx, self.next_id, k, start)));
    }

    fn find(&mut self, id: i64) -> Option<&mut Tracked> {
        self.watchers.iter_mut().map(|(_, t)| t).find(|t| t.id == id && !t.done)
    }
}

fn finish(ctx: &ClientContext, tracked: &mut Tracked) {
    if let Some(pending) = tracked.pending.take() {
        let output = serde_json::to_value(&tracked.record).unwrap_or(Value::Null);
        ctx.recorder.complete(pending, output);
    }
}

/// Serves one stream on `member` until it is lost, the client reconnects (after a lifetime drawn
/// from `STREAM_LIFETIME_MS`) or the run's chaos is over.
async fn serve_stream(
    ctx: &mut ClientContext,
    watching: &mut Watching,
    member: NodeId,
) -> Result<(), StreamLost> {
    let stream = WatchClient::open(member, RECV_TIMEOUT).await?;
    let result = create_all(&stream, watching).await;
    let until = trace::now() + Duration::from_millis(ctx.rng.gen_range(STREAM_LIFETIME_MS));
    let result = match result {
        Ok(()) => receive(ctx, &stream, watching, until).await,
        Err(lost) => Err(lost),
    };
    stream.close().await;
    result
}

/// Creates (or resumes) every live watcher on a new stream.
async fn create_all(stream: &WatchClient, watching: &mut Watching) -> Result<(), StreamLost> {
    let client = watching.client;
    for (k, tracked) in &mut watching.watchers {
        if tracked.done {
            continue;
        }
        // A watcher started "now" whose creation was never confirmed simply starts now again.
        if tracked.opened {
            tracked.record.received.push(Message::Resume { start_revision: tracked.next });
        }
        tracked.opened = !tracked.awaiting_start;
        let request = WatchCreateRequest { watch_id: tracked.id, ..spec(client, *k, tracked.next) };
        stream.create(request).await?;
    }
    Ok(())
}

async fn receive(
    ctx: &mut ClientContext,
    stream: &WatchClient,
    watching: &mut Watching,
    until: Duration,
) -> Result<(), StreamLost> {
    let mut last_progress = trace::now();
    while ctx.running().await && trace::now() < until {
        // Poll until the next progress request is due: a stream on a member cut off from its
        // peers gets no events but stays open (as an etcd client's stream does), so its watchers
        // are there when the member comes back, perhaps by installing a snapshot.
        let due = last_progress + PROGRESS_EVERY;
        let wait = due.saturating_sub(trace::now()).max(Duration::from_millis(1));
        let responses = stream.poll(wait).await?;
        for response in responses {
            handle(ctx, watching, response)?;
        }
        replace_canceled(ctx, stream, watching).await?;
        if trace::now() >= last_progress + PROGRESS_EVERY {
            last_progress = trace::now();
            stream.send(WatchRequest::Progress(WatchProgressRequest {})).await?;
        }
        if watching.slow {
            // After the progress request, so it is answered while this stream falls behind.
            let pause = ctx.rng.gen_range(SLOW_READ_PAUSE_MS);
            madsim::time::sleep(Duration::from_millis(pause)).await;
        }
    }
    Ok(())
}

/// Records one response for its watcher (or, for a stream-wide progress, for all of them).
fn handle(
    ctx: &ClientContext,
    watching: &mut Watching,
    response: WatchResponse,
) -> Result<(), StreamLost> {
    let revision = response.header.revision;
    if response.watch_id == detcd_core::watch::INVALID_WATCH_ID {
        if response.is_progress() {
            for (_, tracked) in &mut watching.watchers {
                if !tracked.done && !tracked.awaiting_start {
                    tracked.record.received.push(Message::Progress { revision });
                }
            }
        }
        return Ok(());
    }
    let Some(tracked) = watching.find(response.watch_id) else {
        // Not ours: the member restarted and this stream number now belongs to someone else.
        return Err(StreamLost(format!("response for foreign watch id {}", response.watch_id)));
    };
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
        finish(ctx, tracked);
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
    ctx: &mut ClientContext,
    stream: &WatchClient,
    watching: &mut Watching,
) -> Result<(), StreamLost> {
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
            stream.create(request).await?;
        }
    }
    Ok(())
}

async fn member_ids(ctx: &mut ClientContext) -> Option<Vec<NodeId>> {
    for _ in 0..20 {
        if let Outcome::Ok(members) = ctx.client.call(MemberListRequest::default()).await {
            return Some(members.into_iter().map(|m| m.id).collect());
        }
        madsim::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

async fn current_revision(ctx: &mut ClientContext) -> Option<i64> {
    let request = RangeRequest { key: b"w/a".to_vec(), ..Default::default() };
    ctx.client.call(request).await.ok().map(|r| r.header.revision)
}
