//! `kv` and `register`: per-key reads, writes, compare-and-set and prefix ranges, judged for
//! linearizability.
//!
//! `kv` records in the `etcd` model's shapes (revisions in headers checked too) over a handful of
//! keys: puts, linearizable gets, deletes, prefix ranges, and CAS as a txn guarded by the key's
//! value. `register` drives one key as a read/write/CAS register and is judged by the `register`
//! model.

use crate::resolve::resolve;
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::history::{History, Operation};
use detcd_check::linearizability::{self, Model, Options, Verdict};
use detcd_check::models::etcd::Etcd;
use detcd_check::models::register::Register;
use detcd_core::api::*;
use detcd_core::kv::prefix_end;
use detcd_core::member::{ClientRequest, ClientResponse};
use detcd_sim::client::Outcome;
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
        "puts, gets, deletes, CAS txns and prefix ranges over a few keys; etcd linearizability model"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(KvWorkload)
    }

    fn records_events(&self) -> bool {
        true
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![linearizable_resolved(result)]
    }
}

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
    while ctx.running() {
        sequence += 1;
        let key = format!("k{}", ctx.rng.gen_range(0..4));
        let value = format!("c{}-{sequence}", ctx.index);
        match ctx.rng.gen_range(0..10) {
            0..=2 => drop(workload::put(&mut ctx, &key, &value).await),
            3..=5 => drop(workload::get(&mut ctx, &key).await),
            6 => delete(&mut ctx, &key).await,
            7 => prefix_range(&mut ctx).await,
            _ => cas(&mut ctx, &key, &value).await,
        }
        pause(&mut ctx).await;
    }
}

async fn pause(ctx: &mut ClientContext) {
    madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(1..40))).await;
}

/// Records `outcome` for `pending`, mapping a response to the model's output.
fn settle(
    ctx: &ClientContext,
    pending: detcd_sim::history::Pending,
    outcome: &Outcome,
    output: impl FnOnce(&ClientResponse) -> Option<Value>,
) {
    match outcome {
        Outcome::Ok(response) => match output(response) {
            Some(value) => ctx.recorder.complete(pending, value),
            None => ctx.recorder.unknown(pending, "unexpected response"),
        },
        Outcome::Failed(error) => {
            ctx.recorder.complete(pending, json!({"error": error.to_string()}))
        }
        Outcome::Unknown(why) => ctx.recorder.unknown(pending, why),
    }
}

async fn delete(ctx: &mut ClientContext, key: &str) {
    let pending = ctx.recorder.invoke(ctx.index, "delete", Some(key), json!({"key": key}));
    let request = DeleteRangeRequest { key: key.into(), ..Default::default() };
    let outcome = ctx.client.call(ClientRequest::DeleteRange(request)).await;
    settle(ctx, pending, &outcome, |response| match response {
        ClientResponse::DeleteRange(r) => {
            Some(json!({"revision": r.header.revision, "deleted": r.deleted}))
        }
        _ => None,
    });
}

async fn prefix_range(ctx: &mut ClientContext) {
    let end = String::from_utf8_lossy(&prefix_end(b"k")).to_string();
    let pending =
        ctx.recorder.invoke(ctx.index, "range", None, json!({"key": "k", "range_end": end}));
    let request =
        RangeRequest { key: b"k".to_vec(), range_end: prefix_end(b"k"), ..Default::default() };
    let outcome = ctx.client.call(ClientRequest::Range(request)).await;
    settle(ctx, pending, &outcome, |response| match response {
        ClientResponse::Range(r) => {
            let kvs: Vec<Value> = r.kvs.iter().map(kv_json).collect();
            Some(json!({"revision": r.header.revision, "kvs": kvs, "count": r.count}))
        }
        _ => None,
    });
}

/// Compare-and-set as a txn: if the key's value is what was last seen, write a new one.
async fn cas(ctx: &mut ClientContext, key: &str, value: &str) {
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
    let outcome = ctx.client.call(ClientRequest::Txn(txn)).await;
    settle(ctx, pending, &outcome, |response| match response {
        ClientResponse::Txn(r) => {
            Some(json!({"revision": r.header.revision, "succeeded": r.succeeded}))
        }
        _ => None,
    });
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

async fn register_client(mut ctx: ClientContext) {
    while ctx.running() {
        let (value, expected) = (ctx.rng.gen_range(0..5), ctx.rng.gen_range(0..5));
        match ctx.rng.gen_range(0..3) {
            0 => register_write(&mut ctx, value).await,
            1 => register_read(&mut ctx).await,
            _ => register_cas(&mut ctx, expected, value).await,
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
    let outcome = ctx.client.call(ClientRequest::Put(request)).await;
    match outcome {
        Outcome::Ok(_) => ctx.recorder.complete(pending, Value::Null),
        // A refused write did not happen: the register model has no error output, so record it as
        // unknown (it may or may not be linearized), which is always sound.
        Outcome::Failed(error) => ctx.recorder.unknown(pending, &error.to_string()),
        Outcome::Unknown(why) => ctx.recorder.unknown(pending, &why),
    }
}

async fn register_read(ctx: &mut ClientContext) {
    let pending = ctx.recorder.invoke(ctx.index, "read", None, Value::Null);
    let request = RangeRequest { key: REGISTER.into(), ..Default::default() };
    match ctx.client.call(ClientRequest::Range(request)).await {
        Outcome::Ok(ClientResponse::Range(r)) => {
            let value =
                r.kvs.first().and_then(|kv| String::from_utf8_lossy(&kv.value).parse::<i64>().ok());
            ctx.recorder.complete(pending, json!(value))
        }
        other => ctx.recorder.unknown(pending, &format!("{other:?}")),
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
    match ctx.client.call(ClientRequest::Txn(txn)).await {
        Outcome::Ok(ClientResponse::Txn(r)) => ctx.recorder.complete(pending, json!(r.succeeded)),
        Outcome::Ok(_) => ctx.recorder.unknown(pending, "unexpected response"),
        Outcome::Failed(error) => ctx.recorder.unknown(pending, &error.to_string()),
        Outcome::Unknown(why) => ctx.recorder.unknown(pending, &why),
    }
}
