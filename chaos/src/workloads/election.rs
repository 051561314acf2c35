//! `election`: candidates campaign, proclaim and resign in one election, judged by the election
//! checker: at most one leader at a time, and each new leader's key newer than the last one's.
//!
//! The simulator's `election` shapes (`scenarios/src/election.rs`): each client opens a session,
//! campaigns (giving up after a while), and once elected proclaims a new value, then resigns,
//! then closes the session. Half the campaigns run the core's `Election` recipe in this client,
//! half go through the server's Election service (the same recipe on the member, for the
//! session's lease), on the same keys, so the two contend with each other. A `term` is recorded
//! from the campaign's return to the last moment the client knew itself leader, with the leader
//! key's create revision.
//!
//! Invariant: a term's end is a time at which the client surely still led. It is taken just
//! before asking whether the session's lease lives; if the lease was found alive, the key was
//! still there when the member answered, later than that time, so no rival could have been
//! elected before it. A term whose lease was not found alive (gone, or unknown) may have lost
//! the leadership any time after winning it, so it counts as ended when it began.

use super::{jitter, Ctx, Verdict};
use detcd_check::election::{self, Leadership};
use detcd_check::history::Operation;
use detcd_core::api::LeaseTimeToLiveRequest;
use detcd_core::recipes::{Election, Session};
use detcd_proto::client::GrpcClient;
use rand::Rng;
use serde_json::json;
use std::time::{Duration, Instant};

/// Session TTL (seconds), the simulator's.
pub const TTL: i64 = 5;
const ELECTION: &str = "election";
/// How long one campaign may wait before the client gives up on it.
const CAMPAIGN_PATIENCE: Duration = Duration::from_secs(8);
/// Chance that a campaign goes through the server's Election service instead of the recipe.
const SERVICE_CHANCE: f64 = 0.5;

pub async fn client(mut ctx: Ctx) {
    while ctx.running() {
        let Some(session) = session(&ctx).await else { break };
        term(&mut ctx, &session).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), session.close()).await;
        jitter(&mut ctx, 0, 200).await;
    }
}

/// A session with the TTL, retried until the cluster grants one or the chaos phase ends.
async fn session(ctx: &Ctx) -> Option<Session<GrpcClient>> {
    while ctx.running() {
        if let Ok(session) = Session::with_ttl(ctx.client.clone(), TTL).await {
            return Some(session);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    None
}

/// How a term was won, so that it is given up the same way.
enum Won {
    Recipe(Election<GrpcClient>),
    Service(detcd_proto::client::LeaderKey),
}

/// One campaign and, if won, one term; recorded as a `term` operation.
async fn term(ctx: &mut Ctx, session: &Session<GrpcClient>) {
    let me = format!("c{}", ctx.index);
    let through_service = ctx.rng.gen_bool(SERVICE_CHANCE);
    let through = if through_service { "election service" } else { "recipe" };
    let input = json!({"value": me, "through": through});
    let pending = ctx.recorder.invoke(ctx.index, "term", Some(ELECTION), input);
    let won = match through_service {
        true => campaign_through_service(ctx, session, &me).await,
        false => campaign_with_recipe(session, &me).await,
    };
    let (revision, mut won) = match won {
        Ok(won) => won,
        // Not a term: the checker reads only outputs that are terms.
        Err(why) => return ctx.recorder.complete(pending, json!({"error": why})),
    };
    let elected = ctx.recorder.now();
    jitter(ctx, 100, 400).await;
    let again = format!("{me}-again");
    let _ = match &mut won {
        Won::Recipe(election) => election.proclaim(&again).await.map_err(|e| e.to_string()),
        Won::Service(leader) => {
            ctx.client.proclaim(leader, again.as_bytes()).await.map(drop).map_err(|e| e.to_string())
        }
    };
    jitter(ctx, 100, 400).await;
    let asked = ctx.recorder.now();
    let ended = if lease_alive(session).await { asked } else { elected };
    let _ = match &mut won {
        Won::Recipe(election) => election.resign().await.map_err(|e| e.to_string()),
        Won::Service(leader) => {
            ctx.client.resign(leader).await.map(drop).map_err(|e| e.to_string())
        }
    };
    let term = Leadership {
        election: ELECTION.into(),
        client: ctx.index,
        revision,
        elected,
        ended: Some(ended),
    };
    match serde_json::to_value(&term) {
        Ok(output) => ctx.recorder.complete(pending, output),
        Err(_) => ctx.recorder.unknown(pending),
    }
}

/// A campaign through the recipe in this client: the leader key's create revision, or why not.
async fn campaign_with_recipe(
    session: &Session<GrpcClient>,
    me: &str,
) -> Result<(i64, Won), String> {
    let mut election = Election::new(session, ELECTION).map_err(|e| e.to_string())?;
    match tokio::time::timeout(CAMPAIGN_PATIENCE, election.campaign(me)).await {
        Ok(Ok(revision)) => Ok((revision, Won::Recipe(election))),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("gave up campaigning".into()),
    }
}

/// A campaign through the server's Election service for the session's lease: the leader key's
/// create revision (the service's `rev`), or why not.
async fn campaign_through_service(
    ctx: &Ctx,
    session: &Session<GrpcClient>,
    me: &str,
) -> Result<(i64, Won), String> {
    let call = ctx.client.campaign(ELECTION.as_bytes(), session.lease(), me.as_bytes());
    match tokio::time::timeout(CAMPAIGN_PATIENCE, call).await {
        Ok(Ok(leader)) if leader.rev > 0 => Ok((leader.rev, Won::Service(leader))),
        Ok(Ok(leader)) => Err(format!("the Election service answered without a key: {leader:?}")),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("gave up campaigning (Election service)".into()),
    }
}

/// Whether the session's lease is surely alive now; unknown counts as not alive (a term may
/// trust only what it knows).
async fn lease_alive(session: &Session<GrpcClient>) -> bool {
    if session.is_done() {
        return false;
    }
    let request = LeaseTimeToLiveRequest { id: session.lease(), keys: false };
    match session.client().lease_time_to_live(request).await {
        Ok(answer) => answer.ttl > 0,
        Err(_) => false,
    }
}

/// The election checker's verdict on the terms.
pub fn verdict(ops: &[Operation]) -> Verdict {
    let checker = "election".to_string();
    let started = Instant::now();
    let terms: Vec<Leadership> = ops
        .iter()
        .filter(|op| op.f == "term" && op.ret.is_some())
        .filter_map(|op| serde_json::from_value(op.output.clone()).ok())
        .collect();
    let verdict = election::check(&terms);
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) = match verdict.violation_summary() {
        None => (Some(true), format!("ok ({} terms, {seconds:.2}s)", terms.len())),
        Some(violated) => (Some(false), violated),
    };
    Verdict { checker, ok, summary }
}
