//! `lock` and `lock-unfenced`: a counter in etcd protected by a `Mutex`, with clients that pause
//! past their session's TTL while holding the lock.
//!
//! Each client takes the lock, reads the counter (linearizably), waits a little, sometimes freezes
//! for longer than its lease's TTL (its keep-alives freeze too, so the lease expires and another
//! client takes the lock), then writes `read + 1` and unlocks. With fencing (`lock`) the write is
//! a txn guarded by the mutex's is-owner compare (`CreateRevision(own key) == token`), so a write
//! by a client that lost the lock is refused by etcd itself. Without it (`lock-unfenced`) the
//! write is a plain put, and a client waking from a pause overwrites the newer value: the lost
//! update Jepsen found, which shows an etcd lock alone does not protect a resource.
//!
//! Each counter value records who wrote it (client, token, the value read, the value written),
//! so after the run one client walks the counter key's revisions backwards and records the writes
//! in the order etcd applied them — including writes whose answer was lost. Holds are recorded
//! from the lock call's return to the unlock's call. The holder checks its lease right after the
//! lock returns and again before unlocking; if the lease is gone at the end, it may have expired
//! any time since the last check that found it alive (or since the lock call began, if none did),
//! and that moment is recorded as the lease's expiry. Now and then a client also freezes while
//! it waits for the lock, past its TTL, so its key expires in the queue: a correct recipe then
//! refuses the lock (its key is gone), and one that hands it over anyway is what
//! `expired_owner` catches. The run records the committed events, and every key created under
//! the lock's prefix (create and delete revision) goes to the checker with the holds. The lock
//! checker then judges mutual exclusion, token order, lost updates, (fenced) token order of
//! writes and locks handed to expired waiters.

use crate::recipe_client::{self as rc, Crew};
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::lock::{self, Hold, LockHistory, LockKey, ProtectedWrite};
use detcd_core::api::{RangeRequest, RequestOp, TxnRequest};
use detcd_core::client::{ops, Client};
use detcd_core::kv::EventType;
use detcd_core::recipes::Mutex;
use detcd_sim::client::SimClient;
use detcd_sim::committed::CommittedEvents;
use detcd_sim::etcd_client::SimEtcdClient;
use detcd_sim::run::RunResult;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Session TTL (seconds): short, so a pause outlives it inside a ten-second chaos phase.
const TTL: i64 = 2;
/// Chance that a holder freezes between its read and its write.
const PAUSE_CHANCE: f64 = 0.25;
/// How long a frozen holder stays frozen (milliseconds): past the TTL, the expiry tick and the
/// next holder's lock, read and write.
const PAUSE_MS: std::ops::Range<u64> = 4_000..7_000;
/// How long one lock call may wait before the client gives up on it (its key is then deleted).
const LOCK_PATIENCE: Duration = Duration::from_secs(8);
/// Chance that a client freezes (for `PAUSE_MS`) if it is still waiting for the lock a little
/// after it called lock.
const WAITING_PAUSE_CHANCE: f64 = 0.7;
const MUTEX: &str = "lock";
const COUNTER: &str = "lock-counter";

pub struct LockScenario {
    pub fenced: bool,
}

impl Scenario for LockScenario {
    fn name(&self) -> &'static str {
        if self.fenced {
            "lock"
        } else {
            "lock-unfenced"
        }
    }

    fn description(&self) -> &'static str {
        if self.fenced {
            "Mutex-protected counter, writes fenced by the is-owner compare, holders paused past their TTL; lock checker"
        } else {
            "EXPECTED TO FAIL: the same counter with unfenced writes; the lock checker flags the lost update (Jepsen's finding)"
        }
    }

    fn expected_to_fail(&self) -> bool {
        !self.fenced
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(LockWorkload { fenced: self.fenced, crew: Arc::default() })
    }

    /// The lock's keys come from the committed log (`expired_owner`).
    fn records_events(&self) -> bool {
        true
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![lock_verdict(result, self.fenced)]
    }
}

fn lock_verdict(result: &RunResult, fenced: bool) -> CheckerVerdict {
    let started = Instant::now();
    let history = &result.history;
    let checker = if fenced { "lock (fenced)" } else { "lock (unfenced)" };
    let Some(writes) = rc::last_item::<Vec<ProtectedWrite>>(history, "counter-history") else {
        return rc::not_judged(checker, "the counter's history could not be read after the run");
    };
    let (holds, hold_ops): (Vec<Hold>, _) = rc::items_at(history, "hold");
    let keys = lock_keys(result.committed.as_ref());
    let work = format!("{} holds, {} writes, {} lock keys", holds.len(), writes.len(), keys.len());
    let input = LockHistory { holds, writes, initial: 0, fenced, keys };
    // Hold records are drawn as their hold operations, write records as the hold that wrote
    // them (same client and token), else as the counter's history.
    let counter_op = history.iter().rposition(|op| op.f == "counter-history" && op.ret.is_some());
    let verdict = rc::on_operations(lock::check(&input), |rule, record| match rule {
        "lost_update" | "fencing" => {
            let write = input.writes.get(record)?;
            let hold =
                input.holds.iter().position(|h| h.client == write.client && h.token == write.token);
            hold.and_then(|h| hold_ops.get(h).copied()).or(counter_op)
        }
        _ => hold_ops.get(record).copied(),
    });
    rc::safety(checker, verdict, work, started)
}

/// Every key created under the mutex's prefix, with the revisions that created and deleted it,
/// from the committed events; empty when they are missing or have a hole (then the checker does
/// not judge `expired_owner`).
fn lock_keys(committed: Option<&CommittedEvents>) -> Vec<LockKey> {
    let Some(committed) = committed.filter(|c| c.hole.is_none()) else { return Vec::new() };
    let prefix = format!("{MUTEX}/");
    let mut keys: Vec<LockKey> = Vec::new();
    // The incarnation of each key name that exists now (its index in `keys`).
    let mut open: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for event in &committed.events {
        if !event.kv.key.starts_with(prefix.as_bytes()) {
            continue;
        }
        match event.kind {
            EventType::Put if event.kv.create_revision == event.kv.mod_revision => {
                keys.push(LockKey { created: event.kv.create_revision, deleted: None });
                open.insert(event.kv.key.clone(), keys.len() - 1);
            }
            EventType::Put => {}
            EventType::Delete => {
                if let Some(index) = open.remove(&event.kv.key) {
                    keys[index].deleted = Some(event.revision());
                }
            }
        }
    }
    keys
}

struct LockWorkload {
    fenced: bool,
    crew: Arc<Crew>,
}

impl Workload for LockWorkload {
    fn name(&self) -> &str {
        if self.fenced {
            "lock"
        } else {
            "lock-unfenced"
        }
    }

    fn setup(&self, client: SimClient) -> BoxFuture<'static, ()> {
        let crew = self.crew.clone();
        Box::pin(async move { crew.find_members(client).await })
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(lock_client(ctx, self.crew.clone(), self.fenced))
    }
}

async fn lock_client(mut ctx: ClientContext, crew: Arc<Crew>, fenced: bool) {
    let shift = crew.clock_in();
    let Some(client) = crew.connect().await else { return };
    while ctx.running().await {
        let Some(session) = rc::session(&client, TTL, ctx.until).await else { break };
        let Ok(mut mutex) = Mutex::new(&session, MUTEX) else { break };
        while ctx.running().await && !session.is_done() {
            hold(&mut ctx, &client, &session, &mut mutex, fenced).await;
            rc::jitter(&mut ctx, 0, 200).await;
        }
        let _ = session.close().await;
    }
    drop(shift);
    if ctx.index == 1 {
        record_counter_history(&ctx, &client, &crew).await;
    }
}

/// One lock, read, (maybe freeze), write, unlock; recorded as a `hold` operation.
async fn hold(
    ctx: &mut ClientContext,
    client: &SimEtcdClient,
    session: &detcd_core::recipes::Session<SimEtcdClient>,
    mutex: &mut Mutex<SimEtcdClient>,
    fenced: bool,
) {
    let called = rc::now();
    let pending = ctx.recorder.invoke(ctx.index, "hold", Some(MUTEX), json!({"fenced": fenced}));
    let waiting = Arc::new(AtomicBool::new(true));
    if ctx.rng.gen_bool(WAITING_PAUSE_CHANCE) {
        let (delay, millis) = (ctx.rng.gen_range(100..500), ctx.rng.gen_range(PAUSE_MS));
        rc::pause_this_client_later(ctx, delay, millis, waiting.clone());
    }
    let locked = madsim::time::timeout(LOCK_PATIENCE, mutex.lock()).await;
    waiting.store(false, Ordering::SeqCst);
    match locked {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return rc::refused(ctx, pending, error),
        Err(_) => return rc::refused(ctx, pending, "gave up waiting for the lock"),
    }
    let acquired = rc::now();
    let token = mutex.revision();
    let expired_from = lease_expiry_bound(session, called).await;
    if let Some(read) = read_counter(client).await {
        rc::jitter(ctx, 10, 100).await;
        if ctx.rng.gen_bool(PAUSE_CHANCE) {
            let millis = ctx.rng.gen_range(PAUSE_MS);
            rc::pause_this_client(ctx, millis).await;
        }
        let write =
            ProtectedWrite { client: ctx.index, token, read, wrote: read + 1, time: rc::now() };
        write_counter(client, mutex, fenced, &write).await;
    }
    let still_owner = rc::lease_alive(session).await;
    let released = rc::now();
    let _ = mutex.unlock().await;
    let lease_expired = (!still_owner).then_some(expired_from);
    let hold = Hold { client: ctx.index, token, acquired, released: Some(released), lease_expired };
    rc::complete(ctx, pending, &hold);
}

/// The earliest moment the session's lease may have expired, as far as this hold can tell: when
/// the lease check right after the lock returned began if it found the lease alive, else when
/// the lock call began (the lock may have returned to a client whose key was already gone).
async fn lease_expiry_bound(
    session: &detcd_core::recipes::Session<SimEtcdClient>,
    lock_called: f64,
) -> f64 {
    let checked = rc::now();
    if rc::lease_alive(session).await {
        checked
    } else {
        lock_called
    }
}

/// The counter's value now (0 before any write), or `None` if it could not be read.
async fn read_counter(client: &SimEtcdClient) -> Option<i64> {
    let response = client.range(ops::get(COUNTER.as_bytes())).await.ok()?;
    match response.kvs.first() {
        None => Some(0),
        Some(kv) => serde_json::from_slice::<ProtectedWrite>(&kv.value).ok().map(|w| w.wrote),
    }
}

/// Writes the counter: guarded by the is-owner compare when fenced, a plain put otherwise. The
/// outcome does not matter here: the counter's history says what was applied.
async fn write_counter(
    client: &SimEtcdClient,
    mutex: &Mutex<SimEtcdClient>,
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

/// After every client finished: the counter's writes in the order etcd applied them.
async fn record_counter_history(ctx: &ClientContext, client: &SimEtcdClient, crew: &Crew) {
    crew.all_done(ctx.until + rc::WAIT_FOR_CREW).await;
    let pending = ctx.recorder.invoke(ctx.index, "counter-history", Some(COUNTER), json!(null));
    match counter_history(client).await {
        Some(writes) => rc::complete(ctx, pending, &writes),
        None => ctx.recorder.unknown(pending, "the counter's revisions could not be read"),
    }
}

/// Walks the counter key's versions from the newest back to its creation.
async fn counter_history(client: &SimEtcdClient) -> Option<Vec<ProtectedWrite>> {
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

async fn read_with_retries(
    client: &SimEtcdClient,
    request: RangeRequest,
) -> Option<detcd_core::api::RangeResponse> {
    for _ in 0..30 {
        if let Ok(response) = client.range(request.clone()).await {
            return Some(response);
        }
        rc::sleep_ms(500).await;
    }
    None
}
