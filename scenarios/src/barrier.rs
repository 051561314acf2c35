//! `barrier` and `double-barrier`: waiters must not pass a barrier that is up; exactly `n`
//! participants enter a double barrier together and leave together.
//!
//! `barrier`: client 1 puts the barrier up (`hold`), keeps it up for a second or three and takes
//! it down (`release`), again and again; every other client calls `wait` (giving up after a
//! while). The barrier counts as up from its hold's return to its release's call; a hold that
//! failed may or may not have put it up, so it is taken down and not recorded. Judged by
//! `detcd_check::barrier::check_barrier` (no wait returns while the barrier is up throughout).
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
use detcd_check::verdict::SafetyVerdict;
use detcd_core::recipes::{Barrier, DoubleBarrier};
use detcd_sim::client::SimClient;
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
        let history = BarrierHistory {
            held: rc::items(&result.history, "barrier-up"),
            waits: rc::items(&result.history, "barrier-wait"),
        };
        let passed = history.waits.iter().filter(|w| w.ret.is_some()).count();
        let work = format!("{} raisings, {} waits passed", history.held.len(), passed);
        vec![rc::safety("barrier", barrier::check_barrier(&history), work, started)]
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
        let mut rounds: BTreeMap<u64, Vec<Participant>> = BTreeMap::new();
        for entry in rc::items::<RoundEntry>(&result.history, "round") {
            rounds.entry(entry.round).or_default().push(entry.participant);
        }
        let entered = |p: &Vec<Participant>| p.iter().filter(|p| p.enter.ret.is_some()).count();
        let full = rounds.values().filter(|p| entered(p) == PARTICIPANTS).count();
        let mut findings = Vec::new();
        for participants in rounds.values() {
            let history =
                DoubleBarrierHistory { n: PARTICIPANTS, participants: participants.clone() };
            findings.extend(barrier::check_double_barrier(&history).findings().iter().cloned());
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
    while ctx.running() {
        let pending = ctx.recorder.invoke(ctx.index, "barrier-up", Some(GATE), json!(null));
        if let Err(error) = barrier.hold().await {
            // Maybe up, maybe not: take it down and start again.
            rc::refused(&ctx, pending, error);
            let _ = barrier.release().await;
            continue;
        }
        let put = rc::now();
        rc::jitter(&mut ctx, 1_000, 3_000).await;
        let deleted = Some(rc::now());
        let _ = barrier.release().await;
        rc::complete(&ctx, pending, &Held { put, deleted });
        rc::jitter(&mut ctx, 200, 1_000).await;
    }
}

async fn waiter(mut ctx: ClientContext, crew: Arc<Crew>) {
    let Some(client) = crew.connect().await else { return };
    let Ok(barrier) = Barrier::new(&client, GATE) else { return };
    while ctx.running() {
        let pending = ctx.recorder.invoke(ctx.index, "barrier-wait", Some(GATE), json!(null));
        let call = rc::now();
        let waited = madsim::time::timeout(WAIT_PATIENCE, barrier.wait()).await;
        let ret = matches!(waited, Ok(Ok(()))).then(rc::now);
        rc::complete(&ctx, pending, &Wait { client: ctx.index, call, ret });
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

async fn one_round(
    ctx: &ClientContext,
    client: &detcd_sim::etcd_client::SimEtcdClient,
    round: u64,
) {
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
    let entered = madsim::time::timeout(ENTER_PATIENCE, barrier.enter()).await;
    if !matches!(entered, Ok(Ok(()))) {
        // Turned away, failed or gave up (a dropped enter takes its key back): it still called
        // Enter, which counts towards the `n` callers an Enter waits for.
        let enter = Call { call, ret: None };
        let participant = Participant { client: ctx.index, enter, leave: None };
        rc::complete(ctx, pending, &RoundEntry { round, participant });
        let _ = session.close().await;
        return;
    }
    let enter = Call { call, ret: Some(rc::now()) };
    rc::sleep_ms(100 + round % 5 * 100).await;
    let call = rc::now();
    let left = madsim::time::timeout(LEAVE_PATIENCE, barrier.leave()).await;
    let ret = matches!(left, Ok(Ok(()))).then(rc::now);
    let participant = Participant { client: ctx.index, enter, leave: Some(Call { call, ret }) };
    rc::complete(ctx, pending, &RoundEntry { round, participant });
    let _ = session.close().await;
}
