//! `lock` and `lock-unfenced`: a counter in etcd protected by the core's `Mutex` recipe, with
//! holders that freeze past their session's TTL, judged by the lock checker.
//!
//! The simulator's `lock` shapes: each client takes the lock, reads the counter, waits a
//! little, sometimes freezes longer than its lease's TTL (its whole client, keep-alives
//! included: see `freeze`), writes `read + 1` and unlocks, and records a `hold` (token = its
//! key's create revision, acquired, released, and when its lease may have expired). A client
//! also freezes, now and then, while it *waits* for the lock, and a holder now and then works
//! slowly (its session alive), so a waiter's lease can expire in the queue while the lock is
//! still taken: a recipe must then refuse it the lock, not hand it over when its turn comes. With
//! fencing (`lock`) the write is a txn guarded by the mutex's is-owner compare, so the cluster
//! refuses a write from a holder that lost the lock; without (`lock-unfenced`) it is a plain put
//! and a holder waking from a freeze overwrites a newer value: the lost update Jepsen found in
//! etcd's locks, the negative control. Each counter value names its writer, so after the run
//! one reader walks the counter's revisions back and records the writes in the order the
//! cluster applied them (`counter-history`), answers lost in the chaos included, and reads of
//! the lock's prefix at every revision record every incarnation of its keys, created and
//! deleted at which revision (`lock-keys`): the committed log's view the checker's
//! `expired_owner` rule needs (the simulator reads the log itself). Nothing compacts during a
//! run, so every revision can be read.

use super::{jitter, Ctx, Verdict};
use crate::freeze::Freezable;
use crate::recorder::Recorder;
use detcd_check::history::Operation;
use detcd_check::lock::{self, Hold, LockHistory, LockKey, ProtectedWrite};
use detcd_core::api::{
    Compare, CompareResult, CompareTarget, LeaseTimeToLiveRequest, RangeRequest, RangeResponse,
    RequestOp, TxnRequest,
};
use detcd_core::client::{ops, Client};
use detcd_core::recipes::{Mutex, Session};
use detcd_proto::client::GrpcClient;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Session TTL (seconds): short, so a freeze outlives it in a short run.
pub const TTL: i64 = 2;
/// Chance that a holder freezes between its read and its write.
const FREEZE_CHANCE: f64 = 0.25;
/// How long a frozen holder stays frozen (milliseconds): past the TTL, the lease's expiry at
/// the cluster and the next holder's lock, read and write.
const FREEZE_MS: std::ops::Range<u64> = 3_500..5_000;
/// Chance that a holder that does not freeze works slowly, its session kept alive: long enough
/// for a waiter frozen behind it to lose its lease while the lock is still taken.
const SLOW_CHANCE: f64 = 0.2;
/// How long such a holder holds on (milliseconds): past a waiter's TTL after its freeze began.
const SLOW_MS: std::ops::Range<u64> = 2_500..4_000;
/// Chance that a client freezes while it waits for the lock, some time into the wait.
const WAIT_FREEZE_CHANCE: f64 = 0.2;
/// How far into a lock call such a freeze begins (milliseconds).
const WAIT_FREEZE_AFTER_MS: std::ops::Range<u64> = 0..400;
/// Chance that a hold takes the lock through the server's Lock service instead of the recipe in
/// the client: both run the core's `Mutex`, on the member or here, on the same keys.
const SERVICE_CHANCE: f64 = 0.5;
/// How many revisions back from the Lock service's answer its key's incarnation is looked for.
const TOKEN_SEARCH: i64 = 1_000;
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
    let through_service = ctx.rng.gen_bool(SERVICE_CHANCE);
    let through = if through_service { "lock service" } else { "recipe" };
    let input = json!({"fenced": fenced, "through": through});
    let pending = ctx.recorder.invoke(ctx.index, "hold", Some(MUTEX), input);
    if ctx.rng.gen_bool(WAIT_FREEZE_CHANCE) {
        let after = Duration::from_millis(ctx.rng.gen_range(WAIT_FREEZE_AFTER_MS));
        let hold_for = Duration::from_millis(ctx.rng.gen_range(FREEZE_MS));
        let frozen = client.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            frozen.freeze(hold_for);
        });
    }
    let taken = match through_service {
        true => lock_through_service(ctx, client, session).await,
        false => lock_with_recipe(mutex).await,
    };
    let (token, key) = match taken {
        Ok(taken) => taken,
        // Not a hold: the checker skips outputs that are not holds.
        Err(why) => return ctx.recorder.complete(pending, json!({"error": why})),
    };
    let acquired = ctx.recorder.now();
    let expired_from = if lease_alive(session).await { ctx.recorder.now() } else { called };
    if let Some(read) = read_counter(client).await {
        jitter(ctx, 10, 100).await;
        if ctx.rng.gen_bool(FREEZE_CHANCE) {
            let millis = ctx.rng.gen_range(FREEZE_MS);
            client.freeze(Duration::from_millis(millis));
        } else if ctx.rng.gen_bool(SLOW_CHANCE) {
            let millis = ctx.rng.gen_range(SLOW_MS);
            tokio::time::sleep(Duration::from_millis(millis)).await;
        }
        let write = ProtectedWrite {
            client: ctx.index,
            token,
            read,
            wrote: read + 1,
            time: ctx.recorder.now(),
        };
        let is_owner = ops::compare(&key, CompareTarget::Create(token), CompareResult::Equal);
        write_counter(client, is_owner, fenced, &write).await;
    }
    let still_owner = lease_alive(session).await;
    let released = ctx.recorder.now();
    if through_service {
        let _ = client.gated(ctx.client.unlock(&key)).await;
    } else {
        let _ = mutex.unlock().await;
    }
    let lease_expired = (!still_owner).then_some(expired_from);
    let hold = Hold { client: ctx.index, token, acquired, released: Some(released), lease_expired };
    match serde_json::to_value(&hold) {
        Ok(output) => ctx.recorder.complete(pending, output),
        Err(_) => ctx.recorder.unknown(pending),
    }
}

/// The lock through the recipe in this client: its token and key, or why not.
async fn lock_with_recipe(mutex: &mut Mutex<Recipes>) -> Result<(i64, Vec<u8>), String> {
    match tokio::time::timeout(LOCK_PATIENCE, mutex.lock()).await {
        Ok(Ok(())) => Ok((mutex.revision(), mutex.key().to_vec())),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("gave up waiting for the lock".to_string()),
    }
}

/// The lock through the server's Lock service for the session's lease (the recipe runs on the
/// member), held back like every call of a frozen client: its token and key, or why not. The
/// token is the key's create revision, read at the answer's revision or, if the key was gone
/// by then, at the newest earlier revision that still had it.
async fn lock_through_service(
    ctx: &Ctx,
    client: &Recipes,
    session: &Session<Recipes>,
) -> Result<(i64, Vec<u8>), String> {
    let call = client.gated(ctx.client.lock(MUTEX.as_bytes(), session.lease()));
    let granted = match tokio::time::timeout(LOCK_PATIENCE, call).await {
        Ok(Ok(granted)) => granted,
        Ok(Err(error)) => return Err(error.to_string()),
        Err(_) => return Err("gave up waiting for the lock (Lock service)".to_string()),
    };
    let oldest = (granted.header.revision - TOKEN_SEARCH).max(1);
    for revision in (oldest..=granted.header.revision).rev() {
        let request = RangeRequest { key: granted.key.clone(), revision, ..Default::default() };
        let Ok(response) = client.range(request).await else { break };
        if let Some(kv) = response.kvs.first() {
            return Ok((kv.create_revision, granted.key));
        }
    }
    Err(format!("the Lock service granted {:?}, which no revision shows", granted.key))
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
async fn write_counter(client: &Recipes, is_owner: Compare, fenced: bool, write: &ProtectedWrite) {
    let value = serde_json::to_vec(write).unwrap_or_default();
    let put = ops::put(COUNTER.as_bytes(), &value, 0);
    if fenced {
        let txn = TxnRequest {
            compare: vec![is_owner],
            success: vec![RequestOp::Put(put)],
            failure: vec![],
        };
        let _ = client.txn(txn).await;
    } else {
        let _ = client.put(put).await;
    }
}

/// After the run: records the counter's writes in the order the cluster applied them
/// (`counter-history`) and every incarnation of the lock's keys (`lock-keys`).
pub async fn record_after_run(client: &GrpcClient, recorder: &Recorder, index: u64) {
    let pending = recorder.invoke(index, "counter-history", Some(COUNTER), json!(null));
    match counter_history(client).await {
        Some(writes) => recorder.complete(pending, json!(writes)),
        None => recorder.unknown(pending),
    }
    let pending = recorder.invoke(index, "lock-keys", Some(MUTEX), json!(null));
    match lock_keys(client).await {
        Some(keys) => recorder.complete(pending, json!(keys)),
        None => recorder.unknown(pending),
    }
}

/// Every key ever created under the lock's prefix: the prefix read at every revision from 1 to
/// now (nothing is compacted during a run), an incarnation (key and create revision) present at
/// one revision and gone at the next was deleted there. A watch from revision 1 would say the
/// same in one call, but etcd 3.4 cannot tell when such a watch has caught up (it answers a
/// progress request at once, before the old events), and the reads work on every etcd.
async fn lock_keys(client: &GrpcClient) -> Option<Vec<LockKey>> {
    let prefix = format!("{MUTEX}/");
    let range =
        |revision| RangeRequest { revision, keys_only: true, ..ops::get_prefix(prefix.as_bytes()) };
    let now = read_with_retries(client, range(0)).await?.header.revision;
    let mut keys: Vec<LockKey> = Vec::new();
    // Incarnations alive at the previous revision: (key, create revision) -> index in `keys`.
    let mut alive: BTreeMap<(Vec<u8>, i64), usize> = BTreeMap::new();
    for revision in 1..=now {
        let response = read_with_retries(client, range(revision)).await?;
        let present: BTreeMap<(Vec<u8>, i64), ()> =
            response.kvs.into_iter().map(|kv| ((kv.key, kv.create_revision), ())).collect();
        alive.retain(|incarnation, index| {
            let stays = present.contains_key(incarnation);
            if !stays {
                keys[*index].deleted = Some(revision);
            }
            stays
        });
        for incarnation in present.into_keys() {
            alive.entry(incarnation.clone()).or_insert_with(|| {
                keys.push(LockKey { created: incarnation.1, deleted: None });
                keys.len() - 1
            });
        }
    }
    Some(keys)
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
    // Without the keys (the watch could not finish), `expired_owner` is not judged.
    let keys = items::<Vec<LockKey>>(ops, "lock-keys").pop().unwrap_or_default();
    let work = format!("{} holds, {} writes, {} lock keys", holds.len(), writes.len(), keys.len());
    let input = LockHistory { holds, writes, initial: 0, fenced, keys };
    let verdict = lock::check(&input);
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) = match verdict.violation_summary() {
        None => (Some(true), format!("ok ({work}, {seconds:.2}s)")),
        Some(violated) => (Some(false), violated),
    };
    Verdict { checker, ok, summary }
}
