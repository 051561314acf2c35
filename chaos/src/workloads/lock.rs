//! `lock` and `lock-unfenced`: a counter in etcd protected by the core's `Mutex` recipe, with
//! holders that freeze past their session's TTL, judged by the lock checker.
//!
//! The simulator's `lock` shapes: each client takes the lock, reads the counter, waits a
//! little, sometimes freezes longer than its lease's TTL (its whole client, keep-alives
//! included: see `freeze`), writes `read + 1` and unlocks, and records a `hold` (token = its
//! key's create revision, acquired, released, and when its lease may have expired). With
//! fencing (`lock`) the write is a txn guarded by the mutex's is-owner compare, so the cluster
//! refuses a write from a holder that lost the lock; without (`lock-unfenced`) it is a plain put
//! and a holder waking from a freeze overwrites a newer value: the lost update Jepsen found in
//! etcd's locks, the negative control. Each counter value names its writer, so after the run
//! one reader walks the counter's revisions back and records the writes in the order the
//! cluster applied them (`counter-history`), answers lost in the chaos included.
//!
//! Left out for now (the simulator has them): freezes while *waiting* for the lock, and the
//! lock's keys from the committed log, so the checker's `expired_owner` rule is not judged.

use super::{jitter, Ctx, Verdict};
use crate::freeze::Freezable;
use crate::recorder::Recorder;
use detcd_check::history::Operation;
use detcd_check::lock::{self, Hold, LockHistory, ProtectedWrite};
use detcd_core::api::{LeaseTimeToLiveRequest, RangeRequest, RangeResponse, RequestOp, TxnRequest};
use detcd_core::client::{ops, Client};
use detcd_core::recipes::{Mutex, Session};
use detcd_proto::client::GrpcClient;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::time::{Duration, Instant};

/// Session TTL (seconds): short, so a freeze outlives it in a short run.
pub const TTL: i64 = 2;
/// Chance that a holder freezes between its read and its write.
const FREEZE_CHANCE: f64 = 0.25;
/// How long a frozen holder stays frozen (milliseconds): past the TTL, the lease's expiry at
/// the cluster and the next holder's lock, read and write.
const FREEZE_MS: std::ops::Range<u64> = 3_500..5_000;
/// How long one lock call may wait before the client gives up on it.
const LOCK_PATIENCE: Duration = Duration::from_secs(8);
const MUTEX: &str = "lock";
const COUNTER: &str = "lock-counter";

type Recipes = Freezable<GrpcClient>;

pub async fn client(mut ctx: Ctx, fenced: bool) {
    let client = Freezable::new(ctx.client.clone());
    while ctx.running() {
        let Some(session) = session(&ctx, &client).await else { break };
        let Ok(mut mutex) = Mutex::new(&session, MUTEX) else { break };
        while ctx.running() && !session.is_done() {
            hold(&mut ctx, &client, &session, &mut mutex, fenced).await;
            jitter(&mut ctx, 0, 200).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), session.close()).await;
    }
}

/// A session with the TTL, retried until the cluster grants one or the chaos phase ends.
async fn session(ctx: &Ctx, client: &Recipes) -> Option<Session<Recipes>> {
    while ctx.running() {
        if let Ok(session) = Session::with_ttl(client.clone(), TTL).await {
            return Some(session);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    None
}

/// One lock, read, (maybe freeze), write, unlock; recorded as a `hold` operation.
async fn hold(
    ctx: &mut Ctx,
    client: &Recipes,
    session: &Session<Recipes>,
    mutex: &mut Mutex<Recipes>,
    fenced: bool,
) {
    let called = ctx.recorder.now();
    let pending = ctx.recorder.invoke(ctx.index, "hold", Some(MUTEX), json!({"fenced": fenced}));
    let why = match tokio::time::timeout(LOCK_PATIENCE, mutex.lock()).await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some("gave up waiting for the lock".to_string()),
    };
    if let Some(why) = why {
        // Not a hold: the checker skips outputs that are not holds.
        return ctx.recorder.complete(pending, json!({"error": why}));
    }
    let acquired = ctx.recorder.now();
    let token = mutex.revision();
    let expired_from = if lease_alive(session).await { ctx.recorder.now() } else { called };
    if let Some(read) = read_counter(client).await {
        jitter(ctx, 10, 100).await;
        if ctx.rng.gen_bool(FREEZE_CHANCE) {
            let millis = ctx.rng.gen_range(FREEZE_MS);
            client.freeze(Duration::from_millis(millis));
        }
        let write = ProtectedWrite {
            client: ctx.index,
            token,
            read,
            wrote: read + 1,
            time: ctx.recorder.now(),
        };
        write_counter(client, mutex, fenced, &write).await;
    }
    let still_owner = lease_alive(session).await;
    let released = ctx.recorder.now();
    let _ = mutex.unlock().await;
    let lease_expired = (!still_owner).then_some(expired_from);
    let hold = Hold { client: ctx.index, token, acquired, released: Some(released), lease_expired };
    match serde_json::to_value(&hold) {
        Ok(output) => ctx.recorder.complete(pending, output),
        Err(_) => ctx.recorder.unknown(pending),
    }
}

/// Whether the session's lease is surely alive now; unknown counts as not alive (a hold may
/// trust only what it knows).
async fn lease_alive(session: &Session<Recipes>) -> bool {
    if session.is_done() {
        return false;
    }
    let request = LeaseTimeToLiveRequest { id: session.lease(), keys: false };
    for _ in 0..3 {
        if let Ok(answer) = session.client().lease_time_to_live(request.clone()).await {
            return answer.ttl > 0;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The counter's value now (0 before any write), or `None` if it could not be read.
async fn read_counter(client: &Recipes) -> Option<i64> {
    let response = client.range(ops::get(COUNTER.as_bytes())).await.ok()?;
    match response.kvs.first() {
        None => Some(0),
        Some(kv) => serde_json::from_slice::<ProtectedWrite>(&kv.value).ok().map(|w| w.wrote),
    }
}

/// Writes the counter: guarded by the is-owner compare when fenced, a plain put otherwise. The
/// answer does not matter: the counter's history says what was applied.
async fn write_counter(
    client: &Recipes,
    mutex: &Mutex<Recipes>,
    fenced: bool,
    write: &ProtectedWrite,
) {
    let value = serde_json::to_vec(write).unwrap_or_default();
    let put = ops::put(COUNTER.as_bytes(), &value, 0);
    if fenced {
        let txn = TxnRequest {
            compare: vec![mutex.is_owner()],
            success: vec![RequestOp::Put(put)],
            failure: vec![],
        };
        let _ = client.txn(txn).await;
    } else {
        let _ = client.put(put).await;
    }
}

/// Records the counter's writes in the order the cluster applied them, as `counter-history`.
pub async fn record_counter_history(client: &GrpcClient, recorder: &Recorder, index: u64) {
    let pending = recorder.invoke(index, "counter-history", Some(COUNTER), json!(null));
    match counter_history(client).await {
        Some(writes) => recorder.complete(pending, json!(writes)),
        None => recorder.unknown(pending),
    }
}

/// Walks the counter key's versions from the newest back to its creation.
async fn counter_history(client: &GrpcClient) -> Option<Vec<ProtectedWrite>> {
    let mut writes = Vec::new();
    let mut revision = 0;
    loop {
        let request = RangeRequest { key: COUNTER.into(), revision, ..Default::default() };
        let response = read_with_retries(client, request).await?;
        let Some(kv) = response.kvs.first() else { break };
        writes.push(serde_json::from_slice::<ProtectedWrite>(&kv.value).ok()?);
        if kv.version <= 1 {
            break;
        }
        revision = kv.mod_revision - 1;
    }
    writes.reverse();
    Some(writes)
}

async fn read_with_retries(client: &GrpcClient, request: RangeRequest) -> Option<RangeResponse> {
    for _ in 0..30 {
        if let Ok(response) = client.range(request.clone()).await {
            return Some(response);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

/// The completed outputs of operations `f` that parse as `T`.
fn items<T: DeserializeOwned>(ops: &[Operation], f: &str) -> Vec<T> {
    ops.iter()
        .filter(|op| op.f == f && op.ret.is_some())
        .filter_map(|op| serde_json::from_value(op.output.clone()).ok())
        .collect()
}

/// The lock checker's verdict on the holds and the counter's history.
pub fn verdict(ops: &[Operation], fenced: bool) -> Verdict {
    let checker = if fenced { "lock (fenced)" } else { "lock (unfenced)" }.to_string();
    let Some(writes) = items::<Vec<ProtectedWrite>>(ops, "counter-history").pop() else {
        return Verdict {
            checker,
            ok: None,
            summary: "unknown: the counter's history could not be read after the run".into(),
        };
    };
    let started = Instant::now();
    let holds: Vec<Hold> = items(ops, "hold");
    let work = format!("{} holds, {} writes", holds.len(), writes.len());
    let input = LockHistory { holds, writes, initial: 0, fenced, keys: Vec::new() };
    let verdict = lock::check(&input);
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) = match verdict.findings().first() {
        None => (Some(true), format!("ok ({work}, {seconds:.2}s)")),
        Some(first) => (Some(false), format!("VIOLATED {}: {}", first.rule, first.message)),
    };
    Verdict { checker, ok, summary }
}
