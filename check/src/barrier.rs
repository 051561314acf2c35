//! Barrier and double barrier.
//!
//! **Barrier** ([`BarrierHistory`]): the intervals the barrier key existed (`Hold` put it,
//! `Release` deleted it), every `Wait` call, and, for liveness, when the cluster was healed and
//! from when the barrier stayed down. Rules (records: wait index):
//! - `early_wait`: a wait returned although the key existed throughout its call — `Wait` returns
//!   at once only when the key is absent, else when it is deleted.
//! - `stuck`: a wait gave up although, for [`STUCK_SLACK`] before it did, the cluster was healed,
//!   the barrier was down for good and the wait had been called: from
//!   `max(call, healed, lowered)` a working `Wait` sees the key absent or the last release's
//!   delete event within that slack. Judged only when both `healed` and `lowered` are known.
//!
//! **Double barrier** ([`DoubleBarrierHistory`]): each participant's `Enter` and `Leave` calls for
//! one round with `n` participants expected. Rules (records: participant indices):
//! - `early_enter`: an `Enter` returned before `n` participants had called `Enter`.
//! - `overfull`: more than `n` participants were inside at once: their `Enter` had returned and
//!   they had not called `Leave` yet (the stretch a participant works in). A participant waiting
//!   in `Leave` is out: its key may be gone long before its call returns (a non-lowest leaver
//!   deletes its own key first, then waits to see the lowest's delete), and the next round may
//!   rightly enter meanwhile.
//! - `early_leave`: a `Leave` returned before every participant inside had called `Leave`
//!   ("inside": its `Enter` had returned by then; a participant that entered later belongs to a
//!   later round on the same key, after everyone had left).
//! - `stuck`: `n` participants were waiting together in `Enter` (nobody had entered; others that
//!   failed or were turned away aside), or the `n` that entered were all waiting in `Leave`, and
//!   all of them gave up more than [`STUCK_SLACK`] after the last of them called (or the heal,
//!   if later): what each waits for was there, `n` live keys (or none left), and none returned.
//!   A participant counts as waiting only if its session was alive when it gave up (`gave_up`
//!   is recorded only so): a dead session's key is gone and rightly blocks the others.
//!   Deliberately narrow: rounds where some entered and others did not are not judged.

use serde::{Deserialize, Serialize};

use crate::verdict::{end, finding, Finding, SafetyVerdict, STUCK_SLACK};

/// A call interval; `ret: None` = never returned.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Call {
    pub call: f64,
    pub ret: Option<f64>,
    /// When the client stopped waiting for a call that had not returned, its session still alive
    /// (`None`: it returned, failed, or its session was gone).
    #[serde(default)]
    pub gave_up: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BarrierHistory {
    /// When the key existed: `[put, deleted)`; `deleted: None` = never released.
    pub held: Vec<Held>,
    pub waits: Vec<Wait>,
    /// When the cluster was healed (`None`: `stuck` is not judged).
    #[serde(default)]
    pub healed: Option<f64>,
    /// From when the barrier surely stayed down: the return of the last release, made after
    /// every hold (`None`: `stuck` is not judged).
    #[serde(default)]
    pub lowered: Option<f64>,
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
    /// When the client stopped waiting without a return (a timeout; `None`: it returned or
    /// failed).
    #[serde(default)]
    pub gave_up: Option<f64>,
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
    findings.extend(stuck_waits(history));
    SafetyVerdict::from_findings(findings)
}

/// Waits that gave up long after the barrier was down for good in a healed cluster.
fn stuck_waits(history: &BarrierHistory) -> Vec<Finding> {
    let (Some(healed), Some(lowered)) = (history.healed, history.lowered) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for (index, wait) in history.waits.iter().enumerate() {
        let (None, Some(gave_up)) = (wait.ret, wait.gave_up) else { continue };
        let due = wait.call.max(healed).max(lowered);
        if gave_up > due + STUCK_SLACK {
            findings.push(finding(
                "stuck",
                vec![index],
                format!(
                    "client {}'s Wait (called t={}) never returned and gave up at t={gave_up}, \
                     although the cluster was healed at t={healed} and the barrier down for good \
                     from t={lowered}",
                    wait.client, wait.call
                ),
            ));
        }
    }
    findings
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DoubleBarrierHistory {
    pub n: usize,
    pub participants: Vec<Participant>,
    /// When the cluster was healed (`None`: `stuck` is not judged).
    #[serde(default)]
    pub healed: Option<f64>,
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
    findings.extend(stuck_round(history));
    SafetyVerdict::from_findings(findings)
}

/// All `n` participants stuck together in Enter, or all in Leave, well after the heal.
fn stuck_round(history: &DoubleBarrierHistory) -> Option<Finding> {
    let healed = history.healed?;
    let people = &history.participants;
    // `calls[i]` is participant `who[i]`'s call: exactly `n` of them, none returned, all given up
    // alive, the first give-up more than the slack after the last call (or the heal).
    let stuck_in = |who: Vec<usize>, calls: Vec<Call>, what: &str| -> Option<Finding> {
        if calls.len() != history.n || calls.iter().any(|c| c.ret.is_some()) {
            return None;
        }
        let gave_up = calls.iter().map(|c| c.gave_up).collect::<Option<Vec<f64>>>()?;
        let due = calls.iter().map(|c| c.call).fold(healed, f64::max);
        let first_to_give_up = gave_up.iter().copied().fold(f64::INFINITY, f64::min);
        (first_to_give_up > due + STUCK_SLACK).then(|| {
            finding(
                "stuck",
                who,
                format!(
                    "all {} participants had called {what} by t={due} (cluster healed at \
                     t={healed}) and none returned; the first gave up at t={first_to_give_up}",
                    history.n
                ),
            )
        })
    };
    // Enter: nobody entered, and the participants that neither failed nor were turned away
    // (they gave up alive) are `n`.
    if people.iter().all(|p| p.enter.ret.is_none()) {
        let waiting: Vec<usize> =
            (0..people.len()).filter(|&i| people[i].enter.gave_up.is_some()).collect();
        let calls = waiting.iter().map(|&i| people[i].enter).collect();
        return stuck_in(waiting, calls, "Enter");
    }
    // Leave: the `n` that entered all called Leave.
    let inside: Vec<usize> = (0..people.len()).filter(|&i| people[i].enter.ret.is_some()).collect();
    let calls = inside.iter().map(|&i| people[i].leave).collect::<Option<Vec<Call>>>()?;
    stuck_in(inside, calls, "Leave")
}

/// More than n inside (entered, `Leave` not called yet) at the moment someone's Enter returned.
fn overfull(history: &DoubleBarrierHistory) -> Option<Finding> {
    let people = &history.participants;
    let inside_at = |t: f64| -> Vec<usize> {
        (0..people.len())
            .filter(|&q| {
                people[q].enter.ret.is_some_and(|e| e <= t)
                    && end(people[q].leave.map(|l| l.call)) > t
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
        let call = |(call, ret): (f64, f64)| Call { call, ret: Some(ret), gave_up: None };
        Participant { client, enter: call(enter), leave: Some(call(leave)) }
    }

    fn double(participants: Vec<Participant>) -> DoubleBarrierHistory {
        DoubleBarrierHistory { n: 2, participants, healed: None }
    }

    fn gave_up(call: f64, at: f64) -> Call {
        Call { call, ret: None, gave_up: Some(at) }
    }

    /// The barrier went up at t=1 and down at t=3 (its release, during the chaos, was the last);
    /// the cluster healed at t=10 and client 2's wait, called at t=2, never returned.
    fn waited_past_the_heal(gave_up: f64) -> BarrierHistory {
        BarrierHistory {
            held: vec![Held { put: 1.0, deleted: Some(3.0) }],
            waits: vec![Wait { client: 2, call: 2.0, ret: None, gave_up: Some(gave_up) }],
            healed: Some(10.0),
            lowered: Some(3.0),
        }
    }

    #[test]
    fn a_wait_that_outlasts_the_heal_by_the_slack_is_stuck() {
        let verdict = check_barrier(&waited_past_the_heal(10.0 + STUCK_SLACK + 1.0));
        assert!(verdict.broke("stuck"), "{verdict:?}");
        assert_eq!(verdict.findings()[0].records, vec![0]);
    }

    #[test]
    fn a_wait_that_gives_up_within_the_slack_is_not_stuck() {
        let verdict = check_barrier(&waited_past_the_heal(10.0 + STUCK_SLACK - 1.0));
        assert!(verdict.is_ok(), "{verdict:?}");
        // Nor is one judged without knowing when the barrier was lowered for good.
        let mut unknown = waited_past_the_heal(10.0 + STUCK_SLACK + 1.0);
        unknown.lowered = None;
        assert!(check_barrier(&unknown).is_ok());
    }

    #[test]
    fn a_wait_while_the_barrier_is_still_up_after_the_heal_is_not_stuck() {
        // Lowered for good only at t=25: the wait giving up at t=30 had 5 s, not the slack.
        let mut history = waited_past_the_heal(30.0);
        history.held[0].deleted = Some(24.0);
        history.lowered = Some(25.0);
        assert!(check_barrier(&history).is_ok());
    }

    #[test]
    fn a_full_round_stuck_in_enter_after_the_heal_is_caught() {
        let stuck = |at: f64| Participant { client: 1, enter: gave_up(9.0, at), leave: None };
        // Both called Enter by t=9, the cluster healed at t=10, neither entered by t=25.
        let mut history = double(vec![stuck(25.0), stuck(25.5)]);
        history.healed = Some(10.0);
        let verdict = check_double_barrier(&history);
        assert!(verdict.broke("stuck"), "{verdict:?}");
        // Within the slack, or without the heal time, it is not judged.
        let mut early = double(vec![stuck(15.0), stuck(25.0)]);
        early.healed = Some(10.0);
        assert!(check_double_barrier(&early).is_ok());
        assert!(check_double_barrier(&double(vec![stuck(25.0), stuck(25.5)])).is_ok());
    }

    #[test]
    fn a_participant_turned_away_does_not_hide_a_stuck_round() {
        let stuck = |at: f64| Participant { client: 1, enter: gave_up(9.0, at), leave: None };
        let refused = Call { call: 9.2, ret: None, gave_up: None };
        let turned_away = Participant { client: 3, enter: refused, leave: None };
        let mut history = double(vec![stuck(25.0), turned_away, stuck(25.5)]);
        history.healed = Some(10.0);
        let verdict = check_double_barrier(&history);
        assert!(verdict.broke("stuck"), "{verdict:?}");
        assert_eq!(verdict.findings()[0].records, vec![0, 2]);
    }

    #[test]
    fn a_round_missing_a_live_participant_is_not_stuck() {
        // The second participant's session died (no `gave_up`): the first rightly waited.
        let first = Participant { client: 1, enter: gave_up(9.0, 25.0), leave: None };
        let dead = Call { call: 9.0, ret: None, gave_up: None };
        let second = Participant { client: 2, enter: dead, leave: None };
        let mut history = double(vec![first, second]);
        history.healed = Some(10.0);
        assert!(check_double_barrier(&history).is_ok());
    }

    #[test]
    fn a_full_round_stuck_in_leave_after_the_heal_is_caught() {
        let inside = |client| Participant {
            client,
            enter: Call { call: 8.0, ret: Some(8.5), gave_up: None },
            leave: Some(gave_up(9.0, 22.0)),
        };
        let mut history = double(vec![inside(1), inside(2)]);
        history.healed = Some(10.0);
        assert!(check_double_barrier(&history).broke("stuck"));
        // Both gave up within the slack of the heal: the cluster may still have been recovering.
        history.participants[0].leave = Some(gave_up(9.0, 19.0));
        let verdict = check_double_barrier(&history);
        assert!(verdict.is_ok(), "{verdict:?}");
    }

    #[test]
    fn a_second_round_on_the_same_key_is_not_an_early_leave() {
        let participants = vec![
            person(1, (0.0, 1.0), (2.0, 3.0)),
            person(2, (0.5, 1.0), (2.5, 3.0)),
            person(3, (4.0, 5.0), (6.0, 7.0)),
            person(4, (4.5, 5.0), (6.5, 7.0)),
        ];
        let verdict = check_double_barrier(&double(participants));
        assert!(verdict.is_ok(), "{verdict:?}");
    }

    #[test]
    fn leaving_while_someone_inside_has_not_called_leave_is_caught() {
        let participants =
            vec![person(1, (0.0, 1.0), (2.0, 3.0)), person(2, (0.5, 1.0), (4.0, 5.0))];
        let verdict = check_double_barrier(&double(participants));
        assert!(verdict.broke("early_leave"), "{verdict:?}");
    }
}
