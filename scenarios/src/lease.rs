//! `lease`: clients grant leases, attach keys, keep some alive and let others lapse or revoke them,
//! through crashes, partitions, pauses and skewed, drifting, jumping clocks.
//!
//! Each client runs one lease at a time: grant (TTL 9–12 s, or 3–5 s when the fault mix leaves
//! clocks alone), attach one or two keys of its own,
//! then for a while send a keep-alive every half second and read its keys linearizably; then
//! revoke it or just stop keeping it alive, and go on reading the keys for two seconds. The last
//! lease of a client may be kept alive up to ten seconds past the chaos phase. Forty-five seconds
//! after the chaos phase (long after healing) every client reads all its keys once more.
//!
//! Recorded: one `lease` operation per granted lease (output: its life as
//! `detcd_check::lease::LeaseLife` with the granted TTL, plus when healing began; grants and
//! keep-alives are stamped with their call, since the leader refreshes somewhere before the
//! return) and one
//! `lease-read` per read (present or absent, with the read's call and return). Judged with
//! `detcd_check::lease`, one lease at a time because each lease gets its own bound:
//! - *surely alive* for `TTL` after an acknowledgement — or, when the fault mix may touch clocks,
//!   for `(TTL - 7 s) / 2`: a leader's clock may run at up to twice real speed and jump ahead by up
//!   to 7 s (a 5 s jump on top of a 2 s skew offset) between two keep-alives;
//! - *gone* by `max(heal + max(7 s, recovery), last ack) + TTL + 5 s`: a new leader gives every
//!   lease its full TTL back, so while leadership keeps moving a lapsed lease may live on; only
//!   once the healed cluster has a stable leader with a clock at real speed (backward jumps of
//!   up to 7 s undone by then) is its end bounded; 5 s covers the expiry tick (0.5 s), a lost
//!   revoke's retry (3 s) and the revoke's trip through the log.

use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::history::Operation;
use detcd_check::lease::{self as check, KeyRead, LeaseHistory, LeaseLife};
use detcd_core::api::*;
use detcd_sim::client::Outcome;
use detcd_sim::history::Pending;
use detcd_sim::plan::{Aims, Episode, FaultKind};
use detcd_sim::run::RunResult;
use detcd_sim::trace;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct LeaseScenario;

const KEEP_ALIVE_EVERY: f64 = 0.5;
/// How far a leader's clock may jump ahead between two keep-alives (jump plus skew offset).
const MAX_CLOCK_JUMP: f64 = 7.0;
/// How much faster than real time a skewed clock may run.
const MAX_CLOCK_RATE: f64 = 2.0;
/// Expiry tick + a lost revoke's retry + the revoke's trip through the log.
const EXPIRY_SLACK: f64 = 5.0;
/// When, after the chaos phase, clients read every key once more.
const FINAL_READ_AFTER: Duration = Duration::from_secs(45);
/// How long past the chaos phase a client's last lease may still be kept alive.
const KEEP_PAST_CHAOS: Duration = Duration::from_secs(10);

impl Scenario for LeaseScenario {
    fn name(&self) -> &'static str {
        "lease"
    }

    fn description(&self) -> &'static str {
        "grant leases, attach keys, keep alive / lapse / revoke under failover and clock skew; lease checker"
    }

    fn workload(&self, options: &ScenarioOptions) -> Arc<dyn Workload> {
        // Clock jumps of up to 7 s between two keep-alives must not expire a kept-alive lease.
        let ttl = if clocks_may_move(options) { 9..=12 } else { 3..=5 };
        Arc::new(LeaseWorkload { ttl })
    }

    /// A leader stranded past an election and a lease's TTL, its clients still keeping their
    /// leases alive through it: whatever it acknowledges, the new leader must not expire.
    fn aims(&self) -> Aims {
        Aims::mostly(Episode::StrandLeader { min_ms: 8_000, max_ms: 11_000 }, 0.9)
    }

    fn check(&self, result: &RunResult, options: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![lease_verdict(result, clocks_may_move(options))]
    }
}

/// Whether the run's fault plan may skew, drift or jump clocks (unknown mixes: assume so).
fn clocks_may_move(options: &ScenarioOptions) -> bool {
    if options.no_faults {
        return false;
    }
    match (&options.plan, &options.faults) {
        (Some(plan), _) => plan.faults.iter().any(|f| format!("{:?}", f.fault).contains("Clock")),
        (None, Some(kinds)) => kinds.contains(&FaultKind::Clock),
        (None, None) => true,
    }
}

/// What a `lease` operation's output holds.
#[derive(Serialize, Deserialize)]
struct Recorded {
    life: LeaseLife,
    /// When the chaos phase ended and healing began (virtual seconds).
    heal_at: f64,
}

fn lease_verdict(result: &RunResult, clocky: bool) -> CheckerVerdict {
    let started = Instant::now();
    let reads = key_reads(&result.history);
    let recovery = result.recovery.map_or(f64::INFINITY, |d| d.as_secs_f64());
    let mut findings = Vec::new();
    let mut leases = 0;
    for op in result.history.iter().filter(|op| op.f == "lease") {
        let Ok(recorded) = serde_json::from_value::<Recorded>(op.output.clone()) else { continue };
        leases += 1;
        let history = judged(recorded, &reads, recovery, clocky);
        findings.extend(check::check(&history).findings().iter().cloned());
    }
    let seconds = started.elapsed().as_secs_f64();
    let details = serde_json::to_value(&findings).unwrap_or(Value::Null);
    let (ok, summary) =
        match detcd_check::verdict::SafetyVerdict::from_findings(findings).violation_summary() {
            None => (true, format!("ok ({leases} leases, {} reads)", reads.len())),
            Some(violated) => (false, violated),
        };
    CheckerVerdict { checker: "lease".into(), ok: Some(ok), seconds, summary, details }
}

fn key_reads(history: &[Operation]) -> Vec<KeyRead> {
    let read = |op: &Operation| {
        let present = op.output.get("present")?.as_bool()?;
        Some(KeyRead { key: op.key.clone()?, call: op.call, ret: op.ret?, present })
    };
    history.iter().filter(|op| op.f == "lease-read").filter_map(read).collect()
}

/// One lease's history for the checker, with the surely-alive TTL and the bound of its own.
fn judged(recorded: Recorded, reads: &[KeyRead], recovery: f64, clocky: bool) -> LeaseHistory {
    let Recorded { mut life, heal_at } = recorded;
    let granted_ttl = life.ttl;
    let last_ack = life.keepalives.iter().copied().fold(life.granted, f64::max);
    let gone_by =
        (heal_at + recovery.max(MAX_CLOCK_JUMP)).max(last_ack) + granted_ttl + EXPIRY_SLACK;
    life.ttl = if clocky {
        ((granted_ttl - MAX_CLOCK_JUMP) / MAX_CLOCK_RATE).max(0.0)
    } else {
        granted_ttl
    };
    let deadline_base = (last_ack + life.ttl).min(life.revoke_called.unwrap_or(f64::INFINITY));
    let bound = gone_by - deadline_base;
    let reads = reads.iter().filter(|r| life.keys.contains(&r.key)).cloned().collect();
    LeaseHistory { bound, leases: vec![life], reads }
}

struct LeaseWorkload {
    /// Granted TTLs in seconds.
    ttl: RangeInclusive<i64>,
}

impl Workload for LeaseWorkload {
    fn name(&self) -> &str {
        "lease"
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(lease_client(ctx, self.ttl.clone()))
    }
}

/// A lease this client granted, as it goes.
struct Held {
    life: LeaseLife,
    pending: Pending,
}

fn now() -> f64 {
    trace::now().as_secs_f64()
}

async fn lease_client(mut ctx: ClientContext, ttl: RangeInclusive<i64>) {
    let mut held = Vec::new();
    let mut number = 0;
    while ctx.running().await {
        number += 1;
        if let Some(lease) = one_lease(&mut ctx, number, ttl.clone()).await {
            held.push(lease);
        }
        pause(&mut ctx, 50, 300).await;
    }
    let final_read = ctx.until + FINAL_READ_AFTER;
    if final_read > trace::now() {
        madsim::time::sleep(final_read - trace::now()).await;
    }
    for lease in &held {
        for key in &lease.life.keys {
            read(&mut ctx, key).await;
        }
    }
    let heal_at = ctx.until.as_secs_f64();
    for Held { life, pending } in held {
        let output = serde_json::to_value(Recorded { life, heal_at }).unwrap_or(Value::Null);
        ctx.recorder.complete(pending, output);
    }
}

/// Grants a lease, attaches keys, keeps it alive for a while, then revokes it or lets it lapse.
async fn one_lease(ctx: &mut ClientContext, number: u64, ttl: RangeInclusive<i64>) -> Option<Held> {
    let ttl = ctx.rng.gen_range(ttl);
    let pending = ctx.recorder.invoke(ctx.index, "lease", None, json!({"ttl": ttl}));
    let request = LeaseGrantRequest { ttl, id: 0 };
    // The leader starts the countdown somewhere between call and return: count from the call.
    let called = now();
    let granted = match ctx.client.call(request).await {
        Outcome::Ok(granted) => granted,
        other => {
            ctx.recorder.unknown(pending, &format!("grant: {other:?}"));
            return None;
        }
    };
    let mut life = LeaseLife {
        id: granted.id,
        ttl: granted.ttl as f64,
        granted: called,
        keepalives: Vec::new(),
        revoke_called: None,
        keys: Vec::new(),
        attached: now(),
    };
    attach(ctx, &mut life, number).await;
    keep_alive(ctx, &mut life).await;
    if ctx.rng.gen_bool(0.4) {
        life.revoke_called = Some(now());
        let request = LeaseRevokeRequest { id: life.id };
        let _ = ctx.client.call(request).await;
    }
    for _ in 0..6 {
        read_one(ctx, &life).await;
        pause(ctx, 200, 400).await;
    }
    Some(Held { life, pending })
}

/// Puts one or two keys of this lease; only keys whose put surely happened are the lease's.
async fn attach(ctx: &mut ClientContext, life: &mut LeaseLife, number: u64) {
    for part in 0..ctx.rng.gen_range(1..=2) {
        let key = format!("l/{}/{number}/{part}", ctx.index);
        let put = PutRequest {
            key: key.clone().into_bytes(),
            value: b"held".to_vec(),
            lease: life.id,
            ..Default::default()
        };
        if ctx.client.call(put).await.is_ok() {
            life.keys.push(key);
            life.attached = now();
        }
    }
}

/// Keeps the lease alive for a drawn while (the client's last lease maybe past the chaos phase),
/// reading its keys in between.
async fn keep_alive(ctx: &mut ClientContext, life: &mut LeaseLife) {
    let chosen = match ctx.rng.gen_range(0..10) {
        0..=2 => ctx.rng.gen_range(1.0..4.0),
        3..=6 => ctx.rng.gen_range(5.0..15.0),
        _ => f64::INFINITY,
    };
    let latest = (ctx.until + KEEP_PAST_CHAOS).as_secs_f64();
    let until = (life.granted + chosen).min(latest);
    let mut last_sent = f64::NEG_INFINITY;
    while now() < until {
        if now() >= last_sent + KEEP_ALIVE_EVERY {
            last_sent = now();
            let request = LeaseKeepAliveRequest { id: life.id };
            match ctx.client.call(request).await {
                // Refreshed between call and return: the lease surely lives a TTL from the call.
                Outcome::Ok(r) if r.ttl > 0 => life.keepalives.push(last_sent),
                // TTL 0: the lease is gone.
                Outcome::Ok(_) => return,
                _ => {}
            }
        }
        read_one(ctx, life).await;
        pause(ctx, 50, 200).await;
    }
}

async fn read_one(ctx: &mut ClientContext, life: &LeaseLife) {
    if life.keys.is_empty() {
        return;
    }
    let key = life.keys[ctx.rng.gen_range(0..life.keys.len())].clone();
    read(ctx, &key).await;
}

/// A linearizable read of one key, recorded as `lease-read` (present or absent).
async fn read(ctx: &mut ClientContext, key: &str) {
    let pending = ctx.recorder.invoke(ctx.index, "lease-read", Some(key), json!({"key": key}));
    let request = RangeRequest { key: key.as_bytes().to_vec(), ..Default::default() };
    match ctx.client.call(request).await {
        Outcome::Ok(r) => ctx.recorder.complete(pending, json!({"present": !r.kvs.is_empty()})),
        other => ctx.recorder.unknown(pending, &format!("{other:?}")),
    }
}

async fn pause(ctx: &mut ClientContext, from_ms: u64, to_ms: u64) {
    madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(from_ms..to_ms))).await;
}
