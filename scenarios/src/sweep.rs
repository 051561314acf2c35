//! Sweeping many seeds: in parallel, sharded across machines, with a progress bar and a corpus of
//! failing seeds.
//!
//! The work is the list of (scenario, seed) pairs; `--shard K/N` keeps the pairs whose position is
//! K modulo N, so N machines (CI matrix jobs, a Kubernetes Indexed Job) split one sweep with no
//! overlap and `merge` adds their reports up. Failing seeds are appended to the corpus file as
//! the exact commands that replay them, and their artifacts are written.

use crate::artifacts::{self, REPORT_DIR};
use crate::runner::{self, ScenarioRun};
use crate::scenario::ScenarioOptions;
use detcd_core::probes::Probe;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub const CORPUS: &str = "target/detcd-reports/corpus.txt";

pub struct SweepRequest {
    pub scenarios: Vec<String>,
    pub seeds: Range<u64>,
    pub jobs: usize,
    /// (K, N): this machine runs the pairs at positions = K mod N.
    pub shard: (usize, usize),
    pub options: ScenarioOptions,
    pub progress: bool,
    pub check_determinism: bool,
}

/// Per-scenario totals.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ScenarioTotals {
    pub seeds: usize,
    pub failures: usize,
    pub ops: usize,
    pub sim_secs: f64,
    pub real_secs: f64,
    /// CPU seconds of the runs and their checks (reports written before it was kept: zero).
    #[serde(default)]
    pub cpu_secs: f64,
    /// checker -> (ok, violated, unknown)
    pub verdicts: BTreeMap<String, (usize, usize, usize)>,
}

/// One coverage probe over a sweep.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct ProbeTotals {
    /// Seeds that hit it at least once.
    pub seeds: usize,
    /// Hits over all seeds.
    pub hits: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailedSeed {
    pub scenario: String,
    pub seed: u64,
    pub replay: String,
    pub why: String,
}

/// What a sweep (or a merge of shards) found.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SweepReport {
    pub scenarios: BTreeMap<String, ScenarioTotals>,
    pub failures: Vec<FailedSeed>,
    pub wall_secs: f64,
    /// Every coverage probe (`detcd_core::probes`), reached or not.
    #[serde(default)]
    pub probes: BTreeMap<String, ProbeTotals>,
}

impl SweepReport {
    pub fn seeds(&self) -> usize {
        self.scenarios.values().map(|t| t.seeds).sum()
    }

    pub fn failure_count(&self) -> usize {
        self.failures.len()
    }

    pub fn seeds_per_minute(&self) -> f64 {
        if self.wall_secs > 0.0 {
            self.seeds() as f64 * 60.0 / self.wall_secs
        } else {
            0.0
        }
    }

    fn add(&mut self, run: &ScenarioRun) {
        for probe in Probe::ALL {
            let totals = self.probes.entry(probe.name().to_string()).or_default();
            if let Some(hits) = run.probes.get(probe.name()) {
                totals.seeds += 1;
                totals.hits += hits;
            }
        }
        let totals = self.scenarios.entry(run.requested.clone()).or_default();
        totals.seeds += 1;
        totals.ops += run.ops;
        totals.sim_secs += run.sim_secs;
        totals.real_secs += run.real_secs;
        totals.cpu_secs += run.cpu_secs;
        for verdict in &run.verdicts {
            let counts = totals.verdicts.entry(verdict.checker.clone()).or_default();
            match verdict.ok {
                Some(true) => counts.0 += 1,
                Some(false) => counts.1 += 1,
                None => counts.2 += 1,
            }
        }
        if !run.passed {
            totals.failures += 1;
            let why = run.first_failure().unwrap_or_default();
            self.failures.push(FailedSeed {
                scenario: run.requested.clone(),
                seed: run.seed,
                replay: runner::replay_command(run),
                why,
            });
        }
    }

    /// Adds another shard's report to this one.
    pub fn merge(&mut self, other: SweepReport) {
        for (name, theirs) in other.scenarios {
            let ours = self.scenarios.entry(name).or_default();
            ours.seeds += theirs.seeds;
            ours.failures += theirs.failures;
            ours.ops += theirs.ops;
            ours.sim_secs += theirs.sim_secs;
            ours.real_secs += theirs.real_secs;
            ours.cpu_secs += theirs.cpu_secs;
            for (checker, (ok, bad, unknown)) in theirs.verdicts {
                let counts = ours.verdicts.entry(checker).or_default();
                counts.0 += ok;
                counts.1 += bad;
                counts.2 += unknown;
            }
        }
        for (probe, theirs) in other.probes {
            let ours = self.probes.entry(probe).or_default();
            ours.seeds += theirs.seeds;
            ours.hits += theirs.hits;
        }
        self.failures.extend(other.failures);
        self.failures.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
        self.wall_secs = self.wall_secs.max(other.wall_secs);
    }

    /// The throughput table (`sweep --bench`): per scenario, seeds per minute and simulated time
    /// per real second, both per core. Per core means per second the runs themselves took, so
    /// the figures do not depend on how many jobs ran side by side: once by each run's wall
    /// clock, once by its CPU time (the steadier of the two on a machine shared with other
    /// work, where the wall clock also counts waiting for a core). Then the sweep's own rate.
    pub fn bench_table(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{:<16} {:>7} {:>15} {:>14} {:>14} {:>13}",
            "scenario", "seeds", "seeds/min/core", "sim/real/core", "seeds/cpu-min", "sim/cpu"
        )];
        let row = |name: &str, seeds: usize, sim: f64, real: f64, cpu: f64| {
            let per = |secs: f64| {
                if secs > 0.0 {
                    (seeds as f64 * 60.0 / secs, sim / secs)
                } else {
                    (0.0, 0.0)
                }
            };
            let ((real_rate, real_ratio), (cpu_rate, cpu_ratio)) = (per(real), per(cpu));
            format!(
                "{name:<16} {seeds:>7} {real_rate:>15.0} {real_ratio:>13.0}x {cpu_rate:>14.0} {cpu_ratio:>12.0}x"
            )
        };
        for (name, t) in &self.scenarios {
            lines.push(row(name, t.seeds, t.sim_secs, t.real_secs, t.cpu_secs));
        }
        let sum = |f: fn(&ScenarioTotals) -> f64| self.scenarios.values().map(f).sum::<f64>();
        let (sim, real, cpu) = (sum(|t| t.sim_secs), sum(|t| t.real_secs), sum(|t| t.cpu_secs));
        lines.push(row("all", self.seeds(), sim, real, cpu));
        lines.push(format!(
            "bench: {:.0} seeds/min, simulated/real {:.0}x per core",
            self.seeds_per_minute(),
            if real > 0.0 { sim / real } else { 0.0 }
        ));
        lines
    }

    /// The probes no seed reached.
    pub fn unreached_probes(&self) -> Vec<&str> {
        self.probes.iter().filter(|(_, t)| t.seeds == 0).map(|(name, _)| name.as_str()).collect()
    }

    /// The coverage table: per probe, the seeds that reached it (`sweep --coverage`).
    pub fn coverage_table(&self) -> Vec<String> {
        let seeds = self.seeds().max(1);
        let mut lines =
            vec![format!("{:<36} {:>7} {:>7} {:>9}", "probe", "seeds", "share", "hits")];
        for probe in Probe::ALL {
            let totals = self.probes.get(probe.name()).copied().unwrap_or_default();
            let flag = if totals.seeds == 0 { "  NEVER REACHED" } else { "" };
            lines.push(format!(
                "{:<36} {:>7} {:>6.0}% {:>9}{flag}",
                probe.name(),
                totals.seeds,
                totals.seeds as f64 * 100.0 / seeds as f64,
                totals.hits
            ));
        }
        let unreached = self.unreached_probes().len();
        lines.push(format!(
            "{} of {} probes reached",
            Probe::ALL.len() - unreached,
            Probe::ALL.len()
        ));
        lines
    }

    /// The per-scenario table.
    pub fn table(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{:<16} {:>7} {:>8} {:>9} {:>10} {:>9}",
            "scenario", "seeds", "failures", "ops/seed", "sim s/seed", "sim/real"
        )];
        for (name, t) in &self.scenarios {
            let per = |x: f64| if t.seeds > 0 { x / t.seeds as f64 } else { 0.0 };
            let ratio = if t.real_secs > 0.0 { t.sim_secs / t.real_secs } else { 0.0 };
            lines.push(format!(
                "{name:<16} {:>7} {:>8} {:>9.0} {:>10.1} {:>8.0}x",
                t.seeds,
                t.failures,
                per(t.ops as f64),
                per(t.sim_secs),
                ratio
            ));
        }
        lines.push(format!(
            "{} seeds, {} failing, {:.1}s wall, {:.0} seeds/min",
            self.seeds(),
            self.failure_count(),
            self.wall_secs,
            self.seeds_per_minute()
        ));
        lines
    }
}

fn work(request: &SweepRequest) -> Vec<(String, u64)> {
    let (shard, shards) = request.shard;
    let pairs = request
        .seeds
        .clone()
        .flat_map(|seed| request.scenarios.iter().map(move |s| (s.clone(), seed)));
    pairs.enumerate().filter(|(i, _)| i % shards.max(1) == shard).map(|(_, pair)| pair).collect()
}

fn progress_bar(total: usize, shown: bool) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    let style =
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds  {msg}  [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Runs the sweep; failing seeds get artifacts and a corpus line.
pub fn sweep(request: &SweepRequest) -> Result<SweepReport, String> {
    let pairs = work(request);
    let bar = progress_bar(pairs.len(), request.progress);
    let report = Mutex::new(SweepReport::default());
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let error = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..request.jobs.max(1) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some((scenario, seed)) = pairs.get(index) else { break };
                let mode =
                    runner::Mode { echo: false, check_determinism: request.check_determinism };
                match runner::run(scenario, *seed, &request.options, mode) {
                    Ok(run) => record(&run, &report, &bar, started),
                    Err(message) => {
                        *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
                        break;
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(message) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(message);
    }
    let mut report = report.into_inner().unwrap_or_else(|p| p.into_inner());
    report.wall_secs = started.elapsed().as_secs_f64();
    report.failures.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    Ok(report)
}

fn record(run: &ScenarioRun, report: &Mutex<SweepReport>, bar: &ProgressBar, started: Instant) {
    if !run.passed {
        let _ = artifacts::write(run);
        let _ = crate::report_data::write(run, None);
        let _ = append_corpus(run);
    }
    let mut report = report.lock().unwrap_or_else(|p| p.into_inner());
    report.add(run);
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let rate = if minutes > 0.0 { report.seeds() as f64 / minutes } else { 0.0 };
    bar.set_message(format!("failures: {}  seeds/min: {rate:.0}", report.failure_count()));
    bar.inc(1);
}

fn append_corpus(run: &ScenarioRun) -> std::io::Result<()> {
    std::fs::create_dir_all(REPORT_DIR)?;
    let mut corpus = std::fs::OpenOptions::new().create(true).append(true).open(CORPUS)?;
    writeln!(corpus, "{}", runner::replay_command(run))
}
