//! Shrinking a failing run: search for a smaller replay plan that fails with the same checker.
//!
//! Each candidate is a full deterministic run of a [`ReplayPlan`]. The search first removes faults
//! by delta debugging (ddmin over the fault list: drop halves, quarters, ... and their
//! complements while the run still fails), then reduces greedily: fewer clients, fewer members
//! (faults naming a removed member are dropped with it), fewer operations (a cap on the clients'
//! operation count, found by a descending binary search), a shorter chaos phase (halved while it
//! fails; faults past the end dropped), shorter pauses, and faults moved later. "Fails" means the
//! checker that failed first in the original run fails again (not merely any checker). The number
//! of runs is bounded; the result is the smallest failing plan found within the bound.
//! Invariant: the returned plan has been run and seen to fail.

use crate::plan_file::ReplayPlan;
use crate::runner::{self, Mode, ScenarioRun};
use detcd_sim::faults::{Fault, Target};
use detcd_sim::plan::Scheduled;

/// What a shrink found.
#[derive(Debug, Clone)]
pub struct Shrunk {
    pub original: ReplayPlan,
    pub minimal: ReplayPlan,
    /// The checker that fails in both.
    pub checker: String,
    /// Candidate runs made.
    pub runs: usize,
    /// Operations in the original and the minimal run.
    pub ops: (usize, usize),
}

/// Runs one candidate plan.
pub fn run_plan(plan: &ReplayPlan) -> Result<ScenarioRun, String> {
    runner::run(&plan.scenario, plan.seed, &plan.options()?, Mode::default())
}

/// The first checker that found a violation (not an unknown verdict).
fn failing_checker(run: &ScenarioRun) -> Option<String> {
    run.verdicts.iter().find(|v| v.ok == Some(false)).map(|v| v.checker.clone())
}

struct Search<'a> {
    checker: String,
    runs: usize,
    budget: usize,
    best_ops: usize,
    log: &'a mut dyn FnMut(&str),
}

impl Search<'_> {
    /// Does `plan` still fail with the same checker? False once the budget is spent.
    fn fails(&mut self, plan: &ReplayPlan) -> bool {
        if self.runs >= self.budget || plan.validate().is_err() {
            return false;
        }
        self.runs += 1;
        let Ok(run) = run_plan(plan) else { return false };
        let failed = run.verdicts.iter().any(|v| v.checker == self.checker && v.ok == Some(false));
        if failed {
            self.best_ops = run.ops;
            (self.log)(&format!("  run {:>3}: still fails with {}", self.runs, plan.size()));
        }
        failed
    }

    fn with_faults(plan: &ReplayPlan, faults: Vec<Scheduled>) -> ReplayPlan {
        let mut candidate = plan.clone();
        candidate.plan.faults = faults;
        candidate
    }

    /// Delta debugging over the fault list.
    fn ddmin(&mut self, plan: ReplayPlan) -> ReplayPlan {
        let mut best = plan;
        if best.plan.faults.is_empty() {
            return best;
        }
        let empty = Self::with_faults(&best, Vec::new());
        if self.fails(&empty) {
            return empty;
        }
        let mut n = 2;
        while best.plan.faults.len() >= 2 && self.runs < self.budget {
            let faults = best.plan.faults.clone();
            let chunk = faults.len().div_ceil(n);
            let parts: Vec<Vec<Scheduled>> =
                faults.chunks(chunk).map(<[Scheduled]>::to_vec).collect();
            let mut reduced = false;
            for (i, part) in parts.iter().enumerate() {
                let complement: Vec<Scheduled> = parts
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, p)| p.clone())
                    .collect();
                for (candidate, next_n) in [(part.clone(), 2), (complement, (n - 1).max(2))] {
                    let candidate = Self::with_faults(&best, candidate);
                    if candidate.plan.faults.len() < best.plan.faults.len()
                        && self.fails(&candidate)
                    {
                        best = candidate;
                        n = next_n;
                        reduced = true;
                        break;
                    }
                }
                if reduced {
                    break;
                }
            }
            if !reduced {
                if n >= faults.len() {
                    break;
                }
                n = (n * 2).min(faults.len());
            }
        }
        best
    }

    /// Tries `candidate`; keeps it in `best` if it fails.
    fn attempt(&mut self, best: &mut ReplayPlan, candidate: ReplayPlan) -> bool {
        if candidate != *best && self.fails(&candidate) {
            *best = candidate;
            return true;
        }
        false
    }

    fn fewer_clients(&mut self, best: &mut ReplayPlan) {
        for clients in [1, best.clients / 2] {
            if clients >= 1 && clients < best.clients {
                let candidate = ReplayPlan { clients, ..best.clone() };
                if self.attempt(best, candidate) {
                    break;
                }
            }
        }
        while best.clients > 1 && self.runs < self.budget {
            let candidate = ReplayPlan { clients: best.clients - 1, ..best.clone() };
            if !self.attempt(best, candidate) {
                break;
            }
        }
    }

    /// Caps the run's operations: removes `step` operations while it still fails, halving the
    /// step when it does not — a descending binary search that costs about 2·log2(ops) runs.
    fn fewer_operations(&mut self, best: &mut ReplayPlan) {
        let mut cap = best.max_ops.unwrap_or(usize::MAX).min(self.best_ops);
        let mut step = cap / 2;
        while step >= 1 && self.runs < self.budget {
            let candidate = ReplayPlan { max_ops: Some(cap - step), ..best.clone() };
            if cap > step && self.attempt(best, candidate) {
                cap -= step;
            } else {
                step /= 2;
            }
        }
    }

    fn fewer_members(&mut self, best: &mut ReplayPlan) {
        for members in 1..best.members {
            if self.attempt(best, with_members(best, members)) {
                break;
            }
        }
    }

    fn shorter_chaos(&mut self, best: &mut ReplayPlan) {
        while best.chaos_secs > 0.5 && self.runs < self.budget {
            if !self.attempt(best, with_chaos(best, best.chaos_secs / 2.0)) {
                break;
            }
        }
        // The failure may need every fault: cut only the quiet tail after the last one.
        while self.runs < self.budget {
            let last = best.plan.faults.iter().map(|f| f.at_ms).max().unwrap_or(0) as f64 / 1000.0;
            let tail = best.chaos_secs - last;
            if tail < 0.2 || !self.attempt(best, with_chaos(best, last + tail / 2.0)) {
                break;
            }
        }
    }

    fn shorter_pauses(&mut self, best: &mut ReplayPlan) {
        for index in 0..best.plan.faults.len() {
            while self.runs < self.budget {
                let mut candidate = best.clone();
                let Some(Fault::Pause { millis, .. }) =
                    candidate.plan.faults.get_mut(index).map(|f| &mut f.fault)
                else {
                    break;
                };
                if *millis <= 100 {
                    break;
                }
                *millis /= 2;
                if !self.attempt(best, candidate) {
                    break;
                }
            }
        }
    }

    /// Moves each fault halfway to the next one (or to the end of chaos), keeping the order.
    fn later_faults(&mut self, best: &mut ReplayPlan) {
        let end = (best.chaos_secs * 1000.0) as u64;
        for index in 0..best.plan.faults.len() {
            let next = best.plan.faults.get(index + 1).map_or(end, |f| f.at_ms);
            let at = best.plan.faults[index].at_ms;
            if next > at + 100 {
                let mut candidate = best.clone();
                candidate.plan.faults[index].at_ms = at + (next - at) / 2;
                self.attempt(best, candidate);
            }
        }
    }
}

/// The plan with a chaos phase of `secs` (at least half a second); faults after it dropped.
fn with_chaos(plan: &ReplayPlan, secs: f64) -> ReplayPlan {
    let chaos_secs = (secs * 1000.0).round().max(500.0) / 1000.0;
    let limit = (chaos_secs * 1000.0) as u64;
    let mut candidate = ReplayPlan { chaos_secs, ..plan.clone() };
    candidate.plan.faults.retain(|f| f.at_ms <= limit);
    candidate
}

/// The plan with only members `1..=members`; faults naming another member are dropped, splits
/// and bridges lose the missing members.
pub fn with_members(plan: &ReplayPlan, members: usize) -> ReplayPlan {
    let keep = |id: &u64| *id >= 1 && *id <= members as u64;
    let mut candidate = ReplayPlan { members, ..plan.clone() };
    candidate.plan.faults = plan
        .plan
        .faults
        .iter()
        .filter_map(|scheduled| {
            let fault = match scheduled.fault.clone() {
                Fault::Isolate { target: Target::Member(id) }
                | Fault::Crash { target: Target::Member(id) }
                | Fault::Pause { target: Target::Member(id), .. }
                | Fault::RemoveMember { target: Target::Member(id) }
                    if !keep(&id) =>
                {
                    return None
                }
                Fault::OneWay { from: Target::Member(id), .. }
                | Fault::OneWay { to: Target::Member(id), .. }
                    if !keep(&id) =>
                {
                    return None
                }
                Fault::ClockSkew { member, .. }
                | Fault::ClockJump { member, .. }
                | Fault::Disk { member, .. }
                    if !keep(&member) =>
                {
                    return None
                }
                Fault::Split { mut minority } => {
                    minority.retain(keep);
                    if minority.is_empty() {
                        return None;
                    }
                    Fault::Split { minority }
                }
                Fault::Bridge { bridge, mut left, mut right } => {
                    left.retain(keep);
                    right.retain(keep);
                    if !keep(&bridge) || left.is_empty() || right.is_empty() {
                        return None;
                    }
                    Fault::Bridge { bridge, left, right }
                }
                fault => fault,
            };
            Some(Scheduled { at_ms: scheduled.at_ms, fault })
        })
        .collect();
    candidate
}

/// Shrinks `original`, which must fail; at most `budget` candidate runs. `log` hears progress.
pub fn shrink(
    original: ReplayPlan,
    budget: usize,
    log: &mut dyn FnMut(&str),
) -> Result<Shrunk, String> {
    let first = run_plan(&original)?;
    let checker = failing_checker(&first).ok_or_else(|| {
        format!("{} seed {} does not fail: nothing to shrink", original.scenario, original.seed)
    })?;
    log(&format!("fails with {checker}: {}", original.size()));
    let mut search = Search { checker: checker.clone(), runs: 1, budget, best_ops: first.ops, log };
    let mut best = search.ddmin(original.clone());
    search.fewer_clients(&mut best);
    search.fewer_operations(&mut best);
    search.fewer_members(&mut best);
    search.shorter_chaos(&mut best);
    search.shorter_pauses(&mut best);
    search.later_faults(&mut best);
    // A last look at faults: greedy steps may have made more of them unnecessary.
    best = search.ddmin(best);
    Ok(Shrunk {
        original,
        minimal: best,
        checker,
        runs: search.runs,
        ops: (first.ops, search.best_ops),
    })
}
