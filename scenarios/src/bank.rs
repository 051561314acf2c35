//! `bank`: the seed guide's transfer between accounts, made safe by compare-and-swap.
//!
//! Each transfer reads both balances (and their mod revisions), then commits
//! `If(ModRevision(from) == r1, ModRevision(to) == r2) Then(Put(from, b1 - x), Put(to, b2 + x))`.
//! Readers read every account in one range. The bank checker demands that every read sums to the
//! initial total and that reads and transfers are linearizable as whole transfers. Transfers are
//! recorded as `guarded`, which lets the checker end the candidacy of one that timed out as soon
//! as a later write makes its guard false: hour-long runs stay checkable.

use crate::kv::CHECK_STEPS;
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::bank;
use detcd_check::history::History;
use detcd_check::linearizability::Options;
use detcd_core::api::*;
use detcd_core::kv::{prefix_end, KeyValue};
use detcd_sim::client::{Outcome, SimClient};
use detcd_sim::run::RunResult;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const ACCOUNTS: usize = 5;
const INITIAL: i64 = 100;
pub(crate) const PREFIX: &str = "acct/";

pub struct BankScenario;

fn initial() -> BTreeMap<String, i64> {
    (0..ACCOUNTS).map(|i| (format!("{PREFIX}{i}"), INITIAL)).collect()
}

impl Scenario for BankScenario {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn description(&self) -> &'static str {
        "CAS transfers between accounts guarded by both mod revisions; bank checker (sum + linearizable)"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(BankWorkload)
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![bank_verdict(&result.history)]
    }
}

pub(crate) fn bank_verdict(ops: &[detcd_check::history::Operation]) -> CheckerVerdict {
    let started = Instant::now();
    let mut options = Options::default();
    options.budget.max_steps = Some(CHECK_STEPS);
    let verdict = bank::check(&initial(), &History::new(ops.to_vec()), options);
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary, details) = match verdict {
        Ok(v) if v.is_ok() => {
            (Some(true), format!("ok ({} ops, {seconds:.2}s)", ops.len()), Value::Null)
        }
        // Out of search steps with nothing else found: neither a pass nor a violation.
        Ok(v) if v.findings().iter().all(|f| f.rule == bank::UNKNOWN) => (
            None,
            format!("unknown ({CHECK_STEPS} search steps exhausted, {seconds:.2}s)"),
            Value::Null,
        ),
        Ok(v) => {
            let first = v.findings().first().map(|f| f.message.clone()).unwrap_or_default();
            (
                Some(false),
                format!("VIOLATED: {first}"),
                serde_json::to_value(&v).unwrap_or(Value::Null),
            )
        }
        Err(error) => (Some(false), format!("history could not be checked: {error}"), Value::Null),
    };
    CheckerVerdict { checker: "bank (sum + linearizable)".into(), ok, seconds, summary, details }
}

struct BankWorkload;

impl Workload for BankWorkload {
    fn name(&self) -> &str {
        "bank"
    }

    fn setup(&self, mut client: SimClient) -> BoxFuture<'static, ()> {
        Box::pin(async move { open_accounts(&mut client).await })
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(bank_client(ctx))
    }
}

/// Puts every account's initial balance in one txn, until the cluster takes it.
pub(crate) async fn open_accounts(client: &mut SimClient) {
    let puts =
        initial().into_iter().map(|(key, balance)| RequestOp::Put(put(&key, balance))).collect();
    let txn = TxnRequest { compare: Vec::new(), success: puts, failure: Vec::new() };
    while !client.call(txn.clone()).await.is_ok() {
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
}

fn put(key: &str, balance: i64) -> PutRequest {
    PutRequest { key: key.into(), value: balance.to_string().into_bytes(), ..Default::default() }
}

fn balance(kv: &KeyValue) -> i64 {
    String::from_utf8_lossy(&kv.value).parse().unwrap_or(0)
}

async fn bank_client(mut ctx: ClientContext) {
    while ctx.running().await {
        if ctx.rng.gen_bool(0.3) {
            read_all(&mut ctx).await;
        } else {
            let from = ctx.rng.gen_range(0..ACCOUNTS);
            let to = (from + ctx.rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
            transfer(&mut ctx, &format!("{PREFIX}{from}"), &format!("{PREFIX}{to}")).await;
        }
        madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(1..30))).await;
    }
}

pub(crate) async fn read_all(ctx: &mut ClientContext) {
    let pending = ctx.recorder.invoke(ctx.index, "read", None, Value::Null);
    let request = RangeRequest {
        key: PREFIX.into(),
        range_end: prefix_end(PREFIX.as_bytes()),
        ..Default::default()
    };
    match ctx.client.call(request).await {
        Outcome::Ok(range) => {
            let balances: BTreeMap<String, i64> = range
                .kvs
                .iter()
                .map(|kv| (String::from_utf8_lossy(&kv.key).to_string(), balance(kv)))
                .collect();
            ctx.recorder.complete(pending, json!(balances))
        }
        other => ctx.recorder.unknown(pending, &format!("{other:?}")),
    }
}

/// Reads one account (linearizably), for its balance and mod revision.
async fn lookup(ctx: &mut ClientContext, key: &str) -> Option<KeyValue> {
    let request = RangeRequest { key: key.into(), ..Default::default() };
    match ctx.client.call(request).await {
        Outcome::Ok(range) => range.kvs.into_iter().next(),
        _ => None,
    }
}

async fn transfer(ctx: &mut ClientContext, from: &str, to: &str) {
    let (Some(source), Some(target)) = (lookup(ctx, from).await, lookup(ctx, to).await) else {
        return;
    };
    let amount = ctx.rng.gen_range(1..=10).min(balance(&source));
    if amount <= 0 {
        return;
    }
    let guard = |kv: &KeyValue| Compare {
        key: kv.key.clone(),
        range_end: Vec::new(),
        target: CompareTarget::Mod(kv.mod_revision),
        result: CompareResult::Equal,
    };
    let txn = TxnRequest {
        compare: vec![guard(&source), guard(&target)],
        success: vec![
            RequestOp::Put(put(from, balance(&source) - amount)),
            RequestOp::Put(put(to, balance(&target) + amount)),
        ],
        failure: Vec::new(),
    };
    // The guard compares both mod revisions, read before the call: the checker may rely on it.
    let input = json!({"from": from, "to": to, "amount": amount, "guarded": true});
    let pending = ctx.recorder.invoke(ctx.index, "transfer", None, input);
    match ctx.client.call(txn).await {
        Outcome::Ok(response) => ctx.recorder.complete(pending, json!(response.succeeded)),
        Outcome::Failed(_) => ctx.recorder.complete(pending, json!(false)),
        other => ctx.recorder.unknown(pending, &format!("{other:?}")),
    }
}
