//! Shrinking a failing run: search for a smaller replay plan that fails with the same checker.
//!
//! Each candidate is a full deterministic run of a [`ReplayPlan`]. The search first removes faults
//! by delta debugging (ddmin over the fault list: drop halves, quarters, ... and their
//! complements while the run still fails), then reduces greedily: fewer clients, fewer operations
//! (a cap on the clients' operation count, found by a descending binary search), fewer members
//! (faults naming a removed member are dropped with it), operations taken out of the middle
//! (quiet windows, below), a shorter chaos phase (halved while it fails; faults and windows past
//! the end dropped), shorter pauses, and faults moved later; those last three keep a candidate
//! only if it has no more operations than the best so far. "Fails" means the checker that failed
//! first in the original run fails again (not merely any checker). The number of runs is
//! bounded; the result is the smallest failing plan found within the bound.
//!
//! Quiet windows: the cap only cuts the tail, so a violation late in the run keeps nearly every
//! operation. The window step silences stretches of each client's run instead (a silenced client
//! issues nothing new until the window ends; see [`QuietWindow`]). First a binding cap becomes a
//! window from its moment for every client, so that silencing earlier operations does not just
//! let later ones in (where that run no longer fails, the cap stays and each window lowers it by
//! the operations the window takes away). Then each client is tried silent throughout, else
//! silent from the earliest point a binary search finds, then over time segments ddmin style:
//! halves of the chaos phase, quarters, eighths, ... down to 1/256 of it, each client's segment
//! silenced while the run still fails. A window is kept only when the run fails with fewer
//! operations; segments where the last failing run had no call of that client are skipped
//! (silencing them removes nothing); segments go coarse to fine across all clients; the step
//! leaves a quarter of the remaining runs (at most 40) to the steps after it, and if it removed
//! nothing the plan stays as it was. A silenced client resumes where it left off, so a window
//! postpones a client's operations rather than dropping them from its sequence: with several
//! clients it takes one client's operations out from among the others', and with one client it
//! helps only where postponed operations meet the faults sooner.
//! Invariant: the returned plan has been run and seen to fail.

use crate::plan_file::ReplayPlan;
use crate::runner::{self, Mode, ScenarioRun};
use detcd_sim::faults::{Fault, Target};
use detcd_sim::plan::Scheduled;
use detcd_sim::workload::QuietWindow;

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
    /// Operations before and after the quiet-window step.
    pub quieted: (usize, usize),
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
    /// Each invocation of the last failing run: client and milliseconds since chaos began.
    calls: Vec<(u64, u64)>,
    /// Refuse candidates with more operations than the best (after the quiet windows, so that
    /// moving a fault or shortening a pause does not bring back what they took out).
    hold_ops: bool,
    log: &'a mut dyn FnMut(&str),
}

impl Search<'_> {
    /// Runs `plan`; its run if it still fails with the same checker. None once the budget is
    /// spent.
    fn failing_run(&mut self, plan: &ReplayPlan) -> Option<ScenarioRun> {
        if self.runs >= self.budget || plan.validate().is_err() {
            return None;
        }
        self.runs += 1;
        let run = run_plan(plan).ok()?;
        let failed = run.verdicts.iter().any(|v| v.checker == self.checker && v.ok == Some(false));
        failed.then_some(run)
    }

    /// Notes that `plan`, about to become the best one, failed in `run`.
    fn note(&mut self, plan: &ReplayPlan, run: &ScenarioRun) {
        self.best_ops = run.ops;
        self.calls = calls_of(run);
        let size = plan.size();
        (self.log)(&format!("  run {:>3}: still fails with {size}, {} ops", self.runs, run.ops));
    }

    /// Does `plan` still fail with the same checker (and, while `hold_ops`, with no more
    /// operations than the best so far)? False once the budget is spent.
    fn fails(&mut self, plan: &ReplayPlan) -> bool {
        let Some(run) = self.failing_run(plan) else { return false };
        if self.hold_ops && run.ops > self.best_ops {
            return false;
        }
        self.note(plan, &run);
        true
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

    /// Tries a quieter `candidate`; keeps it if it fails with fewer operations (or, when
    /// `or_as_many`, no more): a window that removes nothing is not worth a line in the plan.
    fn attempt_quieter(
        &mut self,
        best: &mut ReplayPlan,
        candidate: ReplayPlan,
        or_as_many: bool,
    ) -> bool {
        if candidate == *best {
            return false;
        }
        match self.failing_run(&candidate) {
            Some(run) if run.ops < self.best_ops || (or_as_many && run.ops == self.best_ops) => {
                self.note(&candidate, &run);
                *best = candidate;
                true
            }
            _ => false,
        }
    }

    fn fewer_clients(&mut self, best: &mut ReplayPlan) {
        for clients in [1, best.clients / 2] {
            if clients >= 1
                && clients < best.clients
                && self.attempt(best, with_clients(best, clients))
            {
                break;
            }
        }
        while best.clients > 1 && self.runs < self.budget {
            let candidate = with_clients(best, best.clients - 1);
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

    /// Takes operations out of the middle: quiet windows per client (see the module doc).
    fn quieter_clients(&mut self, best: &mut ReplayPlan) -> (usize, usize) {
        let before = self.best_ops;
        let unwindowed = best.clone();
        let reserve = (self.budget.saturating_sub(self.runs) / 4).min(40);
        let budget = self.budget;
        self.budget = budget.saturating_sub(reserve);
        let end = chaos_ms(best);
        let grain = (end / 256).max(5);
        self.cap_as_windows(best, end);
        for client in 1..=best.clients as u64 {
            self.quiet_from(best, client, end, grain);
        }
        let mut segments = 2;
        while end.div_ceil(segments) >= grain && self.runs < self.budget {
            let len = end.div_ceil(segments);
            for client in 1..=best.clients as u64 {
                for from in (0..end).step_by(len as usize) {
                    let to = (from + len).min(end);
                    if self.runs >= self.budget {
                        break;
                    }
                    if self.calls.iter().any(|&(c, at)| c == client && (from..to).contains(&at)) {
                        let window = QuietWindow { client, from_ms: from, to_ms: to };
                        self.attempt_quieter(best, self.quieted(best, window), false);
                    }
                }
            }
            segments *= 2;
        }
        self.budget = budget;
        if self.best_ops >= before && *best != unwindowed {
            // Windows that took nothing away (the cap turned into windows, say) only add lines.
            *best = unwindowed;
        }
        (self.log)(&format!(
            "  quiet windows: {before} -> {} ops ({} window(s))",
            self.best_ops,
            best.quiet.len()
        ));
        (before, self.best_ops)
    }

    /// `plan` with `window`, and a cap lowered by the calls the window takes away in the last
    /// failing run, so that the other clients do not fill the room.
    fn quieted(&self, plan: &ReplayPlan, window: QuietWindow) -> ReplayPlan {
        let mut candidate = with_window(plan, window);
        if let Some(cap) = plan.max_ops {
            let span = window.from_ms..window.to_ms;
            let removed = self
                .calls
                .iter()
                .filter(|(c, at)| *c == window.client && span.contains(at))
                .count();
            candidate.max_ops = Some(cap.saturating_sub(removed).max(1));
        }
        candidate
    }

    /// A binding cap becomes a window from its moment to the end for every client, cap removed:
    /// then a window earlier on takes operations away instead of letting later ones in.
    fn cap_as_windows(&mut self, best: &mut ReplayPlan, end: u64) {
        let Some(cap) = best.max_ops else { return };
        let Some(&(_, at)) = self.calls.get(cap.saturating_sub(1)) else { return };
        let from = at + 1;
        if from >= end {
            return;
        }
        let mut candidate = ReplayPlan { max_ops: None, ..best.clone() };
        for client in 1..=best.clients as u64 {
            candidate = with_window(&candidate, QuietWindow { client, from_ms: from, to_ms: end });
        }
        self.attempt_quieter(best, candidate, true);
    }

    /// Silences `client` from the earliest point found (throughout, if the run fails so).
    fn quiet_from(&mut self, best: &mut ReplayPlan, client: u64, end: u64, grain: u64) {
        let Some(last) = self.calls.iter().filter(|(c, _)| *c == client).map(|(_, at)| *at).max()
        else {
            return;
        };
        let whole = QuietWindow { client, from_ms: 0, to_ms: end };
        if self.attempt_quieter(best, self.quieted(best, whole), false) {
            return;
        }
        // Silencing from `lo` passes; from `hi` (after its last call) it changes nothing.
        let (mut lo, mut hi) = (0, last + 1);
        while hi - lo > grain && self.runs < self.budget {
            let mid = lo + (hi - lo) / 2;
            let window = QuietWindow { client, from_ms: mid, to_ms: end };
            if self.attempt_quieter(best, self.quieted(best, window), false) {
                hi = mid;
            } else {
                lo = mid;
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

/// The plan with a chaos phase of `secs` (at least half a second); faults after it dropped,
/// quiet windows cut at its end (which changes nothing: a client stops at the end anyway).
fn with_chaos(plan: &ReplayPlan, secs: f64) -> ReplayPlan {
    let chaos_secs = (secs * 1000.0).round().max(500.0) / 1000.0;
    let limit = (chaos_secs * 1000.0) as u64;
    let mut candidate = ReplayPlan { chaos_secs, ..plan.clone() };
    candidate.plan.faults.retain(|f| f.at_ms <= limit);
    candidate.quiet.retain(|w| w.from_ms < limit);
    for window in &mut candidate.quiet {
        window.to_ms = window.to_ms.min(limit);
    }
    candidate
}

/// The plan with clients `1..=clients`; the others' quiet windows dropped.
fn with_clients(plan: &ReplayPlan, clients: usize) -> ReplayPlan {
    let mut candidate = ReplayPlan { clients, ..plan.clone() };
    candidate.quiet.retain(|w| w.client <= clients as u64);
    candidate
}

/// The chaos phase's length in milliseconds.
fn chaos_ms(plan: &ReplayPlan) -> u64 {
    (plan.chaos_secs * 1000.0).round() as u64
}

/// The plan with `window` added; a client's overlapping or touching windows become one.
pub fn with_window(plan: &ReplayPlan, window: QuietWindow) -> ReplayPlan {
    let mut windows = plan.quiet.clone();
    windows.push(window);
    windows.sort();
    let mut merged: Vec<QuietWindow> = Vec::with_capacity(windows.len());
    for window in windows {
        match merged.last_mut() {
            Some(last) if last.client == window.client && window.from_ms <= last.to_ms => {
                last.to_ms = last.to_ms.max(window.to_ms);
            }
            _ => merged.push(window),
        }
    }
    ReplayPlan { quiet: merged, ..plan.clone() }
}

/// Each invocation of `run`: its client and the milliseconds since chaos began.
fn calls_of(run: &ScenarioRun) -> Vec<(u64, u64)> {
    let Some(result) = &run.result else { return Vec::new() };
    let start = result.chaos_started.as_secs_f64();
    result
        .history
        .iter()
        .map(|op| (op.client, ((op.call - start).max(0.0) * 1000.0) as u64))
        .collect()
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
    let mut search = Search {
        checker: checker.clone(),
        runs: 1,
        budget,
        best_ops: first.ops,
        calls: calls_of(&first),
        hold_ops: false,
        log,
    };
    let mut best = search.ddmin(original.clone());
    search.fewer_clients(&mut best);
    search.fewer_operations(&mut best);
    search.fewer_members(&mut best);
    let quieted = search.quieter_clients(&mut best);
    search.hold_ops = true;
    search.shorter_chaos(&mut best);
    search.shorter_pauses(&mut best);
    search.later_faults(&mut best);
    // Fewer faults are worth more operations.
    search.hold_ops = false;
    // A last look at faults: greedy steps may have made more of them unnecessary.
    best = search.ddmin(best);
    Ok(Shrunk {
        original,
        minimal: best,
        checker,
        runs: search.runs,
        ops: (first.ops, search.best_ops),
        quieted,
    })
}
