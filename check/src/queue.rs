//! Queue and priority queue: nothing lost, nothing delivered twice, FIFO (within a priority).
//!
//! Input ([`QueueHistory`]): enqueue calls (value, priority, call, return; `ret: None` = unknown
//! outcome), dequeue calls (the value received; `value: None` with a return = unknown or empty),
//! and the values still in the queue at the end (the simulator reads them after the run).
//! Values must be unique per enqueue (the workload makes them so).
//!
//! Rules (records: enqueue indices `e`, dequeue indices `d` as stated):
//! - `duplicate`: a value delivered twice (records: the two dequeues).
//! - `phantom`: a value delivered or remaining that was never enqueued (records: the dequeue).
//! - `lost`: an acknowledged enqueue neither delivered nor remaining, beyond what the dequeues of
//!   unknown outcome (`ret: None`; each may have taken one value unseen) explain (records: the
//!   enqueue).
//! - `fifo`: within one priority, A's enqueue returned before B's was called, yet B was
//!   delivered (dequeue returned) before A's dequeue was called, or while A remained to the end
//!   (records: enqueue A, enqueue B).
//! - `priority`: B was delivered while A, with a strictly more urgent (lower) priority, was
//!   surely in the queue: enqueued before B's dequeue call, dequeued only after it returned
//!   (records: enqueue A, enqueue B).
//!
//! - `stuck` (needs `healed`): a dequeue gave up (`gave_up`) more than [`STUCK_SLACK`] after the
//!   moment it was waiting, the cluster was healed and some value was surely in the queue
//!   (enqueue returned, not yet taken as below): a working dequeue takes a value within that
//!   slack (records: the dequeue).
//!
//! For `fifo`, `priority` and `stuck`, a value neither delivered nor remaining may have been taken
//! by a dequeue of unknown outcome, so it is surely queued only until the first such dequeue's
//! call.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::verdict::{end, finding, Finding, SafetyVerdict, STUCK_SLACK};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct QueueHistory {
    pub enqueues: Vec<Enqueue>,
    pub dequeues: Vec<Dequeue>,
    #[serde(default)]
    pub remaining: Vec<String>,
    /// When the cluster was healed (`None`: `stuck` is not judged).
    #[serde(default)]
    pub healed: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Enqueue {
    pub client: u64,
    pub value: String,
    /// Lower is more urgent; plain queues use 0.
    #[serde(default)]
    pub priority: u32,
    pub call: f64,
    pub ret: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dequeue {
    pub client: u64,
    pub value: Option<String>,
    pub call: f64,
    pub ret: Option<f64>,
    /// When the client stopped waiting without a return (a timeout; its outcome is unknown, so
    /// `ret` is `None`). `None`: it returned or failed.
    #[serde(default)]
    pub gave_up: Option<f64>,
}

/// Checks a queue history.
pub fn check(history: &QueueHistory) -> SafetyVerdict {
    let enqueued: BTreeMap<&str, usize> =
        history.enqueues.iter().enumerate().map(|(i, e)| (e.value.as_str(), i)).collect();
    let mut findings: Vec<Finding> = Vec::new();
    // Which dequeue delivered each enqueue.
    let mut delivered: BTreeMap<usize, usize> = BTreeMap::new();
    for (d, dequeue) in history.dequeues.iter().enumerate() {
        let (Some(value), Some(_)) = (&dequeue.value, dequeue.ret) else { continue };
        let Some(&e) = enqueued.get(value.as_str()) else {
            findings.push(finding(
                "phantom",
                vec![d],
                format!("client {} dequeued {value:?}, never enqueued", dequeue.client),
            ));
            continue;
        };
        if let Some(&first) = delivered.get(&e) {
            findings.push(finding(
                "duplicate",
                vec![first, d],
                format!(
                    "{value:?} was delivered twice: to client {} and client {}",
                    history.dequeues[first].client, dequeue.client
                ),
            ));
            continue;
        }
        delivered.insert(e, d);
    }
    let remaining: BTreeSet<&str> = history.remaining.iter().map(String::as_str).collect();
    for value in &remaining {
        if !enqueued.contains_key(value) {
            findings.push(finding(
                "phantom",
                vec![],
                format!("{value:?} remained in the queue but was never enqueued"),
            ));
        }
    }
    // A dequeue whose outcome is unknown may have taken one value its client never saw (its
    // delete applied, the answer lost), at any time after its call: so as many missing values as
    // there are such dequeues are explained, whichever they are.
    let unknown_dequeues = history.dequeues.iter().filter(|d| d.ret.is_none()).count();
    let missing = history.enqueues.iter().enumerate().filter(|(e, enqueue)| {
        enqueue.ret.is_some()
            && !delivered.contains_key(e)
            && !remaining.contains(enqueue.value.as_str())
    });
    for (e, enqueue) in missing.skip(unknown_dequeues) {
        let message = format!(
            "client {}'s enqueue of {:?} (acknowledged t={}) was never delivered and is not in the queue",
            enqueue.client,
            enqueue.value,
            end(enqueue.ret)
        );
        findings.push(finding("lost", vec![e], message));
    }
    findings.extend(order(history, &delivered));
    SafetyVerdict::from_findings(findings)
}

/// Dequeues that gave up long after a value was surely waiting for them in a healed cluster;
/// `taken_from(e, value)`: until when enqueue `e`'s value was surely in the queue.
fn stuck(
    history: &QueueHistory,
    healed: f64,
    taken_from: &dyn Fn(usize, &str) -> f64,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (d, dequeue) in history.dequeues.iter().enumerate() {
        let (None, Some(gave_up)) = (dequeue.ret, dequeue.gave_up) else { continue };
        let waiting = history.enqueues.iter().enumerate().find(|(e, enqueue)| {
            let Some(queued) = enqueue.ret else { return false };
            let due = queued.max(dequeue.call).max(healed);
            due + STUCK_SLACK < gave_up.min(taken_from(*e, &enqueue.value))
        });
        if let Some((_, enqueue)) = waiting {
            findings.push(finding(
                "stuck",
                vec![d],
                format!(
                    "client {}'s dequeue (called t={}) gave up at t={gave_up} without a value, \
                     although {:?} (enqueued by t={}) was in the queue and the cluster healed at \
                     t={healed}",
                    dequeue.client,
                    dequeue.call,
                    enqueue.value,
                    end(enqueue.ret)
                ),
            ));
        }
    }
    findings
}

/// FIFO within a priority and priority order across them.
fn order(history: &QueueHistory, delivered: &BTreeMap<usize, usize>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let dequeue_of = |e: usize| delivered.get(&e).map(|&d| &history.dequeues[d]);
    let remaining: BTreeSet<&str> = history.remaining.iter().map(String::as_str).collect();
    // A value neither delivered nor remaining may have gone to a dequeue of unknown outcome, as
    // early as the first such call.
    let earliest_unknown_dequeue = history
        .dequeues
        .iter()
        .filter(|d| d.ret.is_none())
        .map(|d| d.call)
        .fold(f64::INFINITY, f64::min);
    let taken_from = |e: usize, value: &str| match dequeue_of(e) {
        Some(dequeue) => dequeue.call,
        None if remaining.contains(value) => f64::INFINITY,
        None => earliest_unknown_dequeue,
    };
    if let Some(healed) = history.healed {
        findings.extend(stuck(history, healed, &taken_from));
    }
    for (a, ea) in history.enqueues.iter().enumerate() {
        let Some(a_done) = ea.ret else { continue };
        let a_taken_from = taken_from(a, &ea.value);
        for (b, eb) in history.enqueues.iter().enumerate() {
            let Some(db) = dequeue_of(b) else { continue };
            let b_out = end(db.ret);
            if ea.priority == eb.priority && a_done < eb.call && b_out < a_taken_from {
                findings.push(finding(
                    "fifo",
                    vec![a, b],
                    format!(
                        "{:?} (enqueued by t={a_done}) was still queued when the later {:?} was delivered at t={b_out}",
                        ea.value, eb.value
                    ),
                ));
            } else if ea.priority < eb.priority && a_done < db.call && b_out < a_taken_from {
                findings.push(finding(
                    "priority",
                    vec![a, b],
                    format!(
                        "{:?} (priority {}) was delivered at t={b_out} while {:?} (priority {}) waited",
                        eb.value, eb.priority, ea.value, ea.priority
                    ),
                ));
            }
        }
    }
    findings
}
