//! `auth`: authenticated users read and write while an administrator changes their permissions
//! and roles, under faults; judged by the auth checker (`detcd_check::auth`).
//!
//! Setup (auth off, then enabled): `root` with the root role, users `u0`..`u2` each with their
//! own role `r0`..`r2`, a shared role `rs` nobody holds yet, and a few permissions over the keys
//! `k0`..`k5` (single keys, ranges, a from-key range). Client 1 is the administrator, logged in
//! as `root`: it grants and revokes permissions of every role on those slots and grants and
//! revokes roles, each recorded with its outcome and header revision. Every other client is a
//! user (`u{(n - 2) % 3}`) with its own token: puts (some with `prev_kv`), linearizable and
//! serializable reads of keys and ranges, deletes, and txns whose compare, then-branch and
//! else-branch touch different keys, each recorded with everything it needs (a txn needs its
//! compares and both branches, whichever runs), its outcome and header revision. A user whose
//! token is refused logs in again (not recorded).
//!
//! The checker judges each success against the permissions that may have been in force at its
//! revision, and each `permission denied` against those surely in force throughout its window.

use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::auth::{
    self, AuthHistory, Change, ChangeKind, ChangeOutcome, Initial, Kind, Membership, Need,
    OpOutcome, UserOp,
};
use detcd_check::history::Operation;
use detcd_core::api::*;
use detcd_core::auth::request::*;
use detcd_core::auth::{Caller, Permission, PermissionType};
use detcd_core::Error;
use detcd_sim::client::{Outcome, SimClient};
use detcd_sim::run::RunResult;
use detcd_sim::transport::Carried;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct AuthScenario;

pub const CHECKER: &str = "auth";

const USERS: usize = 3;
const ROLES: [&str; 4] = ["r0", "r1", "r2", "rs"];
const KEYS: [&str; 6] = ["k0", "k1", "k2", "k3", "k4", "k5"];
/// The key ranges permissions are granted on (`""`: the one key, `"\0"`: from the key on).
const SLOTS: [(&str, &str); 10] = [
    ("k0", ""),
    ("k1", ""),
    ("k2", ""),
    ("k3", ""),
    ("k4", ""),
    ("k5", ""),
    ("k1", "k3"),
    ("k3", "k6"),
    ("k4", "\0"),
    ("k", "l"),
];

fn user(n: usize) -> String {
    format!("u{n}")
}

fn password(name: &str) -> String {
    format!("{name}-password")
}

/// The permissions and roles setup puts in force before the users start.
fn initial() -> Initial {
    let perm = |role: &str, key: &str, range_end: &str, kind| auth::Permission {
        role: role.into(),
        key: key.into(),
        range_end: range_end.into(),
        kind,
    };
    Initial {
        permissions: vec![
            perm("r0", "k0", "", Kind::Readwrite),
            perm("r0", "k1", "k3", Kind::Read),
            perm("r1", "k2", "", Kind::Readwrite),
            perm("r1", "k3", "", Kind::Write),
            perm("r2", "k3", "k6", Kind::Readwrite),
            perm("r2", "k0", "", Kind::Read),
            perm("rs", "k5", "", Kind::Readwrite),
        ],
        roles: (0..USERS).map(|n| Membership { user: user(n), role: format!("r{n}") }).collect(),
    }
}

fn core_kind(kind: Kind) -> PermissionType {
    match kind {
        Kind::Read => PermissionType::Read,
        Kind::Write => PermissionType::Write,
        Kind::Readwrite => PermissionType::ReadWrite,
    }
}

impl Scenario for AuthScenario {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn description(&self) -> &'static str {
        "authenticated users read, write and txn while an admin grants and revokes permissions and roles; auth checker"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(AuthWorkload)
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        vec![verdict(&result.history)]
    }
}

/// The auth checker's verdict on a recorded history.
pub fn verdict(ops: &[Operation]) -> CheckerVerdict {
    let started = Instant::now();
    let history = auth_history(ops);
    let verdict = auth::check(&history);
    let seconds = started.elapsed().as_secs_f64();
    let counted = format!("{} ops, {} changes", history.ops.len(), history.changes.len());
    let (ok, summary) = match verdict.findings().first() {
        None => (true, format!("ok ({counted}, {seconds:.2}s)")),
        Some(first) => (false, format!("VIOLATED: {} ({counted})", first.message)),
    };
    let details = match ok {
        true => Value::Null,
        false => serde_json::to_value(&verdict).unwrap_or(Value::Null),
    };
    CheckerVerdict { checker: CHECKER.into(), ok: Some(ok), seconds, summary, details }
}

/// The checker's input from the history: `change` and `user-op` operations, in order.
fn auth_history(ops: &[Operation]) -> AuthHistory {
    let mut history = AuthHistory { initial: initial(), ..AuthHistory::default() };
    for op in ops {
        let outcome = op.output.get("outcome").and_then(Value::as_str);
        let revision = op.output.get("revision").and_then(Value::as_i64);
        match op.f.as_str() {
            "change" => {
                let Ok(change) = serde_json::from_value::<ChangeKind>(op.input.clone()) else {
                    continue;
                };
                let outcome = match (op.ret, outcome) {
                    (None, _) => ChangeOutcome::Unknown,
                    (Some(_), Some("ok")) => ChangeOutcome::Ok,
                    _ => ChangeOutcome::Failed,
                };
                history.changes.push(Change {
                    change,
                    call: op.call,
                    ret: op.ret,
                    outcome,
                    revision,
                });
            }
            "user-op" => {
                let Ok(needs) = serde_json::from_value::<Vec<Need>>(op.input["needs"].clone())
                else {
                    continue;
                };
                let outcome = match (op.ret, outcome) {
                    (None, _) => OpOutcome::Unknown,
                    (Some(_), Some("ok")) => OpOutcome::Ok,
                    (Some(_), Some("denied")) => OpOutcome::Denied,
                    (Some(_), Some("old_revision")) => OpOutcome::OldRevision,
                    _ => OpOutcome::Other,
                };
                history.ops.push(UserOp {
                    user: op.input["user"].as_str().unwrap_or_default().to_string(),
                    needs,
                    call: op.call,
                    ret: op.ret,
                    outcome,
                    revision,
                    wrote: op.output.get("wrote").and_then(Value::as_bool).unwrap_or(false),
                    serializable: op.input["serializable"].as_bool().unwrap_or(false),
                });
            }
            _ => {}
        }
    }
    history
}

struct AuthWorkload;

impl Workload for AuthWorkload {
    fn name(&self) -> &str {
        "auth"
    }

    fn setup(&self, client: SimClient) -> BoxFuture<'static, ()> {
        Box::pin(set_up(client))
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        match ctx.index {
            1 => Box::pin(admin(ctx)),
            n => Box::pin(user_client(ctx, user((n as usize - 2) % USERS))),
        }
    }
}

/// Asks until the cluster answers (setup runs on a healthy cluster, as the member itself: no
/// credentials are checked). A retried request that had applied is refused the second time
/// (the user exists already): that counts as done.
async fn until_done<R: Carried>(client: &mut SimClient, request: R) {
    for _ in 0..100 {
        match client.call(request.clone()).await {
            Outcome::Ok(_) => return,
            Outcome::Failed(Error::UserAlreadyExist | Error::RoleAlreadyExist) => return,
            _ => madsim::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn set_up(mut client: SimClient) {
    let add = |name: &str| AuthUserAddRequest {
        name: name.into(),
        password: password(name),
        no_password: false,
    };
    until_done(&mut client, add("root")).await;
    let root = AuthUserGrantRoleRequest { user: "root".into(), role: "root".into() };
    until_done(&mut client, root).await;
    for role in ROLES {
        until_done(&mut client, AuthRoleAddRequest { name: role.into() }).await;
    }
    let initial = initial();
    for p in initial.permissions {
        let perm = Permission {
            kind: core_kind(p.kind),
            key: p.key.into(),
            range_end: p.range_end.into(),
        };
        let grant = AuthRoleGrantPermissionRequest { name: p.role, perm: Some(perm) };
        until_done(&mut client, grant).await;
    }
    for m in initial.roles {
        until_done(&mut client, add(&m.user)).await;
        until_done(&mut client, AuthUserGrantRoleRequest { user: m.user, role: m.role }).await;
    }
    until_done(&mut client, AuthEnableRequest {}).await;
}

/// Logs `name` in (until it works or the run ends) and makes the client present the token.
async fn log_in(ctx: &mut ClientContext, name: &str) -> bool {
    let request = AuthenticateRequest { name: name.into(), password: password(name) };
    while ctx.running().await {
        ctx.client.caller = Caller::anonymous();
        if let Outcome::Ok(answer) = ctx.client.call(request.clone()).await {
            ctx.client.caller = Caller::with_token(answer.token);
            return true;
        }
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// The administrator: permission and role changes, one at a time.
async fn admin(mut ctx: ClientContext) {
    if !log_in(&mut ctx, "root").await {
        return;
    }
    while ctx.running().await {
        let change = draw_change(&mut ctx.rng);
        let pending = ctx.recorder.invoke(ctx.index, "change", None, json!(change));
        let outcome = match change.clone() {
            ChangeKind::Grant(p) => {
                let perm = Permission {
                    kind: core_kind(p.kind),
                    key: p.key.into(),
                    range_end: p.range_end.into(),
                };
                let request = AuthRoleGrantPermissionRequest { name: p.role, perm: Some(perm) };
                ctx.client.call(request).await
            }
            ChangeKind::Revoke { role, key, range_end } => {
                let request = AuthRoleRevokePermissionRequest {
                    role,
                    key: key.into(),
                    range_end: range_end.into(),
                };
                ctx.client.call(request).await
            }
            ChangeKind::GrantRole(m) => {
                ctx.client.call(AuthUserGrantRoleRequest { user: m.user, role: m.role }).await
            }
            ChangeKind::RevokeRole(m) => {
                ctx.client.call(AuthUserRevokeRoleRequest { name: m.user, role: m.role }).await
            }
        };
        match outcome {
            Outcome::Ok(header) => ctx
                .recorder
                .complete(pending, json!({"outcome": "ok", "revision": header.revision})),
            Outcome::Failed(error) => {
                let again = error == Error::InvalidAuthToken;
                ctx.recorder
                    .complete(pending, json!({"outcome": "failed", "error": error.to_string()}));
                if again && !log_in(&mut ctx, "root").await {
                    return;
                }
            }
            Outcome::Unknown(why) => ctx.recorder.unknown(pending, &why),
        }
        madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(50..250))).await;
    }
}

fn draw_change(rng: &mut ChaCha8Rng) -> ChangeKind {
    if rng.gen_bool(0.75) {
        let role = pick(rng, &ROLES).to_string();
        let (key, range_end) = *pick(rng, &SLOTS);
        let (key, range_end) = (key.to_string(), range_end.to_string());
        if rng.gen_bool(0.6) {
            let kind = *pick(rng, &[Kind::Read, Kind::Write, Kind::Readwrite]);
            ChangeKind::Grant(auth::Permission { role, key, range_end, kind })
        } else {
            ChangeKind::Revoke { role, key, range_end }
        }
    } else {
        let n = rng.gen_range(0..USERS);
        let role = if rng.gen_bool(0.5) { "rs".to_string() } else { pick(rng, &ROLES).to_string() };
        let m = Membership { user: user(n), role };
        if rng.gen_bool(0.5) {
            ChangeKind::GrantRole(m)
        } else {
            ChangeKind::RevokeRole(m)
        }
    }
}

/// A key range a user reads or deletes: a key, a slot, or two keys apart.
fn draw_range(rng: &mut ChaCha8Rng) -> (String, String) {
    match rng.gen_range(0..3) {
        0 => (pick(rng, &KEYS).to_string(), String::new()),
        1 => {
            let (key, range_end) = *pick(rng, &SLOTS);
            (key.to_string(), range_end.to_string())
        }
        _ => {
            let from = rng.gen_range(0..KEYS.len() - 1);
            let to = rng.gen_range(from + 1..=KEYS.len());
            (format!("k{from}"), format!("k{to}"))
        }
    }
}

fn need(kind: Kind, key: &str, range_end: &str) -> Need {
    Need { kind, key: key.into(), range_end: range_end.into() }
}

/// One branch op of a txn and what it needs.
fn draw_branch_op(rng: &mut ChaCha8Rng, value: &str) -> (RequestOp, Need) {
    let key = pick(rng, &KEYS).to_string();
    if rng.gen_bool(0.7) {
        let put = PutRequest { key: key.clone().into(), value: value.into(), ..Default::default() };
        (RequestOp::Put(put), need(Kind::Write, &key, ""))
    } else {
        let (key, range_end) = draw_range(rng);
        let range = RangeRequest {
            key: key.clone().into(),
            range_end: range_end.clone().into(),
            ..Default::default()
        };
        (RequestOp::Range(range), need(Kind::Read, &key, &range_end))
    }
}

/// What a user sends, what it needs, and whether it is a serializable read.
enum UserRequest {
    Put(PutRequest),
    Range(RangeRequest),
    Delete(DeleteRangeRequest),
    Txn(TxnRequest),
}

fn draw_request(rng: &mut ChaCha8Rng, value: &str) -> (UserRequest, Vec<Need>) {
    match rng.gen_range(0..10) {
        0..=2 => {
            let key = pick(rng, &KEYS).to_string();
            let prev_kv = rng.gen_bool(0.2);
            let mut needs = vec![need(Kind::Write, &key, "")];
            if prev_kv {
                needs.push(need(Kind::Read, &key, ""));
            }
            let put =
                PutRequest { key: key.into(), value: value.into(), prev_kv, ..Default::default() };
            (UserRequest::Put(put), needs)
        }
        3..=5 => {
            let (key, range_end) = draw_range(rng);
            let needs = vec![need(Kind::Read, &key, &range_end)];
            let range = RangeRequest {
                key: key.into(),
                range_end: range_end.into(),
                serializable: rng.gen_bool(0.3),
                ..Default::default()
            };
            (UserRequest::Range(range), needs)
        }
        6 => {
            let (key, range_end) = draw_range(rng);
            let needs = vec![need(Kind::Write, &key, &range_end)];
            let delete =
                DeleteRangeRequest { key: key.into(), range_end: range_end.into(), prev_kv: false };
            (UserRequest::Delete(delete), needs)
        }
        _ => {
            let key = pick(rng, &KEYS).to_string();
            let compare = Compare {
                key: key.clone().into(),
                range_end: Vec::new(),
                target: CompareTarget::Version(0),
                result: CompareResult::Greater,
            };
            let mut needs = vec![need(Kind::Read, &key, "")];
            let (then, then_need) = draw_branch_op(rng, value);
            let (otherwise, else_need) = draw_branch_op(rng, value);
            needs.extend([then_need, else_need]);
            let txn = TxnRequest {
                compare: vec![compare],
                success: vec![then],
                failure: vec![otherwise],
            };
            (UserRequest::Txn(txn), needs)
        }
    }
}

/// A user: random requests under its token, each recorded with what it needs.
async fn user_client(mut ctx: ClientContext, name: String) {
    if !log_in(&mut ctx, &name).await {
        return;
    }
    let mut sequence = 0u64;
    while ctx.running().await {
        sequence += 1;
        let value = format!("c{}-{sequence}", ctx.index);
        let (request, needs) = draw_request(&mut ctx.rng, &value);
        let serializable = matches!(&request, UserRequest::Range(r) if r.serializable);
        let input = json!({"user": name, "needs": needs, "serializable": serializable});
        let pending = ctx.recorder.invoke(ctx.index, "user-op", None, input);
        // (header revision, whether it made a new revision)
        let outcome: Outcome<(i64, bool)> = match request {
            UserRequest::Put(r) => ctx.client.call(r).await.map(|a| (a.header.revision, true)),
            UserRequest::Range(r) => ctx.client.call(r).await.map(|a| (a.header.revision, false)),
            UserRequest::Delete(r) => {
                ctx.client.call(r).await.map(|a| (a.header.revision, a.deleted > 0))
            }
            UserRequest::Txn(txn) => {
                let puts = |ops: &[RequestOp]| ops.iter().any(|op| matches!(op, RequestOp::Put(_)));
                let (then, otherwise) = (puts(&txn.success), puts(&txn.failure));
                ctx.client
                    .call(txn)
                    .await
                    .map(|a| (a.header.revision, if a.succeeded { then } else { otherwise }))
            }
        };
        match outcome {
            Outcome::Ok((revision, wrote)) => ctx
                .recorder
                .complete(pending, json!({"outcome": "ok", "revision": revision, "wrote": wrote})),
            Outcome::Failed(error) => {
                let outcome = match error {
                    Error::PermissionDenied => "denied",
                    Error::AuthOldRevision => "old_revision",
                    _ => "other",
                };
                let output = json!({"outcome": outcome, "error": error.to_string()});
                ctx.recorder.complete(pending, output);
                if error == Error::InvalidAuthToken && !log_in(&mut ctx, &name).await {
                    return;
                }
            }
            Outcome::Unknown(why) => ctx.recorder.unknown(pending, &why),
        }
        madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(1..30))).await;
    }
}
