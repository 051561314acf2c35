//! `rwlock`: readers share and writers exclude on an `RwMutex`, strictly in FIFO order, under
//! faults.
//!
//! Each client opens a session and takes the lock again and again, as a writer two times in five,
//! holds it a little, and unlocks. A hold is recorded from the lock call's return to the unlock's
//! call, with its key's create revision (its place in the queue); a lock call that gives up is not
//! recorded (it never held anything; its key is deleted). A holder whose lease is gone after the
//! hold counts as gone from the moment it got in (see `recipe_client`). Judged by
//! `detcd_check::rwlock`: writer exclusion and FIFO.

use crate::recipe_client::{self as rc, Crew};
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::rwlock::{self, Kind, RwHold};
use detcd_core::recipes::RwMutex;
use detcd_sim::client::SimClient;
use detcd_sim::run::RunResult;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use rand::Rng;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Session TTL (seconds).
const TTL: i64 = 5;
const PREFIX: &str = "rwlock";
const LOCK_PATIENCE: Duration = Duration::from_secs(8);

pub struct RwLockScenario;

impl Scenario for RwLockScenario {
    fn name(&self) -> &'static str {
        "rwlock"
    }

    fn description(&self) -> &'static str {
        "readers and writers on an RWMutex under faults; rwlock checker (writer exclusion, FIFO)"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(RwLockWorkload { crew: Arc::default() })
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        let started = Instant::now();
        let (holds, ops): (Vec<RwHold>, _) = rc::items_at(&result.history, "rw-hold");
        let writes = holds.iter().filter(|h| h.kind == Kind::Write).count();
        let work = format!("{} holds, {writes} as writer", holds.len());
        // Records are hold indices.
        let verdict = rc::on_operations(rwlock::check(&holds), |_, hold| ops.get(hold).copied());
        vec![rc::safety("rwlock", verdict, work, started)]
    }
}

struct RwLockWorkload {
    crew: Arc<Crew>,
}

impl Workload for RwLockWorkload {
    fn name(&self) -> &str {
        "rwlock"
    }

    fn setup(&self, client: SimClient) -> BoxFuture<'static, ()> {
        let crew = self.crew.clone();
        Box::pin(async move { crew.find_members(client).await })
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(rw_client(ctx, self.crew.clone()))
    }
}

async fn rw_client(mut ctx: ClientContext, crew: Arc<Crew>) {
    let Some(client) = crew.connect().await else { return };
    while ctx.running().await {
        let Some(session) = rc::session(&client, TTL, ctx.until).await else { break };
        let Ok(mut rw) = RwMutex::new(&session, PREFIX) else { break };
        while ctx.running().await && !session.is_done() {
            let kind = if ctx.rng.gen_bool(0.4) { Kind::Write } else { Kind::Read };
            hold(&mut ctx, &session, &mut rw, kind).await;
            rc::jitter(&mut ctx, 0, 200).await;
        }
        let _ = session.close().await;
    }
}

async fn hold(
    ctx: &mut ClientContext,
    session: &detcd_core::recipes::Session<detcd_sim::etcd_client::SimEtcdClient>,
    rw: &mut RwMutex<detcd_sim::etcd_client::SimEtcdClient>,
    kind: Kind,
) {
    let pending = ctx.recorder.invoke(ctx.index, "rw-hold", Some(PREFIX), json!({"kind": kind}));
    let locked = match kind {
        Kind::Write => madsim::time::timeout(LOCK_PATIENCE, rw.write_lock()).await,
        Kind::Read => madsim::time::timeout(LOCK_PATIENCE, rw.read_lock()).await,
    };
    let revision = match locked {
        Ok(Ok(revision)) => revision,
        Ok(Err(error)) => return rc::refused(ctx, pending, error),
        Err(_) => return rc::refused(ctx, pending, "gave up waiting for the lock"),
    };
    let acquired = rc::now();
    rc::jitter(ctx, 50, 300).await;
    let still_held = rc::lease_alive(session).await;
    let released = if still_held { rc::now() } else { acquired };
    let _ = rw.unlock().await;
    let hold = RwHold {
        client: ctx.index,
        kind,
        revision,
        acquired: Some(acquired),
        released: Some(released),
    };
    rc::complete(ctx, pending, &hold);
}
