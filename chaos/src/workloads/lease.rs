//! `lease`: clients grant leases, attach keys, keep some alive and let others lapse or revoke
//! them, judged by the lease checker (`detcd_check::lease`): a kept-alive lease's keys never
//! vanish, an expired or revoked lease's keys are gone within its TTL plus a stated bound.
//!
//! The simulator's `lease` shapes (`scenarios/src/lease.rs`): each client runs one lease at a
//! time: grant (TTL 3-5 s, or 9-12 s when the run moves clocks), attach one or two keys of its
//! own, then for a drawn while send a keep-alive every half second and read its keys
//! linearizably in between; then revoke it (two in five) or just stop keeping it alive, and go on
//! reading its keys for about two seconds. Recorded: one `lease` operation per granted lease
//! (input: the TTL asked and whether clocks may move; output: its life as
//! `detcd_check::lease::LeaseLife`; the grant and every keep-alive are stamped with their call,
//! since the leader refreshes somewhere between call and return) and one `lease-read` per read
//! (output: present or absent). A grant whose answer did not come leaves no `lease` output (it
//! is not judged); a read that got no answer leaves the history.
//!
//! After the heal and liveness, the run's finish records `lease-recovered` (when the healed
//! cluster was surely serving again: its liveness check had passed), waits until every lease's
//! deadline and bound have passed, and reads every lease key once more in one linearizable range
//! (one `lease-read` per key, sharing its call and return): the reads that judge `outlived`.
//!
//! Judged one lease at a time, as in the simulator, because each lease gets its own bound:
//! - *surely alive* for its TTL after an acknowledgement's call — or, when the run moves clocks,
//!   for `(TTL - 7 s) / 2` (a member's clock may run up to twice as fast and jump ahead by up to
//!   7 s between two keep-alives; see `clock`);
//! - *gone* by `max(recovered + (7 s if clocks move), last ack) + TTL + 5 s`: a new leader gives
//!   every lease its full TTL back, so while leadership moves a lapsed lease may live on; only
//!   once the healed cluster serves (and clocks run at real speed) is its end bounded; 5 s covers
//!   the expiry tick, a lost revoke's retry and the revoke's trip through the log.
//!
//! Unlike the simulator, no lease is kept alive past the chaos phase, and `recovered` is when
//! the liveness check passed rather than when the first leader was elected (a later moment, so a
//! looser bound: sound, a little weaker).

use super::{jitter, Ctx, Shared, Verdict};
use crate::recorder::{Pending, Recorder};
use detcd_check::history::Operation;
use detcd_check::lease::{self as check, KeyRead, LeaseHistory, LeaseLife};
use detcd_core::api::*;
use detcd_core::kv::prefix_end;
use detcd_proto::client::GrpcClient;
use rand::Rng;
use serde_json::{json, Value};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

/// Granted TTLs (seconds) when clocks stay put.
const TTL: RangeInclusive<i64> = 3..=5;
/// Granted TTLs when the run moves clocks: a 7 s jump between two keep-alives must not expire a
/// kept-alive lease.
const TTL_CLOCKS: RangeInclusive<i64> = 9..=12;
/// The longest TTL granted when clocks stay put (what "a pause past a lease TTL" means).
pub const TTL_MAX: u64 = 5;
const KEEP_ALIVE_EVERY: f64 = 0.5;
/// How far a member's clock may jump ahead between two keep-alives (see `clock`).
const MAX_CLOCK_JUMP: f64 = 7.0;
/// How much faster than real time a member's clock may run.
const MAX_CLOCK_RATE: f64 = 2.0;
/// Expiry tick + a lost revoke's retry + the revoke's trip through the log.
const EXPIRY_SLACK: f64 = 5.0;
/// How long after the last deadline the final read waits, so it surely starts after it.
const FINAL_READ_MARGIN: f64 = 0.5;
const PREFIX: &str = "l/";

fn now(ctx: &Ctx) -> f64 {
    ctx.recorder.now()
}

pub async fn client(mut ctx: Ctx) {
    let ttl = if ctx.shared.clocks_move { TTL_CLOCKS } else { TTL };
    let mut number = 0;
    while ctx.running() {
        number += 1;
        one_lease(&mut ctx, number, ttl.clone()).await;
        jitter(&mut ctx, 50, 300).await;
    }
}

/// Grants a lease, attaches keys, keeps it alive for a while, then revokes it or lets it lapse,
/// reading its keys throughout; records the lease's life.
async fn one_lease(ctx: &mut Ctx, number: u64, ttl: RangeInclusive<i64>) {
    let ttl = ctx.rng.gen_range(ttl);
    let input = json!({"ttl": ttl, "clocks_move": ctx.shared.clocks_move});
    let pending = ctx.recorder.invoke(ctx.index, "lease", None, input);
    // The leader starts the countdown somewhere between call and return: count from the call.
    let called = now(ctx);
    let granted = match ctx.client.lease_grant(LeaseGrantRequest { ttl, id: 0 }).await {
        Ok(granted) => granted,
        Err(error) if error.is_unknown() => {
            ctx.unknown.store(true, std::sync::atomic::Ordering::SeqCst);
            return ctx.recorder.unknown(pending);
        }
        Err(_) => return ctx.recorder.refused(pending),
    };
    let mut life = LeaseLife {
        id: granted.id,
        ttl: granted.ttl as f64,
        granted: called,
        keepalives: Vec::new(),
        revoke_called: None,
        keys: Vec::new(),
        attached: now(ctx),
    };
    attach(ctx, &mut life, number).await;
    keep_alive(ctx, &mut life).await;
    if ctx.rng.gen_bool(0.4) {
        life.revoke_called = Some(now(ctx));
        let _ = ctx.client.lease_revoke(LeaseRevokeRequest { id: life.id }).await;
    }
    for _ in 0..6 {
        read_one(ctx, &life).await;
        jitter(ctx, 200, 400).await;
    }
    match serde_json::to_value(&life) {
        Ok(output) => ctx.recorder.complete(pending, output),
        Err(_) => ctx.recorder.unknown(pending),
    }
}

/// Puts one or two keys of this lease; only keys whose put surely happened are the lease's.
async fn attach(ctx: &mut Ctx, life: &mut LeaseLife, number: u64) {
    for part in 0..ctx.rng.gen_range(1..=2) {
        let key = format!("{PREFIX}{}/{number}/{part}", ctx.index);
        let put = PutRequest {
            key: key.clone().into_bytes(),
            value: b"held".to_vec(),
            lease: life.id,
            ..Default::default()
        };
        if ctx.client.put(put).await.is_ok() {
            life.keys.push(key);
            life.attached = now(ctx);
        }
    }
}

/// Keeps the lease alive for a drawn while (at most until the chaos phase ends), reading its
/// keys in between.
async fn keep_alive(ctx: &mut Ctx, life: &mut LeaseLife) {
    let chosen = match ctx.rng.gen_range(0..10) {
        0..=2 => ctx.rng.gen_range(1.0..4.0),
        3..=6 => ctx.rng.gen_range(5.0..15.0),
        _ => f64::INFINITY,
    };
    let mut last_sent = f64::NEG_INFINITY;
    while ctx.running() && now(ctx) < life.granted + chosen {
        if now(ctx) >= last_sent + KEEP_ALIVE_EVERY {
            last_sent = now(ctx);
            match ctx.client.lease_keep_alive(LeaseKeepAliveRequest { id: life.id }).await {
                // Refreshed between call and return: the lease surely lives a TTL from the call.
                Ok(r) if r.ttl > 0 => life.keepalives.push(last_sent),
                // TTL 0: the lease is gone.
                Ok(_) => return,
                Err(_) => {}
            }
        }
        read_one(ctx, life).await;
        jitter(ctx, 50, 200).await;
    }
}

async fn read_one(ctx: &mut Ctx, life: &LeaseLife) {
    if life.keys.is_empty() {
        return;
    }
    let key = life.keys[ctx.rng.gen_range(0..life.keys.len())].clone();
    let pending = ctx.recorder.invoke(ctx.index, "lease-read", Some(&key), json!({"key": key}));
    let request = RangeRequest { key: key.into_bytes(), ..Default::default() };
    match ctx.client.range(request).await {
        Ok(r) => ctx.recorder.complete(pending, json!({"present": !r.kvs.is_empty()})),
        // A read that got no answer observed nothing.
        Err(_) => ctx.recorder.refused(pending),
    }
}

/// The leases recorded so far, with their ops' inputs.
fn lives(ops: &[Operation]) -> Vec<(LeaseLife, bool)> {
    ops.iter()
        .filter(|op| op.f == "lease" && op.ret.is_some())
        .filter_map(|op| {
            let life = serde_json::from_value::<LeaseLife>(op.output.clone()).ok()?;
            let clocks_move = op.input.get("clocks_move").and_then(Value::as_bool).unwrap_or(true);
            Some((life, clocks_move))
        })
        .collect()
}

/// When a lease's keys must be gone, given when the healed cluster served again.
fn gone_by(life: &LeaseLife, recovered: f64, clocks_move: bool) -> f64 {
    let last_ack = life.keepalives.iter().copied().fold(life.granted, f64::max);
    let settled = recovered + if clocks_move { MAX_CLOCK_JUMP } else { 0.0 };
    settled.max(last_ack) + life.ttl + EXPIRY_SLACK
}

/// After the heal and liveness: records when the cluster served again, waits past every
/// lease's bound, and reads every lease key once more (the reads that judge `outlived`).
pub async fn final_reads(client: &GrpcClient, recorder: &Recorder, index: u64, _: &Shared) {
    let recovered = recorder.now();
    let pending = recorder.invoke(index, "lease-recovered", None, Value::Null);
    recorder.complete(pending, json!({"recovered": recovered}));
    let ops = recorder.operations();
    let leases = lives(&ops);
    let latest = leases
        .iter()
        .map(|(life, clocks_move)| gone_by(life, recovered, *clocks_move))
        .fold(recovered, f64::max);
    let wait = latest + FINAL_READ_MARGIN - recorder.now();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
    let keys: Vec<String> = leases.iter().flat_map(|(life, _)| life.keys.clone()).collect();
    let request = RangeRequest {
        key: PREFIX.into(),
        range_end: prefix_end(PREFIX.as_bytes()),
        keys_only: true,
        ..Default::default()
    };
    for _ in 0..30 {
        let pending: Vec<(String, Pending)> = keys
            .iter()
            .map(|key| {
                let pending = recorder.invoke(index, "lease-read", Some(key), json!({"key": key}));
                (key.clone(), pending)
            })
            .collect();
        match client.range(request.clone()).await {
            Ok(r) => {
                let present: std::collections::BTreeSet<&[u8]> =
                    r.kvs.iter().map(|kv| kv.key.as_slice()).collect();
                for (key, pending) in pending {
                    let output = json!({"present": present.contains(key.as_bytes())});
                    recorder.complete(pending, output);
                }
                return;
            }
            Err(_) => {
                for (_, pending) in pending {
                    recorder.refused(pending);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

fn key_reads(ops: &[Operation]) -> Vec<KeyRead> {
    let read = |op: &Operation| {
        let present = op.output.get("present")?.as_bool()?;
        Some(KeyRead { key: op.key.clone()?, call: op.call, ret: op.ret?, present })
    };
    ops.iter().filter(|op| op.f == "lease-read").filter_map(read).collect()
}

/// One lease's history for the checker, with its surely-alive TTL and its own bound.
fn judged(
    mut life: LeaseLife,
    clocks_move: bool,
    reads: &[KeyRead],
    recovered: f64,
) -> LeaseHistory {
    let gone_by = gone_by(&life, recovered, clocks_move);
    let last_ack = life.keepalives.iter().copied().fold(life.granted, f64::max);
    if clocks_move {
        life.ttl = ((life.ttl - MAX_CLOCK_JUMP) / MAX_CLOCK_RATE).max(0.0);
    }
    let deadline_base = (last_ack + life.ttl).min(life.revoke_called.unwrap_or(f64::INFINITY));
    let bound = gone_by - deadline_base;
    let reads = reads.iter().filter(|r| life.keys.contains(&r.key)).cloned().collect();
    LeaseHistory { bound, leases: vec![life], reads }
}

/// The lease checker's verdict, lease by lease.
pub fn verdict(ops: &[Operation]) -> Verdict {
    let checker = "lease".to_string();
    let started = Instant::now();
    let recovered = ops
        .iter()
        .filter(|op| op.f == "lease-recovered")
        .find_map(|op| op.output.get("recovered")?.as_f64());
    // Without it (the run ended before its finish), no lease has a known end: `outlived` is
    // not judged, `vanished` still is.
    let recovered = recovered.unwrap_or(f64::INFINITY);
    let reads = key_reads(ops);
    let mut findings = Vec::new();
    let leases = lives(ops);
    for (life, clocks_move) in &leases {
        let history = judged(life.clone(), *clocks_move, &reads, recovered);
        findings.extend(check::check(&history).findings().iter().cloned());
    }
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) =
        match detcd_check::verdict::SafetyVerdict::from_findings(findings).violation_summary() {
            None => (
                Some(true),
                format!("ok ({} leases, {} reads, {seconds:.2}s)", leases.len(), reads.len()),
            ),
            Some(violated) => (Some(false), violated),
        };
    Verdict { checker, ok, summary }
}
