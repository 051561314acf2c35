//! `bank`: transfers between accounts made safe by compare-and-swap, judged by the bank checker
//! (every read sums to the initial total; reads and transfers linearizable as whole transfers).
//!
//! The simulator's `bank` shapes: a transfer reads both balances and their mod revisions, then
//! commits `If(ModRevision(from) == r1, ModRevision(to) == r2) Then(Put(from), Put(to))`, and is
//! recorded as `guarded` (it read both accounts before its call), so a transfer of unknown
//! outcome leaves the search once a later write falsifies its guard. Reads read every account
//! in one range.

use super::register::settle;
use super::{check_options, pace, Ctx, Verdict, CHECK_STEPS, CHECK_TIME};
use detcd_check::bank;
use detcd_check::history::{History, Operation};
use detcd_core::api::*;
use detcd_core::kv::{prefix_end, KeyValue};
use detcd_proto::client::GrpcClient;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 5;
const INITIAL: i64 = 100;
const PREFIX: &str = "acct/";

fn initial() -> BTreeMap<String, i64> {
    (0..ACCOUNTS).map(|i| (format!("{PREFIX}{i}"), INITIAL)).collect()
}

fn put(key: &str, balance: i64) -> PutRequest {
    PutRequest { key: key.into(), value: balance.to_string().into_bytes(), ..Default::default() }
}

fn balance(kv: &KeyValue) -> i64 {
    String::from_utf8_lossy(&kv.value).parse().unwrap_or(0)
}

/// Puts every account's initial balance in one txn, retried until the cluster takes it.
pub async fn open_accounts(client: &GrpcClient, within: Duration) -> Result<(), String> {
    let puts =
        initial().into_iter().map(|(key, balance)| RequestOp::Put(put(&key, balance))).collect();
    let txn = TxnRequest { compare: Vec::new(), success: puts, failure: Vec::new() };
    let deadline = Instant::now() + within;
    loop {
        match client.txn(txn.clone()).await {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() >= deadline => {
                return Err(format!("could not open the accounts: {error}"))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub async fn client(mut ctx: Ctx) {
    while ctx.running() {
        if ctx.rng.gen_bool(0.3) {
            read_all(&ctx).await;
        } else {
            let from = ctx.rng.gen_range(0..ACCOUNTS);
            let to = (from + ctx.rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
            transfer(&mut ctx, &format!("{PREFIX}{from}"), &format!("{PREFIX}{to}")).await;
        }
        pace(&mut ctx, 5, 40).await;
    }
}

async fn read_all(ctx: &Ctx) {
    let pending = ctx.recorder.invoke(ctx.index, "read", None, Value::Null);
    let request = RangeRequest {
        key: PREFIX.into(),
        range_end: prefix_end(PREFIX.as_bytes()),
        ..Default::default()
    };
    match ctx.client.range(request).await {
        Ok(range) => {
            let balances: BTreeMap<String, i64> = range
                .kvs
                .iter()
                .map(|kv| (String::from_utf8_lossy(&kv.key).to_string(), balance(kv)))
                .collect();
            ctx.recorder.complete(pending, json!(balances))
        }
        Err(_) => ctx.recorder.refused(pending),
    }
}

/// Reads one account (linearizably), for its balance and mod revision.
async fn lookup(ctx: &Ctx, key: &str) -> Option<KeyValue> {
    let request = RangeRequest { key: key.into(), ..Default::default() };
    ctx.client.range(request).await.ok()?.kvs.into_iter().next()
}

async fn transfer(ctx: &mut Ctx, from: &str, to: &str) {
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
    let outcome = ctx.client.txn(txn).await;
    match outcome {
        // A refused transfer certainly had no effect: the bank model's `false`.
        Err(error) if !error.is_unknown() => ctx.recorder.complete(pending, json!(false)),
        outcome => settle(ctx, pending, &outcome, |r| json!(r.succeeded)),
    }
}

/// The bank checker's verdict (sum + linearizable).
pub fn verdict(ops: &[Operation]) -> Verdict {
    let checker = "bank (sum + linearizable)".to_string();
    let started = Instant::now();
    let options = check_options();
    let verdict = bank::check(&initial(), &History::new(ops.to_vec()), options);
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) = match verdict {
        Ok(v) if v.is_ok() => (Some(true), format!("ok ({} ops, {seconds:.2}s)", ops.len())),
        Ok(v) if v.findings().iter().all(|f| f.rule == bank::UNKNOWN) => {
            (None, format!("unknown (search budget spent: {CHECK_STEPS} steps or {CHECK_TIME:?}; {seconds:.2}s)"))
        }
        Ok(v) => {
            let first = v.findings().first().map(|f| f.message.clone()).unwrap_or_default();
            (Some(false), format!("VIOLATED: {first}"))
        }
        Err(error) => (Some(false), format!("history could not be checked: {error}")),
    };
    Verdict { checker, ok, summary }
}
