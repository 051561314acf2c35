//! `election`: candidates campaign, proclaim and resign in one election under faults; at most one
//! leader at a time, and each new leader's key is newer than the last one's.
//!
//! Each client opens a session, campaigns (giving up after a while), and once elected proclaims a
//! new value, then resigns. A term is recorded from the campaign's return to the resign's call,
//! with the leader key's create revision; a leader whose lease is gone after its term may have
//! lost the leadership any time after winning it, so its term counts as ended when it began (see
//! `recipe_client`). Judged by `detcd_check::election`.

use crate::recipe_client::{self as rc, Crew};
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_check::election::{self, Leadership};
use detcd_core::recipes::{Election, Session};
use detcd_sim::client::SimClient;
use detcd_sim::etcd_client::SimEtcdClient;
use detcd_sim::run::RunResult;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Session TTL (seconds).
const TTL: i64 = 5;
const ELECTION: &str = "election";
const CAMPAIGN_PATIENCE: Duration = Duration::from_secs(8);

pub struct ElectionScenario;

impl Scenario for ElectionScenario {
    fn name(&self) -> &'static str {
        "election"
    }

    fn description(&self) -> &'static str {
        "candidates campaign, proclaim and resign under faults; election checker (one leader, rising revisions)"
    }

    fn workload(&self, _: &ScenarioOptions) -> Arc<dyn Workload> {
        Arc::new(ElectionWorkload { crew: Arc::default() })
    }

    fn check(&self, result: &RunResult, _: &ScenarioOptions) -> Vec<CheckerVerdict> {
        let started = Instant::now();
        let (terms, ops): (Vec<Leadership>, _) = rc::items_at(&result.history, "term");
        let work = format!("{} terms", terms.len());
        // Records are term indices.
        let verdict = rc::on_operations(election::check(&terms), |_, term| ops.get(term).copied());
        vec![rc::safety("election", verdict, work, started)]
    }
}

struct ElectionWorkload {
    crew: Arc<Crew>,
}

impl Workload for ElectionWorkload {
    fn name(&self) -> &str {
        "election"
    }

    fn setup(&self, client: SimClient) -> BoxFuture<'static, ()> {
        let crew = self.crew.clone();
        Box::pin(async move { crew.find_members(client).await })
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(candidate(ctx, self.crew.clone()))
    }
}

async fn candidate(mut ctx: ClientContext, crew: Arc<Crew>) {
    let Some(client) = crew.connect().await else { return };
    while ctx.running().await {
        let Some(session) = rc::session(&client, TTL, ctx.until).await else { break };
        if let Ok(mut election) = Election::new(&session, ELECTION) {
            term(&mut ctx, &session, &mut election).await;
        }
        let _ = session.close().await;
        rc::jitter(&mut ctx, 0, 200).await;
    }
}

/// One campaign and, if won, one term; recorded as a `term` operation.
async fn term(
    ctx: &mut ClientContext,
    session: &Session<SimEtcdClient>,
    election: &mut Election<SimEtcdClient>,
) {
    let me = format!("c{}", ctx.index);
    let pending = ctx.recorder.invoke(ctx.index, "term", Some(ELECTION), json!({"value": me}));
    let revision = match madsim::time::timeout(CAMPAIGN_PATIENCE, election.campaign(&me)).await {
        Ok(Ok(revision)) => revision,
        Ok(Err(error)) => return rc::refused(ctx, pending, error),
        Err(_) => return rc::refused(ctx, pending, "gave up campaigning"),
    };
    let elected = rc::now();
    rc::jitter(ctx, 100, 400).await;
    let _ = election.proclaim(format!("{me}-again")).await;
    rc::jitter(ctx, 100, 400).await;
    let still_leader = rc::lease_alive(session).await;
    let ended = if still_leader { rc::now() } else { elected };
    let _ = election.resign().await;
    let term = Leadership {
        election: ELECTION.into(),
        client: ctx.index,
        revision,
        elected,
        ended: Some(ended),
    };
    rc::complete(ctx, pending, &term);
}
