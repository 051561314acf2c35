//! Exploration beyond random seeds: a coverage-guided search over fault plans.
//!
//! A random sweep draws every run afresh, so a rare path is reached only as often as the seed's
//! draws happen to line up. Exploration keeps what worked, as a fuzzer keeps inputs: every run
//! is a [`ReplayPlan`] (scenario, seed, cluster, fault plan, knobs), and a run that reaches
//! something no earlier run reached — a coverage probe never hit, a probe hit an order of
//! magnitude more often than before, a checker failing — joins the corpus. New candidates are
//! mutations of corpus plans: the scenario's own aimed episode put in (in place of the other
//! faults when the scenario runs it alone), a fault moved in time, retargeted at the leader or a follower,
//! removed, added or duplicated, a pause made longer or shorter, the knobs or the simulation seed
//! drawn again.
//!
//! Invariants: every candidate is a plan, so every run replays byte for byte from its plan file
//! (`cargo sim run --plan`). The search itself is seeded: candidates are made in rounds of `jobs`
//! from the corpus as it stood when the round began, and merged in candidate order, so the same
//! seed, `jobs` and number of runs give the same candidates, corpus and findings on any machine
//! (only a wall-clock budget makes the number of runs depend on the machine's speed).

use crate::catalog;
use crate::plan_file::ReplayPlan;
use crate::runner::{self, Mode, ScenarioRun};
use crate::scenario::ScenarioOptions;
use detcd_core::probes::Probe;
use detcd_sim::faults::{Fault, Target};
use detcd_sim::knobs::Knobs;
use detcd_sim::plan::{Aims, FaultKind, FaultMix, FaultPlan};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// What to explore and for how long.
#[derive(Debug, Clone)]
pub struct ExploreRequest {
    pub scenario: String,
    /// The first seed: the initial corpus runs seeds `seed..seed + initial`, mutation choices
    /// are drawn from it too.
    pub seed: u64,
    /// Plain seeded runs before mutation starts.
    pub initial: usize,
    /// Stop after this much wall-clock time...
    pub budget: Duration,
    /// ... or after this many runs, whichever comes first.
    pub max_runs: Option<usize>,
    pub jobs: usize,
    /// Options every run gets (a planted bug, say); the plan replaces faults, size and knobs.
    pub options: ScenarioOptions,
}

/// Something a run reached: a probe with the order of magnitude of its hits, or a failed checker.
pub type Feature = (String, u32);

/// A run that failed, as the plan that replays it.
#[derive(Debug, Clone)]
pub struct Found {
    pub plan: ReplayPlan,
    pub run: usize,
    pub after_secs: f64,
    pub why: String,
}

/// What a search (or the random sweep it is compared with) reached.
#[derive(Debug, Clone, Default)]
pub struct ExploreReport {
    pub runs: usize,
    pub wall_secs: f64,
    pub corpus: Vec<ReplayPlan>,
    pub features: BTreeSet<Feature>,
    pub probes: BTreeSet<String>,
    pub failures: Vec<Found>,
}

impl ExploreReport {
    /// Probes reached per CPU-minute is the comparison that matters; this is the summary line.
    pub fn line(&self, what: &str) -> String {
        let first = self.failures.first().map_or("none".to_string(), |found| {
            format!("first after {:.1}s (run {})", found.after_secs, found.run)
        });
        format!(
            "{what:<8} {} runs in {:.1}s: {} of {} probes, {} features, corpus {}, {} failing runs, {first}",
            self.runs,
            self.wall_secs,
            self.probes.len(),
            Probe::ALL.len(),
            self.features.len(),
            self.corpus.len(),
            self.failures.len()
        )
    }

    fn absorb(&mut self, plan: ReplayPlan, run: &ScenarioRun, started: Instant) -> bool {
        self.runs += 1;
        let features = features(run);
        let new = features.iter().any(|feature| !self.features.contains(feature));
        self.features.extend(features);
        self.probes.extend(run.probes.keys().cloned());
        if !run.passed {
            let why = run.first_failure().unwrap_or_default();
            self.failures.push(Found {
                plan: plan.clone(),
                run: self.runs,
                after_secs: started.elapsed().as_secs_f64(),
                why,
            });
        }
        if new {
            self.corpus.push(plan);
        }
        new
    }
}

/// The features of a run: each probe at the order of magnitude of its hits (so "hit 10 times"
/// is new after "hit once"), and each checker that failed.
pub fn features(run: &ScenarioRun) -> BTreeSet<Feature> {
    let probes = run.probes.iter().map(|(name, hits)| (name.clone(), hits.max(&1).ilog2()));
    let failed =
        run.verdicts.iter().filter(|v| v.failed()).map(|v| (format!("fails {}", v.checker), 0));
    probes.chain(failed).collect()
}

/// Runs the search.
pub fn explore(
    request: &ExploreRequest,
    mut progress: impl FnMut(&ExploreReport),
) -> Result<ExploreReport, String> {
    let started = Instant::now();
    let mut report = ExploreReport::default();
    let mut rng = ChaCha8Rng::seed_from_u64(request.seed ^ 0x6578_706c_6f72_6521);
    let mut next_seed = request.seed;
    let done = |report: &ExploreReport| {
        started.elapsed() >= request.budget
            || request.max_runs.is_some_and(|max| report.runs >= max)
    };
    while !done(&report) {
        let round = request.jobs.max(1);
        let candidates: Vec<Candidate> = (0..round)
            .map(|_| {
                if report.runs < request.initial || report.corpus.is_empty() {
                    next_seed += 1;
                    Candidate::Seed(next_seed - 1)
                } else {
                    let parent = pick_parent(&mut rng, &report.corpus);
                    Candidate::Plan(mutate(&mut rng, parent))
                }
            })
            .collect();
        let results = run_round(&request.scenario, &request.options, &candidates)?;
        for (candidate, run) in candidates.into_iter().zip(results) {
            if done(&report) {
                break;
            }
            let plan = match candidate {
                Candidate::Plan(plan) => plan,
                Candidate::Seed(_) => ReplayPlan::of(&run),
            };
            report.absorb(plan, &run, started);
        }
        progress(&report);
    }
    report.wall_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A plain random sweep of the same scenario on the same budget, for comparison.
pub fn random(
    request: &ExploreRequest,
    first_seed: u64,
    mut progress: impl FnMut(&ExploreReport),
) -> Result<ExploreReport, String> {
    let started = Instant::now();
    let mut report = ExploreReport::default();
    let mut seed = first_seed;
    while started.elapsed() < request.budget && request.max_runs.is_none_or(|max| report.runs < max)
    {
        let candidates: Vec<Candidate> = (0..request.jobs.max(1))
            .map(|_| {
                seed += 1;
                Candidate::Seed(seed - 1)
            })
            .collect();
        for run in run_round(&request.scenario, &request.options, &candidates)? {
            report.absorb(ReplayPlan::of(&run), &run, started);
        }
        progress(&report);
    }
    report.wall_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

enum Candidate {
    /// A seed's own run (the random part of the search).
    Seed(u64),
    Plan(ReplayPlan),
}

/// Runs a round of candidates on one thread each; results in candidate order.
fn run_round(
    scenario: &str,
    options: &ScenarioOptions,
    candidates: &[Candidate],
) -> Result<Vec<ScenarioRun>, String> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = candidates
            .iter()
            .map(|candidate| {
                scope.spawn(move || match candidate {
                    Candidate::Seed(seed) => runner::run(scenario, *seed, options, Mode::default()),
                    Candidate::Plan(plan) => {
                        let mut planned = plan.options()?;
                        planned.plant = options.plant.clone();
                        runner::run(&plan.scenario, plan.seed, &planned, Mode::default())
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err("a candidate run panicked".into())))
            .collect()
    })
}

/// Newer corpus entries first: they carry what was found last.
fn pick_parent<'a>(rng: &mut ChaCha8Rng, corpus: &'a [ReplayPlan]) -> &'a ReplayPlan {
    let newest = corpus.len() - 1;
    let index = if rng.gen_bool(0.5) {
        newest - rng.gen_range(0..corpus.len().min(4))
    } else {
        rng.gen_range(0..corpus.len())
    };
    &corpus[index]
}

/// One to three mutations of `parent`.
pub fn mutate(rng: &mut ChaCha8Rng, parent: &ReplayPlan) -> ReplayPlan {
    let mut plan = parent.clone();
    for _ in 0..rng.gen_range(1..=3) {
        mutate_once(rng, &mut plan);
    }
    plan.plan.faults.sort_by_key(|scheduled| scheduled.at_ms);
    plan
}

fn mutate_once(rng: &mut ChaCha8Rng, plan: &mut ReplayPlan) {
    let chaos_ms = (plan.chaos_secs * 1000.0) as u64;
    let faults = &mut plan.plan.faults;
    match rng.gen_range(0..9) {
        // Move a fault in time.
        0 if !faults.is_empty() => {
            let index = rng.gen_range(0..faults.len());
            let shift = rng.gen_range(-2_000i64..=2_000);
            let at = (faults[index].at_ms as i64 + shift).clamp(0, chaos_ms.max(1) as i64 - 1);
            faults[index].at_ms = at as u64;
        }
        // Aim a fault at another role.
        1 if !faults.is_empty() => {
            let index = rng.gen_range(0..faults.len());
            let role = [Target::Leader, Target::Follower, Target::Random][rng.gen_range(0..3)];
            retarget(&mut faults[index].fault, role);
        }
        // Drop a fault.
        2 if !faults.is_empty() => {
            faults.remove(rng.gen_range(0..faults.len()));
        }
        // Repeat a fault later.
        3 if !faults.is_empty() => {
            let mut copy = faults[rng.gen_range(0..faults.len())].clone();
            copy.at_ms = (copy.at_ms + rng.gen_range(100..3_000)).min(chaos_ms.saturating_sub(1));
            faults.push(copy);
        }
        // Stretch or shrink the pauses.
        4 => {
            for scheduled in faults.iter_mut() {
                if let Fault::Pause { millis, .. } = &mut scheduled.fault {
                    *millis = if rng.gen_bool(0.5) {
                        (*millis * 2).min(20_000)
                    } else {
                        (*millis / 2).max(50)
                    };
                }
            }
        }
        // New knobs.
        5 => plan.knobs = Knobs::draw(rng),
        // Another simulation seed: same plan, other network timings and client choices.
        6 => plan.seed = rng.gen(),
        // The scenario's own aimed episode: in place of every fault if the scenario runs it
        // alone (mutations had put faults into it), else beside them.
        7 => {
            let aims = catalog::find(&plan.scenario).map(|s| s.aims()).unwrap_or_default();
            let members: Vec<u64> = (1..=plan.members as u64).collect();
            let kinds = FaultKind::ALL.into_iter().collect();
            let episode = aims.draw(rng, &members, &kinds, chaos_ms);
            if aims.alone && !episode.is_empty() {
                faults.clear();
            }
            faults.extend(episode);
        }
        // A fresh fault (and its repair) of a random kind.
        _ => {
            let members: Vec<u64> = (1..=plan.members as u64).collect();
            let kind = *FaultKind::ALL.choose(rng).unwrap_or(&FaultKind::Partition);
            let mix = FaultMix {
                kinds: [kind].into_iter().collect(),
                intensity: 10_000.0 / chaos_ms.max(1) as f64,
            };
            let drawn = FaultPlan::generate(rng, &members, chaos_ms, &mix, &Aims::default());
            faults.extend(drawn.faults);
        }
    }
}

fn retarget(fault: &mut Fault, role: Target) {
    match fault {
        Fault::Isolate { target }
        | Fault::Strand { target }
        | Fault::Crash { target }
        | Fault::Pause { target, .. }
        | Fault::RemoveMember { target } => *target = role,
        Fault::OneWay { from, .. } => *from = role,
        _ => {}
    }
}
