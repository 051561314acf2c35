//! Barrier and double barrier.
//!
//! **Barrier** ([`BarrierHistory`]): the intervals the barrier key existed (`Hold` put it,
//! `Release` deleted it) and every `Wait` call. Rule `early_wait` (records: wait index): a wait
//! returned although the key existed throughout its call — `Wait` returns at once only when the
//! key is absent, else when it is deleted.
//!
//! **Double barrier** ([`DoubleBarrierHistory`]): each participant's `Enter` and `Leave` calls for
//! one round with `n` participants expected. Rules (records: participant indices):
//! - `early_enter`: an `Enter` returned before `n` participants had called `Enter`.
//! - `overfull`: more than `n` participants were inside at once (entered, not yet left).
//! - `early_leave`: a `Leave` returned before every participant inside had called `Leave`
//!   ("inside": its `Enter` had returned by then; a participant that entered later belongs to a
//!   later round on the same key, after everyone had left).

use serde::{Deserialize, Serialize};

use crate::verdict::{end, finding, Finding, SafetyVerdict};

/// A call interval; `ret: None` = never returned.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Call {
    pub call: f64,
    pub ret: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BarrierHistory {
    /// When the key existed: `[put, deleted)`; `deleted: None` = never released.
    pub held: Vec<Held>,
    pub waits: Vec<Wait>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Held {
    pub put: f64,
    pub deleted: Option<f64>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Wait {
    pub client: u64,
    pub call: f64,
    pub ret: Option<f64>,
}

/// Checks a barrier history.
pub fn check_barrier(history: &BarrierHistory) -> SafetyVerdict {
    let mut findings = Vec::new();
    for (index, wait) in history.waits.iter().enumerate() {
        let Some(ret) = wait.ret else { continue };
        let blocking = history.held.iter().find(|h| h.put <= wait.call && ret < end(h.deleted));
        if let Some(h) = blocking {
            let release =
                h.deleted.map_or("never released".to_string(), |d| format!("released at t={d}"));
            findings.push(finding(
                "early_wait",
                vec![index],
                format!(
                    "client {}'s Wait (called t={}) returned at t={ret} but the barrier was held from t={} and {release}",
                    wait.client, wait.call, h.put
                ),
            ));
        }
    }
    SafetyVerdict::from_findings(findings)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DoubleBarrierHistory {
    pub n: usize,
    pub participants: Vec<Participant>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Participant {
    pub client: u64,
    pub enter: Call,
    #[serde(default)]
    pub leave: Option<Call>,
}

/// Checks one round of a double barrier.
pub fn check_double_barrier(history: &DoubleBarrierHistory) -> SafetyVerdict {
    let people = &history.participants;
    let mut findings: Vec<Finding> = Vec::new();
    for (index, p) in people.iter().enumerate() {
        let Some(entered) = p.enter.ret else { continue };
        let callers = people.iter().filter(|q| q.enter.call <= entered).count();
        if callers < history.n {
            findings.push(finding(
                "early_enter",
                vec![index],
                format!(
                    "client {}'s Enter returned at t={entered} when only {callers} of {} participants had entered",
                    p.client, history.n
                ),
            ));
        }
        if let Some(left) = p.leave.and_then(|l| l.ret) {
            let waiting: Vec<usize> = (0..people.len())
                .filter(|&q| {
                    people[q].enter.ret.is_some_and(|entered| entered <= left)
                        && people[q].leave.is_none_or(|l| l.call > left)
                })
                .collect();
            if !waiting.is_empty() {
                let mut records = vec![index];
                records.extend(&waiting);
                findings.push(finding(
                    "early_leave",
                    records,
                    format!(
                        "client {}'s Leave returned at t={left} while {} participant(s) had not called Leave",
                        p.client,
                        waiting.len()
                    ),
                ));
            }
        }
    }
    findings.extend(overfull(history));
    SafetyVerdict::from_findings(findings)
}

/// More than n inside at the moment someone's Enter returned.
fn overfull(history: &DoubleBarrierHistory) -> Option<Finding> {
    let people = &history.participants;
    let inside_at = |t: f64| -> Vec<usize> {
        (0..people.len())
            .filter(|&q| {
                people[q].enter.ret.is_some_and(|e| e <= t)
                    && end(people[q].leave.and_then(|l| l.ret)) > t
            })
            .collect()
    };
    people.iter().filter_map(|p| p.enter.ret).find_map(|t| {
        let inside = inside_at(t);
        (inside.len() > history.n).then(|| {
            finding(
                "overfull",
                inside.clone(),
                format!(
                    "{} participants were inside at t={t}, more than n={}",
                    inside.len(),
                    history.n
                ),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(client: u64, enter: (f64, f64), leave: (f64, f64)) -> Participant {
        let call = |(call, ret): (f64, f64)| Call { call, ret: Some(ret) };
        Participant { client, enter: call(enter), leave: Some(call(leave)) }
    }

    #[test]
    fn a_second_round_on_the_same_key_is_not_an_early_leave() {
        let participants = vec![
            person(1, (0.0, 1.0), (2.0, 3.0)),
            person(2, (0.5, 1.0), (2.5, 3.0)),
            person(3, (4.0, 5.0), (6.0, 7.0)),
            person(4, (4.5, 5.0), (6.5, 7.0)),
        ];
        let verdict = check_double_barrier(&DoubleBarrierHistory { n: 2, participants });
        assert!(verdict.is_ok(), "{verdict:?}");
    }

    #[test]
    fn leaving_while_someone_inside_has_not_called_leave_is_caught() {
        let participants =
            vec![person(1, (0.0, 1.0), (2.0, 3.0)), person(2, (0.5, 1.0), (4.0, 5.0))];
        let verdict = check_double_barrier(&DoubleBarrierHistory { n: 2, participants });
        assert!(verdict.broke("early_leave"), "{verdict:?}");
    }
}
