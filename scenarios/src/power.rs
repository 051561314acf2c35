//! Testbed power as a tracked figure: for every planted bug, the share of its scenario's seeds
//! that catch it, and the first seed that does (`detcd-sim power`).
//!
//! A checker that never fails proves nothing, and one that fails once in a hundred seeds proves
//! little more: what a user can afford is a few seeds per commit. So each planted bug
//! (`detcd_core::plant`) is paired with the scenario meant to catch it and the checkers that may
//! rightly flag it; [`measure`] runs a stated seed range of that scenario with the bug planted
//! and counts the seeds flagged by one of those checkers. A seed flagged only by another checker
//! does not count: it found something, but not what this bug breaks.

use crate::runner::{self, Mode};
use crate::scenario::ScenarioOptions;
use detcd_core::plant::Bug;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Where a planted bug is looked for, and which checkers count as catching it.
#[derive(Debug, Clone, Copy)]
pub struct PlantedCase {
    pub bug: Bug,
    pub scenario: &'static str,
    pub checkers: &'static [&'static str],
    /// The cluster size the bug is looked for in, over the options' (`None`: theirs). Some bugs
    /// only show in one shape: a lost acknowledged append needs a one-member cluster, where no
    /// other replica still holds it.
    pub members: Option<usize>,
}

impl PlantedCase {
    /// The options a seed of this case runs with: `options`, the bug planted, the case's shape.
    pub fn options(&self, options: &ScenarioOptions) -> ScenarioOptions {
        ScenarioOptions {
            plant: Some(self.bug.name().to_string()),
            members: self.members.or(options.members),
            ..options.clone()
        }
    }
}

const RAFT_SIDE: &[&str] =
    &["raft invariants", "liveness", "recovery", "convergence", "linearizable (register model)"];
const KV: &[&str] = &["linearizable (etcd model)", crate::past_reads::CHECKER];
const LEASE: &[&str] = &["lease"];
const WATCH: &[&str] = &["watch"];
const BANK: &[&str] = &["bank (sum + linearizable)"];
const LOCK: &[&str] = &["lock (fenced)"];
const AUTH: &[&str] = &[crate::auth::CHECKER];

/// Every planted bug's case, in `Bug::ALL` order.
pub fn cases() -> Vec<PlantedCase> {
    Bug::ALL.into_iter().map(case).collect()
}

/// The case of one bug.
pub fn case(bug: Bug) -> PlantedCase {
    let (scenario, checkers) = match bug {
        Bug::StaleRead
        | Bug::RevisionSkip
        | Bug::CompactOffByOne
        | Bug::CompactedRead
        | Bug::RetriedReadLocal => ("kv", KV),
        // Watchers resume from past revisions on whichever member they reach, one restored from
        // its snapshot among them: the forgotten compaction shows as a gap in their catch-up.
        Bug::ForgottenCompaction => ("watch", WATCH),
        Bug::AckBeforeDurable | Bug::GroupCommitOverreach => ("register", RAFT_SIDE),
        Bug::FollowerLeaseExpiry
        | Bug::NoLeaseRefresh
        | Bug::UnconfirmedKeepAlive
        | Bug::PartialRevoke => ("lease", LEASE),
        Bug::WatchSkip | Bug::LostDeleteEvent | Bug::SnapshotWatchGap => ("watch", WATCH),
        Bug::TornTxn => ("bank", BANK),
        Bug::LockToExpiredWaiter => ("lock", LOCK),
        Bug::TxnElseUnchecked => ("auth", AUTH),
    };
    let members = match bug {
        Bug::GroupCommitOverreach => Some(1),
        _ => None,
    };
    PlantedCase { bug, scenario, checkers, members }
}

/// One bug's detection over a seed range.
#[derive(Debug, Clone, PartialEq)]
pub struct Power {
    pub bug: Bug,
    pub scenario: &'static str,
    /// The case's cluster size, when it sets one.
    pub members: Option<usize>,
    pub seeds: usize,
    /// Seeds flagged by one of the case's checkers, in order.
    pub caught: Vec<u64>,
}

impl Power {
    /// The scenario, with the cluster size when the case fixes it (`register n=1`).
    pub fn shape(&self) -> String {
        match self.members {
            Some(members) => format!("{} n={members}", self.scenario),
            None => self.scenario.to_string(),
        }
    }

    pub fn rate(&self) -> f64 {
        if self.seeds == 0 {
            0.0
        } else {
            self.caught.len() as f64 / self.seeds as f64
        }
    }

    pub fn first(&self) -> Option<u64> {
        self.caught.first().copied()
    }
}

/// Whether `seed` of `case`'s scenario, with its bug planted, is flagged by one of its checkers.
pub fn catches(case: &PlantedCase, seed: u64, options: &ScenarioOptions) -> Result<bool, String> {
    let run = runner::run(case.scenario, seed, &case.options(options), Mode::default())?;
    Ok(run.verdicts.iter().any(|v| v.failed() && case.checkers.contains(&v.checker.as_str())))
}

/// Runs every case over `seeds` on `jobs` threads.
pub fn measure(
    cases: &[PlantedCase],
    seeds: Range<u64>,
    options: &ScenarioOptions,
    jobs: usize,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<Vec<Power>, String> {
    let work: Vec<(usize, u64)> =
        (0..cases.len()).flat_map(|c| seeds.clone().map(move |seed| (c, seed))).collect();
    let caught = Mutex::new(vec![Vec::new(); cases.len()]);
    let error = Mutex::new(None);
    let next = AtomicUsize::new(0);
    let done = Mutex::new((0usize, &mut progress));
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(c, seed)) = work.get(index) else { break };
                match catches(&cases[c], seed, options) {
                    Ok(true) => caught.lock().unwrap_or_else(|p| p.into_inner())[c].push(seed),
                    Ok(false) => {}
                    Err(message) => {
                        *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
                        break;
                    }
                }
                let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
                done.0 += 1;
                let count = done.0;
                (done.1)(count, work.len());
            });
        }
    });
    if let Some(message) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(message);
    }
    let caught = caught.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(cases
        .iter()
        .zip(caught)
        .map(|(case, mut seeds_caught)| {
            seeds_caught.sort_unstable();
            Power {
                bug: case.bug,
                scenario: case.scenario,
                members: case.members,
                seeds: seeds.clone().count(),
                caught: seeds_caught,
            }
        })
        .collect())
}

/// The table `detcd-sim power` prints.
pub fn table(powers: &[Power], seeds: &Range<u64>) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<24} {:<12} {:>9} {:>7} {:>10}   (seeds {}..{})",
        "bug", "scenario", "caught", "rate", "first seed", seeds.start, seeds.end
    )];
    for power in powers {
        let first = power.first().map_or("-".to_string(), |seed| seed.to_string());
        lines.push(format!(
            "{:<24} {:<12} {:>4}/{:<4} {:>6.0}% {:>10}",
            power.bug.name(),
            power.shape(),
            power.caught.len(),
            power.seeds,
            power.rate() * 100.0,
            first
        ));
    }
    lines
}
