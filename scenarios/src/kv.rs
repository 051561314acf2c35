//! `kv` and `register`: per-key reads, writes, compare-and-set and prefix ranges, judged for
//! linearizability.
//!
//! `kv` records in the `etcd` model's shapes (revisions in headers checked too) over a handful of
//! keys: puts, linearizable gets, deletes, prefix ranges, and CAS as a txn guarded by the key's
//! value. A modest share of its operations (about 7 %) do what users do with history: every
//! client compacts now and then, at exactly the newest revision it has seen, at the revision of a
//! delete it made, or a few revisions behind; and reads at a revision it saw earlier (perhaps
//! compacted by now), as a plain range and as a range inside a txn, sometimes at exactly the
//! revision it just compacted at (the boundary: still readable) and now and then just past the
//! newest it saw (perhaps a future revision). `register` drives one key as a read/write/CAS
//! register, every written value new, and is judged by the `register` model.

use crate::past_reads;
use crate::resolve::resolve;
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::history::{History, Operation};
use detcd_check::linearizability::{self, Model, Options, Verdict};
use detcd_check::models::etcd::Etcd;
use detcd_check::models::register::Register;
use detcd_core::api::*;
use detcd_core::kv::{prefix_end, ResponseHeader};
use detcd_core::Error;
use detcd_sim::client::Outcome;
use detcd_sim::plan::{Aims, Episode};
use detcd_sim::run::RunResult;
use detcd_sim::workload::{self, kv_json, ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct KvScenario;
pub struct RegisterScenario;

impl Scenario for KvScenario {
    fn name(&self) -> &'static str {
        "kv"
    }

    fn description(&self) -> &'static str {
        "puts, gets, deletes, CAS txns and prefix ranges over a few keys, compactions and reads at past revisions; etcd linearizability model"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(KvWorkload)
    }

    fn records_events(&self) -> bool {
        true
    }

    /// A leader stranded past an election with clients still on it: every linearizable read it
    /// answers after the new leader's first write must be refused or see that write.
    fn aims(&self) -> Aims {
        Aims::mostly(Episode::StrandLeader { min_ms: 6_000, max_ms: 9_000 }, AIMED_CHANCE)
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![linearizable_resolved(result), past_reads::verdict(result)]
    }
}

/// The share of `kv` and `register` seeds whose plan is built around their aimed episode; the
/// rest draw random faults with the default aims' company.
const AIMED_CHANCE: f64 = 0.75;

/// The etcd model's verdict on the history, with unknown outcomes first decided by the committed
/// log where it can (see [`crate::resolve`]).
pub fn linearizable_resolved(result: &RunResult) -> CheckerVerdict {
    let name = "linearizable (etcd model)";
    let Some(log) = &result.committed else {
        return linearizable(&Etcd, name, &result.history);
    };
    let (history, resolved) = resolve(&result.history, log);
    let mut verdict = linearizable(&Etcd, name, &history);
    verdict.summary += &format!(
        "; unknown outcomes: {} committed, {} without effect, {} left unknown",
        resolved.committed, resolved.dropped, resolved.unknown
    );
    // A compaction can outrun the log's reader; then nothing was resolved (sound, but slower).
    if let Some(hole) = &log.hole {
        verdict.summary += &format!(" (committed log has a hole: {hole})");
    }
    verdict
}

impl Scenario for RegisterScenario {
    fn name(&self) -> &'static str {
        "register"
    }

    fn description(&self) -> &'static str {
        "one key as a read/write/CAS register; register linearizability model"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(RegisterWorkload)
    }

    /// Power lost on every member at once while writes are in flight: each acknowledged write
    /// must still be there when they come back.
    fn aims(&self) -> Aims {
        Aims::mostly(Episode::PowerLoss { min_ms: 1_000, max_ms: 3_000 }, AIMED_CHANCE)
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![linearizable(&Register, "linearizable (register model)", &result.history)]
    }
}

/// Search steps one partition's linearizability check may take before its verdict is "unknown":
/// about 30 s on the 2-core development machine (~3 million steps/s). A step budget rather than
/// a wall-clock one, so a seed's verdict is the same on every machine, however fast or loaded.
pub(crate) const CHECK_STEPS: u64 = 100_000_000;

/// Runs the linearizability checker on a recorded history, with a budget of search steps.
pub fn linearizable<M: Model>(model: &M, name: &str, ops: &[Operation]) -> CheckerVerdict {
    let history = History::new(ops.to_vec());
    let started = Instant::now();
    let mut options = Options::default();
    options.budget.max_steps = Some(CHECK_STEPS);
    let verdict = linearizability::check(model, &history, options);
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary, details) = match verdict {
        Ok(Verdict::Linearizable) => {
            (Some(true), format!("ok ({} ops, {seconds:.2}s)", ops.len()), Value::Null)
        }
        Ok(Verdict::Unknown) => (
            None,
            format!("unknown ({CHECK_STEPS} search steps exhausted, {seconds:.2}s)"),
            Value::Null,
        ),
        Ok(Verdict::NotLinearizable(violation)) => {
            let details = serde_json::to_value(&violation).unwrap_or(Value::Null);
            (Some(false), format!("NOT LINEARIZABLE: {}", violation.message), details)
        }
        Err(error) => (Some(false), format!("history could not be checked: {error}"), Value::Null),
    };
    CheckerVerdict { checker: name.to_string(), ok, seconds, summary, details }
}

struct KvWorkload;

impl Workload for KvWorkload {
    fn name(&self) -> &str {
        "kv"
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(kv_client(ctx))
    }
}

async fn kv_client(mut ctx: ClientContext) {
    let mut sequence = 0;
    let mut seen = Seen::default();
    let mut resync = false;
    while ctx.running().await {
        sequence += 1;
        let key = format!("k{}", ctx.rng.gen_range(0..4));
        let value = format!("c{}-{sequence}", ctx.index);
        // History operations first, at a small share, so the mix below keeps its proportions.
        let outcome = match ctx.rng.gen_range(0..100) {
            // After an answer that never came (its member crashed, paused or was cut off), the
            // client reads again from where it was, from whichever member answers, as a cache
            // rebuilding its view does (a Kubernetes reflector lists at its resource version).
            _ if resync => {
                let revision = seen.oldest();
                past_range(&mut ctx, &key, revision, Some(true)).await
            }
            0..=1 => compact_and_read(&mut ctx, &mut seen, &key).await,
            2..=4 => {
                let revision = seen.past_revision(&mut ctx.rng);
                past_range(&mut ctx, &key, revision, None).await
            }
            5..=6 => {
                let revision = seen.past_revision(&mut ctx.rng);
                past_txn(&mut ctx, &key, revision).await
            }
            _ => match ctx.rng.gen_range(0..10) {
                0..=2 => workload::put(&mut ctx, &key, &value).await.map(|r| Noted::of(&r.header)),
                3..=5 => workload::get(&mut ctx, &key).await.map(|r| Noted::of(&r.header)),
                6 => delete(&mut ctx, &key).await,
                7 => prefix_range(&mut ctx).await,
                _ => cas(&mut ctx, &key, &value).await,
            },
        };
        seen.note(&outcome);
        resync = matches!(outcome, Outcome::Unknown(_));
        pause(&mut ctx).await;
    }
}

/// What a client keeps of an answer for [`Seen`]: its header's revision, and whether it was a
/// delete that deleted something.
#[derive(Debug, Clone, Copy)]
struct Noted {
    revision: i64,
    deleted: bool,
}

impl Noted {
    fn of(header: &ResponseHeader) -> Noted {
        Noted { revision: header.revision, deleted: false }
    }
}

/// What one client has seen of the store's revisions: where it draws compactions and past reads
/// from, as a user would (a revision from an earlier answer, a delete it made).
#[derive(Default)]
struct Seen {
    /// Header revisions of recent answers, oldest first (the last [`Seen::KEPT`]).
    revisions: Vec<i64>,
    /// The newest revision seen in any answer.
    newest: i64,
    /// Revisions of recent deletes this client made that deleted something.
    deletes: Vec<i64>,
    /// The newest compact revision this client knows of: one it compacted at, or one a
    /// compacted error named.
    compacted: i64,
}

impl Seen {
    const KEPT: usize = 32;

    /// Takes in what an answer tells about revisions.
    fn note(&mut self, outcome: &Outcome<Noted>) {
        match outcome {
            Outcome::Ok(Noted { revision, deleted }) => {
                let revision = *revision;
                if *deleted {
                    push_bounded(&mut self.deletes, revision);
                }
                push_bounded(&mut self.revisions, revision);
                self.newest = self.newest.max(revision);
            }
            Outcome::Failed(Error::Compacted { compact_revision }) => {
                self.compacted = self.compacted.max(*compact_revision);
            }
            _ => {}
        }
    }

    /// Where to compact: exactly the newest revision seen, the revision of a delete made, or a
    /// few revisions behind the newest. It may be at or below an earlier compaction (refused).
    fn compaction_target(&self, rng: &mut impl Rng) -> i64 {
        let target = match rng.gen_range(0..4) {
            0 | 1 => self.newest,
            2 if !self.deletes.is_empty() => self.deletes[rng.gen_range(0..self.deletes.len())],
            _ => self.newest - rng.gen_range(1..=4),
        };
        target.max(1)
    }

    /// The oldest revision still remembered (where a cache that lost its stream resumes).
    fn oldest(&self) -> i64 {
        self.revisions.first().copied().unwrap_or(self.newest).max(1)
    }

    /// Where to read in the past: an earlier answer's revision (perhaps compacted by now), the
    /// compaction boundary known, the newest seen, or now and then just past it (perhaps a
    /// future revision).
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

async fn pause(ctx: &mut ClientContext) {
    madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(1..40))).await;
}

/// Records `outcome` for `pending`, mapping a response to the model's output.
fn settle<T>(
    ctx: &ClientContext,
    pending: detcd_sim::history::Pending,
    outcome: &Outcome<T>,
    output: impl FnOnce(&T) -> Option<Value>,
) {
    match outcome {
        Outcome::Ok(response) => match output(response) {
            Some(value) => ctx.recorder.complete(pending, value),
            None => ctx.recorder.unknown(pending, "unexpected response"),
        },
        Outcome::Failed(error) => ctx.recorder.complete(pending, error_json(error)),
        Outcome::Unknown(why) => ctx.recorder.unknown(pending, why),
    }
}

/// A refusal in the model's shape; a compacted error also names the compact revision it met,
/// which the model then checks.
fn error_json(error: &Error) -> Value {
    match error {
        Error::Compacted { compact_revision } => {
            json!({"error": error.to_string(), "compact_revision": compact_revision})
        }
        _ => json!({"error": error.to_string()}),
    }
}

/// Compacts at a revision drawn from what the client has seen; after a compaction that
/// succeeded, half the time reads at exactly its revision right away (the oldest revision still
/// readable: the boundary a compaction must keep), plainly or inside a txn.
async fn compact_and_read(ctx: &mut ClientContext, seen: &mut Seen, key: &str) -> Outcome<Noted> {
    let revision = seen.compaction_target(&mut ctx.rng);
    let pending = ctx.recorder.invoke(ctx.index, "compact", None, json!({"revision": revision}));
    let request = CompactionRequest { revision, ..Default::default() };
    let outcome = ctx.client.call(request).await;
    settle(ctx, pending, &outcome, |r| Some(json!({"revision": r.header.revision})));
    let outcome = outcome.map(|r| Noted::of(&r.header));
    if !outcome.is_ok() || ctx.rng.gen_bool(0.5) {
        return outcome;
    }
    seen.note(&outcome);
    seen.compacted = seen.compacted.max(revision);
    if ctx.rng.gen_bool(0.5) {
        past_range(ctx, key, revision, None).await
    } else {
        past_txn(ctx, key, revision).await
    }
}

/// The range a past read asks for: one key, or (a third of the time) the whole `k` prefix.
fn past_read_range(ctx: &mut ClientContext, key: &str) -> (Vec<u8>, Vec<u8>) {
    if ctx.rng.gen_range(0..3) == 0 {
        (b"k".to_vec(), prefix_end(b"k"))
    } else {
        (key.as_bytes().to_vec(), Vec::new())
    }
}

/// The model's input for a range read at `revision`.
fn range_input(key: &[u8], range_end: &[u8], revision: i64) -> Value {
    let mut input = json!({"key": String::from_utf8_lossy(key), "revision": revision});
    if !range_end.is_empty() {
        input["range_end"] = json!(String::from_utf8_lossy(range_end));
    }
    input
}

fn range_output(r: &RangeResponse) -> Value {
    let kvs: Vec<Value> = r.kvs.iter().map(kv_json).collect();
    json!({"kvs": kvs, "count": r.count})
}

/// A range at a past revision: linearizable, or serializable (half the time unless the caller
/// says), which the member
/// the client talks to answers from its own replica (one just restored from its snapshot, say).
/// The etcd model judges only the linearizable ones; `past_reads` judges every answer against
/// the committed history.
async fn past_range(
    ctx: &mut ClientContext,
    key: &str,
    revision: i64,
    serializable: Option<bool>,
) -> Outcome<Noted> {
    let (key, range_end) = past_read_range(ctx, key);
    let serializable = serializable.unwrap_or_else(|| ctx.rng.gen_bool(0.5));
    let mut input = range_input(&key, &range_end, revision);
    if serializable {
        input["serializable"] = json!(true);
    }
    let pending = ctx.recorder.invoke(ctx.index, "range", None, input);
    let request = RangeRequest { key, range_end, revision, serializable, ..Default::default() };
    let outcome = ctx.client.call(request).await;
    settle(ctx, pending, &outcome, |r| {
        let mut output = range_output(r);
        if !serializable {
            // A serializable answer's header is its member's revision, perhaps behind.
            output["revision"] = json!(r.header.revision);
        }
        Some(output)
    });
    outcome.map(|r| Noted::of(&r.header))
}

/// A txn reading at a past revision in either branch (chosen by whether `key` exists): at a
/// compacted or future revision the whole txn fails, as in etcd.
async fn past_txn(ctx: &mut ClientContext, key: &str, revision: i64) -> Outcome<Noted> {
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
    let outcome = ctx.client.call(txn).await;
    settle(ctx, pending, &outcome, |r| {
        let results: Option<Vec<Value>> = r
            .responses
            .iter()
            .map(|op| match op {
                ResponseOp::Range(range) => Some(range_output(range)),
                _ => None,
            })
            .collect();
        Some(json!({
            "revision": r.header.revision,
            "succeeded": r.succeeded,
            "results": results?,
        }))
    });
    outcome.map(|r| Noted::of(&r.header))
}

async fn delete(ctx: &mut ClientContext, key: &str) -> Outcome<Noted> {
    let pending = ctx.recorder.invoke(ctx.index, "delete", Some(key), json!({"key": key}));
    let request = DeleteRangeRequest { key: key.into(), ..Default::default() };
    let outcome = ctx.client.call(request).await;
    settle(ctx, pending, &outcome, |r| {
        Some(json!({"revision": r.header.revision, "deleted": r.deleted}))
    });
    outcome.map(|r| Noted { revision: r.header.revision, deleted: r.deleted > 0 })
}

async fn prefix_range(ctx: &mut ClientContext) -> Outcome<Noted> {
    let end = String::from_utf8_lossy(&prefix_end(b"k")).to_string();
    let pending =
        ctx.recorder.invoke(ctx.index, "range", None, json!({"key": "k", "range_end": end}));
    let request =
        RangeRequest { key: b"k".to_vec(), range_end: prefix_end(b"k"), ..Default::default() };
    let outcome = ctx.client.call(request).await;
    settle(ctx, pending, &outcome, |r| {
        let kvs: Vec<Value> = r.kvs.iter().map(kv_json).collect();
        Some(json!({"revision": r.header.revision, "kvs": kvs, "count": r.count}))
    });
    outcome.map(|r| Noted::of(&r.header))
}

/// Compare-and-set as a txn: if the key's value is what was last seen, write a new one.
async fn cas(ctx: &mut ClientContext, key: &str, value: &str) -> Outcome<Noted> {
    let expected = format!("c{}-{}", ctx.rng.gen_range(1..=4), ctx.rng.gen_range(1..20));
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
    let outcome = ctx.client.call(txn).await;
    settle(ctx, pending, &outcome, |r| {
        Some(json!({"revision": r.header.revision, "succeeded": r.succeeded}))
    });
    outcome.map(|r| Noted::of(&r.header))
}

struct RegisterWorkload;

const REGISTER: &str = "register";

impl Workload for RegisterWorkload {
    fn name(&self) -> &str {
        "register"
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(register_client(ctx))
    }
}

/// Every value written is new (the client's number and a count), so a read names the one write
/// it saw: a write that was acknowledged and then lost cannot hide behind another write of the
/// same value. A compare-and-set expects the value the client read last (read-modify-write, as
/// real callers do), so it succeeds whenever nobody wrote in between.
async fn register_client(mut ctx: ClientContext) {
    let mut written = 0;
    let mut last_read = None;
    while ctx.running().await {
        written += 1;
        let value = ctx.index as i64 * 1_000_000 + written;
        match ctx.rng.gen_range(0..3) {
            0 => register_write(&mut ctx, value).await,
            1 => last_read = register_read(&mut ctx).await.or(last_read),
            _ => {
                let expected = last_read.unwrap_or_else(|| ctx.rng.gen_range(0..5));
                register_cas(&mut ctx, expected, value).await
            }
        }
        pause(&mut ctx).await;
    }
}

async fn register_write(ctx: &mut ClientContext, value: i64) {
    let pending = ctx.recorder.invoke(ctx.index, "write", None, json!(value));
    let request = PutRequest {
        key: REGISTER.into(),
        value: value.to_string().into_bytes(),
        ..Default::default()
    };
    let outcome = ctx.client.call(request).await;
    match outcome {
        Outcome::Ok(_) => ctx.recorder.complete(pending, Value::Null),
        // A refused write did not happen: the register model has no error output, and an
        // operation without effect or observation constrains nothing, so it leaves the history.
        Outcome::Failed(error) => ctx.recorder.refused(pending, &error.to_string()),
        Outcome::Unknown(why) => ctx.recorder.unknown(pending, &why),
    }
}

/// The register's value, when the read succeeded and found one.
async fn register_read(ctx: &mut ClientContext) -> Option<i64> {
    let pending = ctx.recorder.invoke(ctx.index, "read", None, Value::Null);
    let request = RangeRequest { key: REGISTER.into(), ..Default::default() };
    match ctx.client.call(request).await {
        Outcome::Ok(r) => {
            let value =
                r.kvs.first().and_then(|kv| String::from_utf8_lossy(&kv.value).parse::<i64>().ok());
            ctx.recorder.complete(pending, json!(value));
            value
        }
        Outcome::Failed(error) => {
            ctx.recorder.refused(pending, &error.to_string());
            None
        }
        other => {
            ctx.recorder.unknown(pending, &format!("{other:?}"));
            None
        }
    }
}

async fn register_cas(ctx: &mut ClientContext, expected: i64, value: i64) {
    let pending = ctx.recorder.invoke(ctx.index, "cas", None, json!([expected, value]));
    let compare = Compare {
        key: REGISTER.into(),
        range_end: Vec::new(),
        target: CompareTarget::Value(expected.to_string().into_bytes()),
        result: CompareResult::Equal,
    };
    let put = PutRequest {
        key: REGISTER.into(),
        value: value.to_string().into_bytes(),
        ..Default::default()
    };
    let txn = TxnRequest {
        compare: vec![compare],
        success: vec![RequestOp::Put(put)],
        failure: Vec::new(),
    };
    match ctx.client.call(txn).await {
        Outcome::Ok(r) => ctx.recorder.complete(pending, json!(r.succeeded)),
        Outcome::Failed(error) => ctx.recorder.refused(pending, &error.to_string()),
        Outcome::Unknown(why) => ctx.recorder.unknown(pending, &why),
    }
}
