//! Power of exploration against random seeds, per planted bug, on the same number of runs.
//!
//! `detcd-sim power --explore` runs, for every planted bug, the coverage-guided search
//! ([`crate::explore`]) for as many runs as the random measurement had seeds (a quarter of them
//! plain seeds to start its corpus, the rest mutations), and reports how many of its runs caught
//! the bug and at which run it first did, beside the random sweep's figures. Counted as in
//! [`crate::power`]: a run counts only when one of the bug's own checkers flags it. Runs, not
//! seconds, are the budget, so the comparison is the same on every machine.

use crate::explore::{explore, ExploreRequest};
use crate::power::{PlantedCase, Power};
use crate::scenario::ScenarioOptions;
use std::ops::Range;
use std::time::Duration;

/// What the search did for one bug.
#[derive(Debug, Clone)]
pub struct Explored {
    pub runs: usize,
    /// Runs whose first failing checker is one of the bug's own.
    pub caught: usize,
    /// 1-based index of the first such run.
    pub first: Option<usize>,
}

/// Explores `case`'s scenario with its bug planted, for `seeds.len()` runs from `seeds.start`.
pub fn explore_case(
    case: &PlantedCase,
    seeds: &Range<u64>,
    options: &ScenarioOptions,
    jobs: usize,
) -> Result<Explored, String> {
    let runs = seeds.clone().count();
    let request = ExploreRequest {
        scenario: case.scenario.to_string(),
        seed: seeds.start,
        initial: (runs / 4).max(1),
        budget: Duration::MAX,
        max_runs: Some(runs),
        jobs,
        options: case.options(options),
    };
    let report = explore(&request, |_| {})?;
    let own: Vec<usize> = report
        .failures
        .iter()
        .filter(|found| case.checkers.iter().any(|checker| found.why.starts_with(checker)))
        .map(|found| found.run)
        .collect();
    Ok(Explored { runs: report.runs, caught: own.len(), first: own.first().copied() })
}

/// The table `detcd-sim power --explore` prints: random seeds and exploration side by side.
pub fn table(powers: &[Power], explored: &[Explored], seeds: &Range<u64>) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<24} {:<12} {:>15} {:>11}   {:>15} {:>10}   (seeds {}..{} / as many explored runs)",
        "bug",
        "scenario",
        "random caught",
        "first seed",
        "explore caught",
        "first run",
        seeds.start,
        seeds.end
    )];
    for (power, explored) in powers.iter().zip(explored) {
        let first_seed = power.first().map_or("-".to_string(), |seed| seed.to_string());
        let first_run = explored.first.map_or("-".to_string(), |run| run.to_string());
        lines.push(format!(
            "{:<24} {:<12} {:>8}/{:<6} {:>11}   {:>8}/{:<6} {:>10}",
            power.bug.name(),
            power.shape(),
            power.caught.len(),
            power.seeds,
            first_seed,
            explored.caught,
            explored.runs,
            first_run
        ));
    }
    lines
}
