//! `kv`: puts, linearizable gets, deletes, prefix ranges and compare-and-set txns over a handful
//! of keys, with compactions and reads at past revisions, judged by the `etcd` model's
//! linearizability checker (`detcd_check::models::etcd`: values, and the revisions in every
//! response header).
//!
//! The simulator's `kv` shapes (`scenarios/src/kv.rs`): `put` `{key, value}` -> `{revision}`,
//! `range` `{key, range_end?, revision?}` -> `{revision, kvs, count?}`, `delete` `{key}` ->
//! `{revision, deleted}`, `txn` (a CAS guarded by the key's value, or a read at a past revision
//! in either branch) -> `{revision, succeeded, results?}`, `compact` `{revision}` ->
//! `{revision}`. Every value written is new (client and count). About 7 % of the operations use
//! history as users do: every client compacts now and then (at the newest revision it has seen,
//! at a delete it made, or a few revisions behind) and reads at a revision it saw earlier
//! (perhaps compacted by now), plainly or inside a txn, sometimes at exactly the revision it just
//! compacted at and now and then just past the newest it saw.
//!
//! Outcomes: an answer is recorded as the model's output; a refusal the model judges (a
//! compacted or future revision) as `{"error": ...}` (without the compact revision: it is not on
//! the wire); any other certain refusal, and a read that got no answer, leave the history; a
//! write whose fate is open is unknown.
//!
//! Unknown outcomes are resolved before the check, as the simulator resolves them from its
//! committed log (`scenarios/src/resolve.rs`, etcd's robustness tests' "patching"): a real
//! cluster hands out no log, so the run keeps the `watch` scenario's archive (every event from
//! revision 1, one stream of the command; compactions never pass it) and records it as
//! `watch-committed`. Every value written is new, so an unknown put or CAS whose value the
//! archive holds once took effect at that revision (it becomes an operation returning at the end
//! of the history with that revision), one whose value it lacks had no effect and is dropped, as
//! is an unknown read; unknown deletes and compactions stay unknown. Only a complete archive is
//! used, and only up to the first event on a key no operation names (the liveness probe's
//! write). The archive is the system under test's own account, as in etcd's robustness tests:
//! a write it lost would be resolved as never applied, which only ever drops an operation whose
//! answer never came.
//!
//! Left out (the simulator has them, but they need the committed log from the members'
//! replicas): serializable past reads and the `past_reads` checker that judges them.

use super::register::linearizable;
use super::{pace, watch, Ctx, Verdict};
use detcd_check::history::Operation;
use detcd_check::models::etcd::Etcd;
use detcd_check::watch as check;
use detcd_core::api::*;
use detcd_core::client::{ClientError, ClientResult};
use detcd_core::kv::{prefix_end, KeyValue};
use detcd_core::Error;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const KEYS: usize = 4;

/// A stored pair in the `etcd` model's shape.
fn kv_json(kv: &KeyValue) -> Value {
    json!({
        "key": String::from_utf8_lossy(&kv.key),
        "value": String::from_utf8_lossy(&kv.value),
        "create_revision": kv.create_revision,
        "mod_revision": kv.mod_revision,
        "version": kv.version,
        "lease": kv.lease,
    })
}

/// What one client has seen of the store's revisions (where compactions and past reads are
/// drawn from).
#[derive(Default)]
struct Seen {
    /// Header revisions of recent answers, oldest first (the last [`Seen::KEPT`]).
    revisions: Vec<i64>,
    newest: i64,
    /// Revisions of recent deletes this client made that deleted something.
    deletes: Vec<i64>,
    /// The newest compact revision this client compacted at.
    compacted: i64,
}

impl Seen {
    const KEPT: usize = 32;

    fn note(&mut self, revision: Option<i64>) {
        if let Some(revision) = revision {
            push_bounded(&mut self.revisions, revision);
            self.newest = self.newest.max(revision);
        }
    }

    fn compaction_target(&self, rng: &mut impl Rng) -> i64 {
        let target = match rng.gen_range(0..4) {
            0 | 1 => self.newest,
            2 if !self.deletes.is_empty() => self.deletes[rng.gen_range(0..self.deletes.len())],
            _ => self.newest - rng.gen_range(1..=4),
        };
        target.max(1)
    }

    fn past_revision(&self, rng: &mut impl Rng) -> i64 {
        let revision = match rng.gen_range(0..10) {
            0 | 1 if self.compacted > 0 => self.compacted,
            2 => self.newest,
            3 => self.newest + rng.gen_range(1..=2),
            _ if !self.revisions.is_empty() => {
                self.revisions[rng.gen_range(0..self.revisions.len())]
            }
            _ => self.newest,
        };
        revision.max(1)
    }
}

fn push_bounded(list: &mut Vec<i64>, revision: i64) {
    if list.len() == Seen::KEPT {
        list.remove(0);
    }
    list.push(revision);
}

pub async fn client(mut ctx: Ctx) {
    let mut sequence = 0;
    let mut seen = Seen::default();
    while ctx.running() {
        sequence += 1;
        let key = format!("k{}", ctx.rng.gen_range(0..KEYS));
        let value = format!("c{}-{sequence}", ctx.index);
        let revision = match ctx.rng.gen_range(0..100) {
            0..=1 => compact_and_read(&mut ctx, &mut seen, &key).await,
            2..=4 => {
                let revision = seen.past_revision(&mut ctx.rng);
                past_range(&mut ctx, &key, revision).await
            }
            5..=6 => {
                let revision = seen.past_revision(&mut ctx.rng);
                past_txn(&mut ctx, &key, revision).await
            }
            _ => match ctx.rng.gen_range(0..10) {
                0..=2 => put(&ctx, &key, &value).await,
                3..=5 => get(&ctx, &key).await,
                6 => delete(&ctx, &key, &mut seen).await,
                7 => prefix_range(&ctx).await,
                _ => cas(&mut ctx, &key, &value).await,
            },
        };
        seen.note(revision);
        pace(&mut ctx, 1, 40).await;
    }
}

/// Whether the model judges this refusal (so it is recorded as an error output).
fn judged_refusal(error: &ClientError) -> Option<&Error> {
    error.etcd().filter(|e| matches!(e, Error::Compacted { .. } | Error::FutureRevision))
}

/// Records `outcome`: an answer as `output`, a judged refusal as the model's error, an open
/// write as unknown, anything else leaves the history. Returns the answer's header revision.
fn settle<T>(
    ctx: &Ctx,
    pending: crate::recorder::Pending,
    outcome: &ClientResult<T>,
    output: impl FnOnce(&T) -> Value,
    revision: impl FnOnce(&T) -> i64,
) -> Option<i64> {
    match outcome {
        Ok(answer) => {
            ctx.recorder.complete(pending, output(answer));
            Some(revision(answer))
        }
        Err(error) => {
            if let Some(refusal) = judged_refusal(error) {
                ctx.recorder.complete(pending, json!({"error": refusal.to_string()}));
            } else if error.is_unknown() {
                ctx.unknown.store(true, std::sync::atomic::Ordering::SeqCst);
                ctx.recorder.unknown(pending);
            } else {
                ctx.recorder.refused(pending);
            }
            None
        }
    }
}

/// Sends a range and records it as the model reads one: its pairs and the header's revision.
async fn range_and_settle(
    ctx: &Ctx,
    pending: crate::recorder::Pending,
    request: RangeRequest,
) -> Option<i64> {
    let outcome = ctx.client.range(request).await;
    let output = |r: &RangeResponse| {
        let mut output = range_output(r);
        output["revision"] = json!(r.header.revision);
        output
    };
    settle(ctx, pending, &outcome, output, |r| r.header.revision)
}

async fn put(ctx: &Ctx, key: &str, value: &str) -> Option<i64> {
    let pending =
        ctx.recorder.invoke(ctx.index, "put", Some(key), json!({"key": key, "value": value}));
    let request = PutRequest { key: key.into(), value: value.into(), ..Default::default() };
    let outcome = ctx.client.put(request).await;
    settle(
        ctx,
        pending,
        &outcome,
        |r| json!({"revision": r.header.revision}),
        |r| r.header.revision,
    )
}

async fn get(ctx: &Ctx, key: &str) -> Option<i64> {
    let pending = ctx.recorder.invoke(ctx.index, "range", Some(key), json!({"key": key}));
    let request = RangeRequest { key: key.into(), ..Default::default() };
    let outcome = ctx.client.range(request).await;
    settle(
        ctx,
        pending,
        &outcome,
        |r| {
            let kvs: Vec<Value> = r.kvs.iter().map(kv_json).collect();
            json!({"revision": r.header.revision, "kvs": kvs})
        },
        |r| r.header.revision,
    )
}

async fn delete(ctx: &Ctx, key: &str, seen: &mut Seen) -> Option<i64> {
    let pending = ctx.recorder.invoke(ctx.index, "delete", Some(key), json!({"key": key}));
    let request = DeleteRangeRequest { key: key.into(), ..Default::default() };
    let outcome = ctx.client.delete_range(request).await;
    if let Ok(r) = &outcome {
        if r.deleted > 0 {
            push_bounded(&mut seen.deletes, r.header.revision);
        }
    }
    settle(
        ctx,
        pending,
        &outcome,
        |r| json!({"revision": r.header.revision, "deleted": r.deleted}),
        |r| r.header.revision,
    )
}

fn range_output(r: &RangeResponse) -> Value {
    let kvs: Vec<Value> = r.kvs.iter().map(kv_json).collect();
    json!({"kvs": kvs, "count": r.count})
}

async fn prefix_range(ctx: &Ctx) -> Option<i64> {
    let end = String::from_utf8_lossy(&prefix_end(b"k")).to_string();
    let pending =
        ctx.recorder.invoke(ctx.index, "range", None, json!({"key": "k", "range_end": end}));
    let request =
        RangeRequest { key: b"k".to_vec(), range_end: prefix_end(b"k"), ..Default::default() };
    range_and_settle(ctx, pending, request).await
}

/// Compare-and-set as a txn: if the key holds a value some client may have written, write a
/// new one.
async fn cas(ctx: &mut Ctx, key: &str, value: &str) -> Option<i64> {
    let expected = format!("c{}-{}", ctx.rng.gen_range(0..4), ctx.rng.gen_range(1..20));
    let compare = Compare {
        key: key.into(),
        range_end: Vec::new(),
        target: CompareTarget::Value(expected.clone().into_bytes()),
        result: CompareResult::Equal,
    };
    let put = PutRequest { key: key.into(), value: value.into(), ..Default::default() };
    let txn = TxnRequest {
        compare: vec![compare],
        success: vec![RequestOp::Put(put)],
        failure: Vec::new(),
    };
    let input = json!({
        "compare": [{"key": key, "target": "value", "result": "equal", "value": expected}],
        "success": [{"put": {"key": key, "value": value}}],
        "failure": [],
    });
    let pending = ctx.recorder.invoke(ctx.index, "txn", Some(key), input);
    let outcome = ctx.client.txn(txn).await;
    settle(
        ctx,
        pending,
        &outcome,
        |r| json!({"revision": r.header.revision, "succeeded": r.succeeded}),
        |r| r.header.revision,
    )
}

/// Compacts at a revision drawn from what the client has seen; after a compaction that
/// succeeded, half the time reads at exactly its revision right away (the boundary a compaction
/// must keep readable), plainly or inside a txn.
async fn compact_and_read(ctx: &mut Ctx, seen: &mut Seen, key: &str) -> Option<i64> {
    let revision = seen.compaction_target(&mut ctx.rng);
    // Never past the archive (see the module doc): it must stay complete.
    let revision = revision.min(ctx.shared.archive.next()).max(1);
    let pending = ctx.recorder.invoke(ctx.index, "compact", None, json!({"revision": revision}));
    let request = CompactionRequest { revision, ..Default::default() };
    let outcome = ctx.client.compact(request).await;
    let answered = settle(
        ctx,
        pending,
        &outcome,
        |r| json!({"revision": r.header.revision}),
        |r| r.header.revision,
    );
    if answered.is_none() || ctx.rng.gen_bool(0.5) {
        return answered;
    }
    seen.note(answered);
    seen.compacted = seen.compacted.max(revision);
    if ctx.rng.gen_bool(0.5) {
        past_range(ctx, key, revision).await
    } else {
        past_txn(ctx, key, revision).await
    }
}

/// One key, or (a third of the time) the whole `k` prefix.
fn past_read_range(ctx: &mut Ctx, key: &str) -> (Vec<u8>, Vec<u8>) {
    if ctx.rng.gen_range(0..3) == 0 {
        (b"k".to_vec(), prefix_end(b"k"))
    } else {
        (key.as_bytes().to_vec(), Vec::new())
    }
}

fn range_input(key: &[u8], range_end: &[u8], revision: i64) -> Value {
    let mut input = json!({"key": String::from_utf8_lossy(key), "revision": revision});
    if !range_end.is_empty() {
        input["range_end"] = json!(String::from_utf8_lossy(range_end));
    }
    input
}

/// A linearizable range at a past revision.
async fn past_range(ctx: &mut Ctx, key: &str, revision: i64) -> Option<i64> {
    let (key, range_end) = past_read_range(ctx, key);
    let input = range_input(&key, &range_end, revision);
    let pending = ctx.recorder.invoke(ctx.index, "range", None, input);
    let request = RangeRequest { key, range_end, revision, ..Default::default() };
    range_and_settle(ctx, pending, request).await
}

/// A txn reading at a past revision in either branch (chosen by whether `key` exists): at a
/// compacted or future revision the whole txn fails, as in etcd.
async fn past_txn(ctx: &mut Ctx, key: &str, revision: i64) -> Option<i64> {
    let (success_key, success_end) = past_read_range(ctx, key);
    let (failure_key, failure_end) = past_read_range(ctx, key);
    let compare = Compare {
        key: key.into(),
        range_end: Vec::new(),
        target: CompareTarget::Version(0),
        result: CompareResult::Greater,
    };
    let read = |key: Vec<u8>, range_end: Vec<u8>| {
        RequestOp::Range(RangeRequest { key, range_end, revision, ..Default::default() })
    };
    let input = json!({
        "compare": [{"key": key, "target": "version", "result": "greater", "value": 0}],
        "success": [{"range": range_input(&success_key, &success_end, revision)}],
        "failure": [{"range": range_input(&failure_key, &failure_end, revision)}],
    });
    let txn = TxnRequest {
        compare: vec![compare],
        success: vec![read(success_key, success_end)],
        failure: vec![read(failure_key, failure_end)],
    };
    let pending = ctx.recorder.invoke(ctx.index, "txn", Some(key), input);
    let outcome = ctx.client.txn(txn).await;
    settle(
        ctx,
        pending,
        &outcome,
        |r| {
            let results: Vec<Value> = r
                .responses
                .iter()
                .map(|op| match op {
                    ResponseOp::Range(range) => range_output(range),
                    _ => json!({}),
                })
                .collect();
            json!({"revision": r.header.revision, "succeeded": r.succeeded, "results": results})
        },
        |r| r.header.revision,
    )
}

/// The etcd model's verdict, on the history with unknown outcomes resolved by the archive.
pub fn verdict(ops: &[Operation]) -> Verdict {
    let name = "linearizable (etcd model)";
    let archive = watch::committed(ops).filter(|c| c.trouble.is_none());
    let history: Vec<Operation> =
        ops.iter().filter(|op| op.f != "watch-committed").cloned().collect();
    let Some(archive) = archive else {
        let mut verdict = linearizable(&Etcd, name, &history);
        verdict.summary += "; unknown outcomes left unknown (no complete archive)";
        return verdict;
    };
    let (history, resolved) = resolve(&history, &archive.events);
    let mut verdict = linearizable(&Etcd, name, &history);
    verdict.summary += &format!(
        "; unknown outcomes: {} committed, {} without effect, {} left unknown",
        resolved.committed, resolved.dropped, resolved.unknown
    );
    verdict
}

/// What resolving did.
#[derive(Debug, Default)]
struct Resolved {
    committed: usize,
    dropped: usize,
    unknown: usize,
}

/// `history` with the unknown outcomes the archive decides made known, or dropped (see the
/// module doc).
fn resolve(history: &[Operation], events: &[check::Event]) -> (Vec<Operation>, Resolved) {
    let mut named = BTreeSet::new();
    for op in history {
        collect_keys(&op.input, &mut named);
    }
    let outside = events.iter().position(|e| !named.contains(e.key.as_str()));
    let events = &events[..outside.unwrap_or(events.len())];
    let mut puts: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    for event in events.iter().filter(|e| e.kind == check::EventKind::Put) {
        let value = event.value.as_deref().unwrap_or_default();
        puts.entry((event.key.as_str(), value)).or_default().push(event.revision);
    }
    let end = history.iter().map(|op| op.ret.unwrap_or(op.call)).fold(0.0, f64::max) + 1e-3;
    let mut resolved = Resolved::default();
    let mut operations = Vec::with_capacity(history.len());
    for op in history {
        if op.ret.is_some() {
            operations.push(op.clone());
            continue;
        }
        let written = match op.f.as_str() {
            "range" => None,
            "txn" if reads_only(&op.input) => None,
            "put" => Some(op.input.get("key").zip(op.input.get("value"))),
            "txn" => Some(single_put(&op.input)),
            _ => Some(None),
        };
        let Some(written) = written else {
            resolved.dropped += 1;
            continue;
        };
        let Some((Value::String(key), Value::String(value))) = written else {
            resolved.unknown += 1;
            operations.push(op.clone());
            continue;
        };
        match puts.get(&(key.as_str(), value.as_str())).map(Vec::as_slice) {
            None => resolved.dropped += 1,
            Some([revision]) => {
                resolved.committed += 1;
                let output = if op.f == "txn" {
                    json!({"revision": revision, "succeeded": true})
                } else {
                    json!({"revision": revision})
                };
                operations.push(Operation { ret: Some(end), output, ..op.clone() });
            }
            Some(_) => {
                resolved.unknown += 1;
                operations.push(op.clone());
            }
        }
    }
    (operations, resolved)
}

/// Every string under a `key` field of `input`, at any depth (txn requests nest them).
fn collect_keys<'a>(input: &'a Value, keys: &mut BTreeSet<&'a str>) {
    match input {
        Value::Object(fields) => {
            for (name, value) in fields {
                match (name.as_str(), value) {
                    ("key", Value::String(key)) => {
                        keys.insert(key.as_str());
                    }
                    _ => collect_keys(value, keys),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_keys(item, keys)),
        _ => {}
    }
}

/// Whether a txn's branches hold only ranges: it cannot change the store.
fn reads_only(input: &Value) -> bool {
    ["success", "failure"].iter().all(|branch| {
        input
            .get(*branch)
            .and_then(Value::as_array)
            .is_none_or(|requests| requests.iter().all(|request| request.get("range").is_some()))
    })
}

/// The key and value of a txn whose only write is one put in `success` (the CAS).
fn single_put(input: &Value) -> Option<(&Value, &Value)> {
    let writes = |branch: &str| {
        input.get(branch).and_then(Value::as_array).map(|requests| {
            requests.iter().filter(|r| r.get("range").is_none()).collect::<Vec<_>>()
        })
    };
    let (success, failure) = (writes("success")?, writes("failure")?);
    match (success.as_slice(), failure.is_empty()) {
        ([request], true) => {
            let put = request.get("put")?;
            Some((put.get("key")?, put.get("value")?))
        }
        _ => None,
    }
}
