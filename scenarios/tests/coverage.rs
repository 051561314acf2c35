//! Coverage: every probe in `detcd_core::probes` is reached by some seed of a stated sweep, and
//! the search beyond random seeds (`explore`) is reproducible.
//!
//! A probe marks a rare path (a deposed leader asked to read, a snapshot installed under open
//! watchers, ...). If a change to the core, the workloads, the fault plans or the knobs makes one
//! unreachable, the sweeps stop testing that path without any test failing; this one fails
//! instead, naming the probe. Only meaningful in the madsim build.

#![cfg(madsim)]

use detcd_scenarios::explore::{self, ExploreRequest};
use detcd_scenarios::scenario::ScenarioOptions;
use detcd_scenarios::sweep::{self, SweepReport, SweepRequest};
use std::ops::Range;
use std::time::Duration;

/// The sweep that must reach every probe: swarm for breadth, and the scenarios whose paths only
/// they exercise (watch streams, leases, compactions).
const COVERAGE_SWEEP: &[(&str, Range<u64>)] =
    &[("swarm", 100..200), ("watch", 0..20), ("lease", 0..10), ("kv", 0..20)];

fn coverage_sweep() -> SweepReport {
    let mut report = SweepReport::default();
    for (scenario, seeds) in COVERAGE_SWEEP {
        let request = SweepRequest {
            scenarios: vec![scenario.to_string()],
            seeds: seeds.clone(),
            jobs: 2,
            shard: (0, 1),
            options: ScenarioOptions::default(),
            progress: false,
            check_determinism: false,
        };
        report.merge(sweep::sweep(&request).unwrap_or_else(|error| panic!("{error}")));
    }
    report
}

#[test]
fn every_probe_is_reached_by_some_seed_of_the_coverage_sweep() {
    let report = coverage_sweep();
    let unreached = report.unreached_probes();
    assert!(
        unreached.is_empty(),
        "probes no seed reached: {unreached:?}\n{}",
        report.coverage_table().join("\n")
    );
}

fn explore_runs(runs: usize) -> explore::ExploreReport {
    let request = ExploreRequest {
        scenario: "kv".into(),
        seed: 7,
        initial: 4,
        budget: Duration::from_secs(3600),
        max_runs: Some(runs),
        jobs: 2,
        options: ScenarioOptions::default(),
    };
    explore::explore(&request, |_| {}).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn exploration_keeps_plans_that_reach_something_new_and_repeats_itself_exactly() {
    let first = explore_runs(12);
    assert_eq!(first.runs, 12);
    assert!(!first.corpus.is_empty() && first.corpus.len() <= 12);
    assert!(!first.probes.is_empty(), "the runs reached some probe");
    let again = explore_runs(12);
    assert_eq!(first.corpus, again.corpus, "same seed, jobs and runs: the same search");
    assert_eq!(first.features, again.features);
    // Every kept plan replays to a run with the features it was kept for.
    let Some(plan) = first.corpus.last().cloned() else { panic!("no plan kept") };
    let replayed = detcd_scenarios::shrink::run_plan(&plan).unwrap_or_else(|e| panic!("{e}"));
    assert!(explore::features(&replayed).iter().all(|feature| first.features.contains(feature)));
}
