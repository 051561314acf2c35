//! What the recipe scenarios share: an etcd client for the recipes on a scenario's client node,
//! sessions that retry, client pauses, and checker inputs carried in the history.
//!
//! The recipes (`detcd_core::recipes`) speak the `Client` trait, while a scenario's clients get a
//! plain `SimClient`; so a recipe workload's setup asks the cluster for its members (before the
//! chaos, on a healthy cluster) and every client then opens a `SimEtcdClient` to them.
//!
//! A recipe checker's input item (a lock hold, a leadership term, an enqueue...) is the output of
//! one history operation whose `f` names the kind of item: the history alone holds everything the
//! checker judges, and reports draw each item as an operation from its call to its return.
//!
//! [`Crew`] counts the clients still at work, so a client that reads the final state (a queue's
//! remaining values, a counter's history) does so only after everyone else has finished.
//!
//! Soundness rule used by every recipe scenario: a holder (of a lock, a leadership, a barrier
//! slot) that finds its session's lease gone after the hold may have lost the hold at any moment
//! since it began, so its hold counts as ended when it began; a lease still alive after the hold
//! proves the holder's key existed throughout.

use crate::scenario::CheckerVerdict;
use detcd_check::history::Operation;
use detcd_check::verdict::SafetyVerdict;
use detcd_core::api::LeaseTimeToLiveRequest;
use detcd_core::client::Client;
use detcd_core::member::MemberListRequest;
use detcd_core::raft::types::NodeId;
use detcd_core::recipes::Session;
use detcd_sim::client::{Outcome, SimClient};
use detcd_sim::etcd_client::SimEtcdClient;
use detcd_sim::history::Pending;
use detcd_sim::trace;
use detcd_sim::workload::ClientContext;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long past the chaos phase a client may wait for the others before reading final state.
pub const WAIT_FOR_CREW: Duration = Duration::from_secs(90);

/// The members, found by the setup, and how many clients are still at work.
#[derive(Default)]
pub struct Crew {
    members: Mutex<Vec<NodeId>>,
    working: AtomicUsize,
}

/// One client's time at work; dropping it clocks the client out.
pub struct Shift {
    crew: Arc<Crew>,
}

impl Drop for Shift {
    fn drop(&mut self) {
        self.crew.working.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Crew {
    /// Asks the cluster for its members until it answers (the setup runs on a healthy cluster).
    pub async fn find_members(&self, mut client: SimClient) {
        for _ in 0..100 {
            if let Outcome::Ok(list) = client.call(MemberListRequest::default()).await {
                let ids = list.into_iter().map(|member| member.id).collect();
                *self.members.lock().unwrap_or_else(|p| p.into_inner()) = ids;
                return;
            }
            sleep_ms(200).await;
        }
    }

    /// The members the setup found.
    pub fn members(&self) -> Vec<NodeId> {
        self.members.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes the members another crew found.
    pub fn set_members(&self, members: Vec<NodeId>) {
        *self.members.lock().unwrap_or_else(|p| p.into_inner()) = members;
    }

    /// A recipe client to the members, on the calling client's node.
    pub async fn connect(&self) -> Option<SimEtcdClient> {
        let members = self.members();
        if members.is_empty() {
            return None;
        }
        SimEtcdClient::connect(members).await.ok()
    }

    /// Counts the calling client as at work until the returned shift is dropped.
    pub fn clock_in(self: &Arc<Self>) -> Shift {
        self.working.fetch_add(1, Ordering::SeqCst);
        Shift { crew: self.clone() }
    }

    /// How many clients are at work.
    pub fn working(&self) -> usize {
        self.working.load(Ordering::SeqCst)
    }

    /// Waits until no client is at work, or until `deadline` (virtual time); true if all done.
    pub async fn all_done(&self, deadline: Duration) -> bool {
        while self.working() > 0 {
            if trace::now() >= deadline {
                return false;
            }
            sleep_ms(100).await;
        }
        true
    }
}

/// Virtual seconds since the run began (the history's time scale).
pub fn now() -> f64 {
    trace::now().as_secs_f64()
}

pub async fn sleep_ms(millis: u64) {
    madsim::time::sleep(Duration::from_millis(millis)).await;
}

/// Sleeps a random while in `[low, high)` milliseconds, drawn from the client's seeded rng.
pub async fn jitter(ctx: &mut ClientContext, low: u64, high: u64) {
    let millis = ctx.rng.gen_range(low..high.max(low + 1));
    sleep_ms(millis).await;
}

/// A session with `ttl`, retried until the cluster grants one or `until` (virtual time) passes.
pub async fn session(
    client: &SimEtcdClient,
    ttl: i64,
    until: Duration,
) -> Option<Session<SimEtcdClient>> {
    while trace::now() < until {
        if let Ok(session) = Session::with_ttl(client.clone(), ttl).await {
            return Some(session);
        }
        sleep_ms(300).await;
    }
    None
}

/// Whether the session's lease is surely alive now (a definite answer with a positive TTL).
/// Unknown counts as not alive: callers use it to decide how much of a hold they may trust.
pub async fn lease_alive(session: &Session<SimEtcdClient>) -> bool {
    if session.is_done() {
        return false;
    }
    let request = LeaseTimeToLiveRequest { id: session.lease(), keys: false };
    for _ in 0..3 {
        if let Ok(answer) = session.client().lease_time_to_live(request.clone()).await {
            return answer.ttl > 0;
        }
        sleep_ms(100).await;
    }
    false
}

/// Freezes this client's whole node (its recipe calls and its session's keep-alives, like a GC
/// pause or a stopped VM) for `millis`; a helper node of its own wakes it up again.
pub async fn pause_this_client(ctx: &ClientContext, millis: u64) {
    let me = madsim::plugin::node();
    let handle = madsim::runtime::Handle::current();
    let waker = handle.create_node().name(format!("c{}-waker", ctx.index)).build();
    trace::event(&format!("c{}", ctx.index), format_args!("client paused for {millis}ms"));
    waker.spawn(async move {
        madsim::runtime::Handle::current().pause(me);
        sleep_ms(millis).await;
        madsim::runtime::Handle::current().resume(me);
    });
    // The pause takes hold while this client sleeps; the sleep ends only after the resume.
    sleep_ms(1).await;
}

/// Freezes this client's whole node for `millis` starting `delay` milliseconds from now if
/// `still` is then true, while the client goes on with what it is doing (e.g. waiting for a
/// lock, clearing `still` when it has it).
pub fn pause_this_client_later(
    ctx: &ClientContext,
    delay: u64,
    millis: u64,
    still: Arc<AtomicBool>,
) {
    let me = madsim::plugin::node();
    let handle = madsim::runtime::Handle::current();
    let waker = handle.create_node().name(format!("c{}-waker", ctx.index)).build();
    let who = format!("c{}", ctx.index);
    waker.spawn(async move {
        sleep_ms(delay).await;
        if !still.load(Ordering::SeqCst) {
            return;
        }
        trace::event(&who, format_args!("client paused for {millis}ms"));
        madsim::runtime::Handle::current().pause(me);
        sleep_ms(millis).await;
        madsim::runtime::Handle::current().resume(me);
    });
}

/// Completes `pending` with a checker item as its output.
pub fn complete<T: Serialize>(ctx: &ClientContext, pending: Pending, item: &T) {
    match serde_json::to_value(item) {
        Ok(output) => ctx.recorder.complete(pending, output),
        Err(error) => ctx.recorder.unknown(pending, &error.to_string()),
    }
}

/// Completes `pending` as a call that certainly changed nothing.
pub fn refused(ctx: &ClientContext, pending: Pending, why: impl std::fmt::Display) {
    ctx.recorder.complete(pending, json!({"error": why.to_string()}));
}

/// The checker items recorded as operations `f` (outputs that are not items, like refusals, are
/// skipped).
pub fn items<T: DeserializeOwned>(history: &[Operation], f: &str) -> Vec<T> {
    items_at(history, f).0
}

/// The checker items recorded as operations `f`, and beside them the history index of the
/// operation each came from (what [`on_operations`] needs).
pub fn items_at<T: DeserializeOwned>(history: &[Operation], f: &str) -> (Vec<T>, Vec<usize>) {
    history
        .iter()
        .enumerate()
        .filter(|(_, op)| op.f == f && op.ret.is_some())
        .filter_map(|(index, op)| Some((serde_json::from_value(op.output.clone()).ok()?, index)))
        .unzip()
}

/// `verdict` with every finding's records turned from checker records (indices into the
/// checker's input lists, which differ per rule) into the history operations they came from.
/// A report draws and numbers a finding's records as operations of the history; left as checker
/// indices they would name unrelated operations of other clients at other times.
/// `operation(rule, record)` names the operation; a record without one is dropped.
pub fn on_operations(
    verdict: SafetyVerdict,
    operation: impl Fn(&str, usize) -> Option<usize>,
) -> SafetyVerdict {
    let findings = verdict
        .findings()
        .iter()
        .map(|f| {
            let records = f.records.iter().filter_map(|&r| operation(f.rule, r)).collect();
            detcd_check::verdict::finding(f.rule, records, f.message.clone())
        })
        .collect();
    SafetyVerdict::from_findings(findings)
}

/// The output of the last completed operation `f`, as `T`.
pub fn last_item<T: DeserializeOwned>(history: &[Operation], f: &str) -> Option<T> {
    history
        .iter()
        .rev()
        .filter(|op| op.f == f && op.ret.is_some())
        .find_map(|op| serde_json::from_value(op.output.clone()).ok())
}

/// A safety checker's verdict as a scenario verdict; `work` says what was judged.
pub fn safety(
    checker: &str,
    verdict: SafetyVerdict,
    work: String,
    started: Instant,
) -> CheckerVerdict {
    let seconds = started.elapsed().as_secs_f64();
    let (ok, summary) = match verdict.violation_summary() {
        None => (true, format!("ok ({work})")),
        Some(violated) => (false, violated),
    };
    let details = serde_json::to_value(&verdict).unwrap_or(Value::Null);
    CheckerVerdict { checker: checker.to_string(), ok: Some(ok), seconds, summary, details }
}

/// A verdict for a run whose history lacks what the checker needs (e.g. a final read failed).
pub fn not_judged(checker: &str, why: &str) -> CheckerVerdict {
    CheckerVerdict {
        checker: checker.to_string(),
        ok: None,
        seconds: 0.0,
        summary: format!("unknown: {why}"),
        details: Value::Null,
    }
}
