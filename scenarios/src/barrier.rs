//! `barrier` and `double-barrier`: waiters must not pass a barrier that is up; exactly `n`
//! participants enter a double barrier together and leave together.
//!
//! `barrier`: client 1 puts the barrier up (`hold`), keeps it up for a second or three and takes
//! it down (`release`), again and again; every other client calls `wait` (giving up after a
//! while). The barrier counts as up from a read right after its hold found the key to a read
//! just before its release that found the same incarnation of it (else from nowhere: the hold
//! counts as ended when it began). Trusting the hold's return and the release's call instead is
//! unsound: a release is resent after a timeout, and the unanswered copy may reach the leader
//! later, after the next hold, and take that barrier down (seed 264: a release sent to a member
//! paused for 5.8 s was applied when it woke, 1.6 s into the next hold). A hold that failed may
//! or may not have put it up, so it is taken down and not recorded. After the chaos the holder
//! releases until a release succeeds and records when (`barrier-lowered`); waits still running
//! at the end of the chaos wait on past the heal. Judged by `detcd_check::barrier::check_barrier`
//! (no wait returns while the barrier is up throughout; no wait stuck after the heal with the
//! barrier down).
//!
//! `double-barrier`: rounds of [`PARTICIPANTS`] on a fixed schedule: round `k` starts at
//! `k * ROUND` seconds of virtual time on its own key, and every client tries to enter it once
//! (more than `PARTICIPANTS` are turned away with `too many clients`), stays a little, and leaves.
//! Recorded per participant: its enter call (never returned if it was turned away, failed or
//! gave up: it still counts as having called Enter) and its leave call. Each round is judged on its
//! own by `check_double_barrier` (no early enter, never more than `n` inside, no early leave).

use crate::recipe_client::{self as rc, Crew};
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::barrier::{
    self, BarrierHistory, Call, DoubleBarrierHistory, Held, Participant, Wait,
};
use detcd_check::verdict::{SafetyVerdict, STUCK_SLACK};
use detcd_core::client::{ops, Client};
use detcd_core::recipes::{Barrier, DoubleBarrier};
use detcd_sim::client::SimClient;
use detcd_sim::etcd_client::SimEtcdClient;
use detcd_sim::run::RunResult;
use detcd_sim::trace;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const GATE: &str = "gate";
const WAIT_PATIENCE: Duration = Duration::from_secs(6);
/// A blocking call still running when the chaos ends waits until this long after it instead of
/// its usual patience, so the checkers' `stuck` rules (slack `STUCK_SLACK`) can judge it.
const AFTER_HEAL: Duration = Duration::from_secs(STUCK_SLACK as u64 + 5);
/// How many enter a double barrier together.
pub const PARTICIPANTS: usize = 3;
/// Seconds between the starts of two double-barrier rounds.
const ROUND: u64 = 3;
/// How late into a round a client may still call Enter.
const LATEST_ENTRY: Duration = Duration::from_secs(1);
/// How long a participant waits to enter, and to leave.
const ENTER_PATIENCE: Duration = Duration::from_millis(2_000);
const LEAVE_PATIENCE: Duration = Duration::from_millis(2_500);
/// Session TTL (seconds) of double-barrier participants.
const TTL: i64 = 5;

pub struct BarrierScenario;
pub struct DoubleBarrierScenario;

impl Scenario for BarrierScenario {
    fn name(&self) -> &'static str {
        "barrier"
    }

    fn description(&self) -> &'static str {
        "one client raises and lowers a Barrier, the others wait on it, under faults; barrier checker"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(BarrierWorkload { crew: Arc::default(), double: false })
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        let started = Instant::now();
        let (waits, wait_ops) = rc::items_at(&result.history, "barrier-wait");
        let history = BarrierHistory {
            held: rc::items(&result.history, "barrier-up"),
            waits,
            healed: Some(result.healed_at.as_secs_f64()),
            lowered: rc::last_item(&result.history, "barrier-lowered"),
        };
        let passed = history.waits.iter().filter(|w| w.ret.is_some()).count();
        let work = format!("{} raisings, {} waits passed", history.held.len(), passed);
        // Records are wait indices.
        let verdict = barrier::check_barrier(&history);
        let verdict = rc::on_operations(verdict, |_, wait| wait_ops.get(wait).copied());
        vec![rc::safety("barrier", verdict, work, started)]
    }
}

impl Scenario for DoubleBarrierScenario {
    fn name(&self) -> &'static str {
        "double-barrier"
    }

    fn description(&self) -> &'static str {
        "rounds of 3 participants enter and leave a DoubleBarrier together under faults; double barrier checker"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(BarrierWorkload { crew: Arc::default(), double: true })
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        let started = Instant::now();
        // Each round's participants, and the history operation each was recorded as.
        let mut rounds: BTreeMap<u64, (Vec<Participant>, Vec<usize>)> = BTreeMap::new();
        let (entries, ops) = rc::items_at::<RoundEntry>(&result.history, "round");
        for (entry, op) in entries.into_iter().zip(ops) {
            let round = rounds.entry(entry.round).or_default();
            round.0.push(entry.participant);
            round.1.push(op);
        }
        let entered = |p: &[Participant]| p.iter().filter(|p| p.enter.ret.is_some()).count();
        let full = rounds.values().filter(|(p, _)| entered(p) == PARTICIPANTS).count();
        let mut findings = Vec::new();
        for (participants, ops) in rounds.values() {
            let history = DoubleBarrierHistory {
                n: PARTICIPANTS,
                participants: participants.clone(),
                healed: Some(result.healed_at.as_secs_f64()),
            };
            // Records are participant indices within the round.
            let verdict = barrier::check_double_barrier(&history);
            let verdict = rc::on_operations(verdict, |_, p| ops.get(p).copied());
            findings.extend(verdict.findings().iter().cloned());
        }
        let work = format!("{} rounds, {full} full", rounds.len());
        let verdict = SafetyVerdict::from_findings(findings);
        vec![rc::safety("double barrier", verdict, work, started)]
    }
}

/// One participant of one double-barrier round.
#[derive(Serialize, Deserialize)]
struct RoundEntry {
    round: u64,
    participant: Participant,
}

struct BarrierWorkload {
    crew: Arc<Crew>,
    double: bool,
}

impl Workload for BarrierWorkload {
    fn name(&self) -> &str {
        if self.double {
            "double-barrier"
        } else {
            "barrier"
        }
    }

    fn setup(&self, client: SimClient) -> BoxFuture<'static, ()> {
        let crew = self.crew.clone();
        Box::pin(async move { crew.find_members(client).await })
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        let crew = self.crew.clone();
        match (self.double, ctx.index) {
            (true, _) => Box::pin(participant(ctx, crew)),
            (false, 1) => Box::pin(holder(ctx, crew)),
            (false, _) => Box::pin(waiter(ctx, crew)),
        }
    }
}

async fn holder(mut ctx: ClientContext, crew: Arc<Crew>) {
    let Some(client) = crew.connect().await else { return };
    let Ok(barrier) = Barrier::new(&client, GATE) else { return };
    while ctx.running().await {
        let pending = ctx.recorder.invoke(ctx.index, "barrier-up", Some(GATE), json!(null));
        match barrier.hold().await {
            Ok(()) => {}
            // Maybe up, maybe not: take it down and start again.
            Err(error) if error.is_unknown() => {
                ctx.recorder.unknown(pending, &error.to_string());
                let _ = barrier.release().await;
                continue;
            }
            Err(error) => {
                rc::refused(&ctx, pending, error);
                let _ = barrier.release().await;
                continue;
            }
        }
        // The barrier is up from when a read after the hold finds its key until a read before
        // the release still finds that same incarnation (a key, once deleted, never comes back
        // with the same create revision). Anything else, and the hold counts as ended when it
        // began: a copy of an earlier release that went unanswered (a retry after a timeout)
        // can still be applied after this hold and take the barrier down unseen.
        let up = gate(&client).await.flatten();
        let put = rc::now();
        rc::jitter(&mut ctx, 1_000, 3_000).await;
        let deleted = rc::now();
        let still_up = up.is_some() && gate(&client).await.flatten() == up;
        let _ = barrier.release().await;
        let deleted = Some(if still_up { deleted } else { put });
        rc::complete(&ctx, pending, &Held { put, deleted });
        rc::jitter(&mut ctx, 200, 1_000).await;
    }
    lower_for_good(&ctx, &barrier).await;
}

/// The barrier key's create revision (`Some(None)`: absent), or `None` if it could not be read.
async fn gate(client: &SimEtcdClient) -> Option<Option<i64>> {
    let response = client.range(ops::get(GATE.as_bytes())).await.ok()?;
    Some(response.kvs.first().map(|kv| kv.create_revision))
}

/// After the chaos: takes the barrier down until a release succeeds (any release of the chaos
/// may have failed, leaving it up) and records when, as `barrier-lowered`: from then on the
/// barrier is down for good and every wait must return.
async fn lower_for_good(ctx: &ClientContext, barrier: &Barrier<SimEtcdClient>) {
    let pending = ctx.recorder.invoke(ctx.index, "barrier-lowered", Some(GATE), json!(null));
    while trace::now() < ctx.until + AFTER_HEAL {
        if barrier.release().await.is_ok() {
            return rc::complete(ctx, pending, &rc::now());
        }
        rc::sleep_ms(200).await;
    }
    ctx.recorder.unknown(pending, "the barrier could not be released after the chaos");
}

/// How long a call made now may wait: `usual`, or until `AFTER_HEAL` past the heal if it would
/// still be waiting when the chaos ends.
fn patience(ctx: &ClientContext, usual: Duration) -> Duration {
    let now = trace::now();
    if now + usual < ctx.until {
        usual
    } else {
        (ctx.until + AFTER_HEAL).saturating_sub(now)
    }
}

async fn waiter(mut ctx: ClientContext, crew: Arc<Crew>) {
    let Some(client) = crew.connect().await else { return };
    let Ok(barrier) = Barrier::new(&client, GATE) else { return };
    while ctx.running().await {
        let pending = ctx.recorder.invoke(ctx.index, "barrier-wait", Some(GATE), json!(null));
        let call = rc::now();
        let waited = madsim::time::timeout(patience(&ctx, WAIT_PATIENCE), barrier.wait()).await;
        let ret = matches!(waited, Ok(Ok(()))).then(rc::now);
        let gave_up = waited.is_err().then(rc::now);
        rc::complete(&ctx, pending, &Wait { client: ctx.index, call, ret, gave_up });
        rc::jitter(&mut ctx, 0, 500).await;
    }
}

/// Enters every round from the next one on until the chaos phase ends. Rounds are numbered by
/// virtual time, so every client means the same round by the same number.
async fn participant(ctx: ClientContext, crew: Arc<Crew>) {
    let Some(client) = crew.connect().await else { return };
    let mut round = trace::now().as_secs().div_ceil(ROUND);
    loop {
        let begins = Duration::from_secs(round * ROUND);
        if begins >= ctx.until {
            return;
        }
        if begins > trace::now() {
            madsim::time::sleep(begins - trace::now()).await;
        }
        // A client still busy with the previous round sits this one out.
        if trace::now() < begins + LATEST_ENTRY {
            one_round(&ctx, &client, round).await;
        }
        round += 1;
    }
}

/// When a call that `timed_out` was given up, if the session was still alive then (its keys
/// existed until that moment); `None` otherwise, which the `stuck` rule does not judge.
async fn gave_up_alive(
    timed_out: bool,
    session: &detcd_core::recipes::Session<SimEtcdClient>,
) -> Option<f64> {
    let at = rc::now();
    (timed_out && rc::lease_alive(session).await).then_some(at)
}

async fn one_round(ctx: &ClientContext, client: &SimEtcdClient, round: u64) {
    let late = Duration::from_secs(round * ROUND) + LATEST_ENTRY;
    let Some(session) = rc::session(client, TTL, late).await else { return };
    // Granting the session took too long: the round has begun without this client.
    if trace::now() >= late {
        let _ = session.close().await;
        return;
    }
    let key = format!("double/{round}");
    let Ok(mut barrier) = DoubleBarrier::new(&session, &key, PARTICIPANTS) else { return };
    let pending = ctx.recorder.invoke(ctx.index, "round", Some(&key), json!({"round": round}));
    let call = rc::now();
    let entered = madsim::time::timeout(patience(ctx, ENTER_PATIENCE), barrier.enter()).await;
    if !matches!(entered, Ok(Ok(()))) {
        // Turned away, failed or gave up (a dropped enter takes its key back): it still called
        // Enter, which counts towards the `n` callers an Enter waits for.
        let gave_up = gave_up_alive(entered.is_err(), &session).await;
        let enter = Call { call, ret: None, gave_up };
        let participant = Participant { client: ctx.index, enter, leave: None };
        rc::complete(ctx, pending, &RoundEntry { round, participant });
        let _ = session.close().await;
        return;
    }
    let enter = Call { call, ret: Some(rc::now()), gave_up: None };
    rc::sleep_ms(100 + round % 5 * 100).await;
    let call = rc::now();
    let left = madsim::time::timeout(patience(ctx, LEAVE_PATIENCE), barrier.leave()).await;
    let ret = matches!(left, Ok(Ok(()))).then(rc::now);
    let gave_up = gave_up_alive(left.is_err(), &session).await;
    let leave = Some(Call { call, ret, gave_up });
    let participant = Participant { client: ctx.index, enter, leave };
    rc::complete(ctx, pending, &RoundEntry { round, participant });
    let _ = session.close().await;
}
