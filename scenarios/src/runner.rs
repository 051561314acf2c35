//! Running one scenario for one seed: derive the run from the seed, simulate, judge.
//!
//! Every scenario-level choice (cluster size and client count in swarm mode, the fault plan) is
//! drawn from a `ChaCha8Rng` seeded by the seed alone; the simulation itself is seeded by the same
//! seed. So `run <scenario> --seed N` with the same flags always does the same thing, and a
//! failing run prints the exact command that replays it.

use crate::catalog;
use crate::scenario::{CheckerVerdict, Scenario, ScenarioOptions};
use detcd_core::plant::Bug;
use detcd_sim::invariants::RAFT;
use detcd_sim::knobs::Knobs;
use detcd_sim::plan::{Aims, FaultMix, FaultPlan};
use detcd_sim::run::{RunConfig, RunResult};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A finished scenario run and its verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRun {
    /// What was asked for (`swarm` stays `swarm`).
    pub requested: String,
    /// What actually ran.
    pub scenario: String,
    pub seed: u64,
    pub members: usize,
    pub clients: usize,
    pub chaos_secs: f64,
    pub buggify: bool,
    pub plan: FaultPlan,
    pub knobs: Knobs,
    pub options: ScenarioOptions,
    pub verdicts: Vec<CheckerVerdict>,
    /// Coverage probes this run hit, by name, with their hit counts.
    pub probes: BTreeMap<String, u64>,
    pub passed: bool,
    pub ops: usize,
    pub faults: Vec<String>,
    pub trace_hash: String,
    pub sim_secs: f64,
    pub real_secs: f64,
    /// CPU seconds the run and its checks used (the simulating thread and this one): the
    /// steadier figure on a busy machine, where `real_secs` also counts waiting for a core.
    pub cpu_secs: f64,
    #[serde(skip)]
    pub result: Option<RunResult>,
}

impl ScenarioRun {
    /// "checker: summary" of the first verdict that did not pass, if any.
    pub fn first_failure(&self) -> Option<String> {
        self.verdicts.iter().find(|v| v.failed()).map(|v| format!("{}: {}", v.checker, v.summary))
    }
}

/// The concrete shape of a run, decided from the seed and the options.
struct Shape {
    scenario: Box<dyn Scenario>,
    config: RunConfig,
}

fn scenario_rng(seed: u64, name: &str) -> ChaCha8Rng {
    let salt = name.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    ChaCha8Rng::seed_from_u64(seed ^ salt.rotate_left(17))
}

fn shape(requested: &str, seed: u64, options: &ScenarioOptions) -> Result<Shape, String> {
    let mut rng = scenario_rng(seed, requested);
    let swarm = requested == "swarm";
    let scenario = if swarm {
        let all = catalog::swarm();
        let index = rng.gen_range(0..all.len());
        all.into_iter().nth(index).ok_or("empty catalog")?
    } else {
        catalog::find(requested).ok_or_else(|| {
            format!("unknown scenario '{requested}'; known: {}", catalog::names().join(", "))
        })?
    };
    let mut config = RunConfig::new(seed);
    config.members = options.members.unwrap_or(if swarm {
        [1, 3, 3, 3, 5, 5, 7][rng.gen_range(0..7)]
    } else {
        3
    });
    config.clients = options.clients.unwrap_or(if swarm { rng.gen_range(1..=12) } else { 4 });
    config.chaos = options.duration.unwrap_or(Duration::from_secs(10));
    config.buggify = options.buggify || (swarm && rng.gen_bool(0.5));
    if !(1..=7).contains(&config.members) {
        return Err(format!("--nodes must be 1 to 7, not {}", config.members));
    }
    config.record_events = scenario.records_events();
    config.plant = options.plant.as_deref().map(Bug::parse).transpose()?;
    config.max_ops = options.max_ops;
    config.quiet = options.quiet.clone();
    let aims = if swarm { Aims::default() } else { scenario.aims() };
    config.plan = plan(&mut rng, &config, options, swarm, &aims);
    // Their own stream, so drawing them leaves every other choice of the seed as it was.
    config.knobs = match &options.knobs {
        Some(knobs) => knobs.clone(),
        None if swarm => Knobs::draw(&mut scenario_rng(seed, "knobs")),
        None => scenario.knobs(&mut scenario_rng(seed, "knobs")),
    };
    Ok(Shape { scenario, config })
}

fn plan(
    rng: &mut ChaCha8Rng,
    config: &RunConfig,
    options: &ScenarioOptions,
    swarm: bool,
    aims: &Aims,
) -> FaultPlan {
    if let Some(plan) = &options.plan {
        return plan.clone();
    }
    if options.no_faults {
        return FaultPlan::default();
    }
    let mut mix = if swarm { FaultMix::swarm(rng) } else { FaultMix::seeded_default(rng) };
    if let Some(kinds) = &options.faults {
        mix.kinds = kinds.clone();
    }
    if let Some(intensity) = options.intensity {
        mix.intensity = intensity;
    }
    let members: Vec<u64> = (1..=config.members as u64).collect();
    FaultPlan::generate(rng, &members, config.chaos.as_millis() as u64, &mix, aims)
}

/// The scenario `requested` resolves to for `seed` (what `swarm` picks), without running it.
pub fn resolve(requested: &str, seed: u64, options: &ScenarioOptions) -> Result<String, String> {
    shape(requested, seed, options).map(|shape| shape.scenario.name().to_string())
}

/// How to run: print the trace live, and/or run it again to prove it deterministic.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    pub echo: bool,
    pub check_determinism: bool,
}

/// Runs `requested` (a scenario name or `swarm`) for `seed`.
pub fn run(
    requested: &str,
    seed: u64,
    options: &ScenarioOptions,
    mode: Mode,
) -> Result<ScenarioRun, String> {
    let Shape { scenario, mut config } = shape(requested, seed, options)?;
    config.echo_trace = mode.echo;
    let started = std::time::Instant::now();
    let cpu_started = detcd_sim::thread_cpu_time();
    // The scenario sees the plan that will run, drawn or given: a workload that sizes itself to
    // the faults (lease TTLs when clocks may move) must size itself to these.
    let planned = ScenarioOptions { plan: Some(config.plan.clone()), ..options.clone() };
    let workload = scenario.workload(&planned);
    let result = if mode.check_determinism {
        detcd_sim::check_run_determinism(config.clone(), workload)?
    } else {
        detcd_sim::simulate(config.clone(), workload)
    };
    let mut verdicts = scenario.check(&result, &planned);
    verdicts.extend(simulator_verdicts(&result));
    let passed = verdicts.iter().all(|v| !v.failed());
    let cpu_secs =
        (detcd_sim::thread_cpu_time().saturating_sub(cpu_started) + result.cpu_time).as_secs_f64();
    Ok(ScenarioRun {
        requested: requested.to_string(),
        scenario: scenario.name().to_string(),
        seed,
        members: config.members,
        clients: config.clients,
        chaos_secs: config.chaos.as_secs_f64(),
        buggify: config.buggify,
        plan: config.plan,
        knobs: config.knobs,
        options: options.clone(),
        verdicts,
        probes: result
            .probes
            .iter()
            .filter(|(_, hits)| *hits > 0)
            .map(|(probe, hits)| (probe.name().to_string(), *hits))
            .collect(),
        passed,
        ops: result.history.len(),
        faults: result.faults.clone(),
        trace_hash: format!("{:016x}", result.trace_hash),
        sim_secs: result.sim_time.as_secs_f64(),
        real_secs: started.elapsed().as_secs_f64(),
        cpu_secs,
        result: Some(result),
    })
}

/// The simulator's own checks, one verdict each, in this order; `panic` appears only when the
/// run panicked.
pub const SIMULATOR_CHECKS: [&str; 5] = [RAFT, "liveness", "recovery", "membership", "convergence"];

/// What the simulator itself saw: raft invariants, liveness after healing, every member back
/// and caught up, one membership, equal key spaces; and a panic, if the run raised one.
fn simulator_verdicts(result: &RunResult) -> Vec<CheckerVerdict> {
    let panicked = result.violations.iter().any(|v| v.label == "panic");
    let labels = SIMULATOR_CHECKS.iter().copied().chain(panicked.then_some("panic"));
    labels
        .map(|label| {
            let texts: Vec<&str> = result
                .violations
                .iter()
                .filter(|v| v.label == label)
                .map(|v| v.text.as_str())
                .collect();
            let summary = match texts.first() {
                None => "ok".to_string(),
                Some(first) => format!("VIOLATED: {first}"),
            };
            CheckerVerdict {
                checker: label.into(),
                ok: Some(texts.is_empty()),
                seconds: 0.0,
                summary,
                details: serde_json::json!(texts),
            }
        })
        .collect()
}

/// The command that replays this run exactly.
pub fn replay_command(run: &ScenarioRun) -> String {
    let mut command = format!("cargo sim run {} --seed {}", run.requested, run.seed);
    let options = &run.options;
    if let Some(members) = options.members {
        command += &format!(" --nodes {members}");
    }
    if let Some(clients) = options.clients {
        command += &format!(" --clients {clients}");
    }
    if let Some(duration) = options.duration {
        command += &format!(" --duration {}", duration.as_secs_f64());
    }
    if let Some(intensity) = options.intensity {
        command += &format!(" --intensity {intensity}");
    }
    if let Some(kinds) = &options.faults {
        let names: Vec<String> = kinds
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            })
            .collect();
        command += &format!(" --faults {}", names.join(","));
    }
    if options.no_faults {
        command += " --no-faults";
    }
    if options.buggify {
        command += " --buggify";
    }
    if let Some(bug) = &options.plant {
        command += &format!(" --plant {bug}");
    }
    if let Some(max_ops) = options.max_ops {
        command += &format!(" --max-ops {max_ops}");
    }
    if options.knobs == Some(Knobs::etcd()) {
        command += " --etcd-knobs";
    }
    command
}

/// The short terminal summary of a run.
pub fn summary(run: &ScenarioRun) -> Vec<String> {
    let faults = if run.faults.is_empty() { "none".to_string() } else { run.faults.join(", ") };
    let buggify = if run.buggify { " buggify" } else { "" };
    let plant = run.options.plant.as_ref().map_or(String::new(), |bug| format!(" plant={bug}"));
    let head = format!(
        "{} seed={} nodes={} clients={} sim={:.1}s ops={}{buggify}{plant} faults=[{faults}]",
        run.scenario, run.seed, run.members, run.clients, run.sim_secs, run.ops
    );
    let verdicts: Vec<String> =
        run.verdicts.iter().map(|v| format!("{}: {}", v.checker, v.summary)).collect();
    let mut lines = vec![head, format!("knobs: {}", run.knobs.describe())];
    lines.extend(verdicts);
    lines.push(format!("trace {} ({:.2}s real)", run.trace_hash, run.real_secs));
    lines
}
