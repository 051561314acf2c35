//! The simulator commands of `detcd-sim` (only in the `--cfg madsim` build).

use super::{
    BenchArgs, ExploreArgs, ListArgs, MergeArgs, PowerArgs, ReplayArgs, RunArgs, ShapeArgs,
    ShrinkArgs, SweepArgs,
};
use detcd_core::plant::Bug;
use detcd_scenarios::plan_file::ReplayPlan;
use detcd_scenarios::runner::ScenarioRun;
use detcd_scenarios::runner::{self, Mode};
use detcd_scenarios::scenario::ScenarioOptions;
use detcd_scenarios::sweep::{self, SweepReport, SweepRequest, CORPUS};
use detcd_scenarios::{artifacts, catalog, report_data, shrink as shrinker};
use detcd_sim::knobs::Knobs;
use detcd_sim::plan::FaultKind;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

pub fn list(args: ListArgs) -> i32 {
    if !args.plants {
        for scenario in catalog::all() {
            println!("{:<16} {}", scenario.name(), scenario.description());
        }
        println!(
            "{:<16} a random scenario, cluster size, client count and fault mix per seed",
            "swarm"
        );
        println!("\nplanted bugs (--plant <bug>):");
    }
    for bug in Bug::ALL {
        println!("{:<24} {}", bug.name(), bug.description());
    }
    0
}

fn options(shape: &ShapeArgs) -> Result<ScenarioOptions, String> {
    let faults = match &shape.faults {
        None => None,
        Some(names) => {
            Some(names.iter().map(|name| fault_kind(name)).collect::<Result<BTreeSet<_>, _>>()?)
        }
    };
    if let Some(duration) = shape.duration {
        if !(duration.is_finite() && duration > 0.0 && duration <= 3600.0) {
            return Err(format!("--duration must be between 0 and 3600 seconds, not {duration}"));
        }
    }
    let plant = shape.plant.as_deref().map(Bug::parse).transpose()?;
    Ok(ScenarioOptions {
        members: shape.nodes,
        clients: shape.clients,
        duration: shape.duration.map(Duration::from_secs_f64),
        intensity: shape.intensity,
        faults,
        no_faults: shape.no_faults,
        buggify: shape.buggify,
        plant: plant.map(|bug| bug.name().to_string()),
        plan: None,
        max_ops: shape.max_ops.map(|ops| ops as usize),
        quiet: Vec::new(),
        knobs: shape.etcd_knobs.then(Knobs::etcd),
    })
}

fn fault_kind(name: &str) -> Result<FaultKind, String> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        format!("unknown fault family '{name}'; known: partition, crash, pause, clock, disk, network, membership")
    })
}

pub fn run(args: RunArgs) -> i32 {
    let (scenario, seed, options, replay) = match what_to_run(&args) {
        Ok(what) => what,
        Err(message) => return usage(&message),
    };
    let mode = Mode { echo: false, check_determinism: args.check_determinism };
    let run = match runner::run(&scenario, seed, &options, mode) {
        Ok(run) => run,
        Err(message) => return usage(&message),
    };
    for line in runner::summary(&run) {
        println!("{line}");
    }
    write_files(&run, replay.as_deref());
    if run.passed {
        0
    } else {
        let shrink = match &args.plan {
            Some(path) => format!("cargo sim shrink --plan {path}"),
            None => format!("cargo sim shrink {} --seed {}", run.requested, run.seed),
        };
        let replay = replay.unwrap_or_else(|| runner::replay_command(&run));
        println!("FAILED; replay with: {replay}");
        println!("shrink with: {shrink}");
        1
    }
}

/// The scenario, seed and options of `run`, from a plan file or the command line; a plan file
/// also gives the replay command.
fn what_to_run(args: &RunArgs) -> Result<(String, u64, ScenarioOptions, Option<String>), String> {
    if let Some(path) = &args.plan {
        let plan = ReplayPlan::load(Path::new(path))?;
        let replay = format!("cargo sim run --plan {path}");
        return Ok((plan.scenario.clone(), plan.seed, plan.options()?, Some(replay)));
    }
    let (Some(scenario), Some(seed)) = (&args.scenario, args.seed) else {
        return Err("give a scenario and --seed, or --plan <file>".into());
    };
    Ok((scenario.clone(), seed, options(&args.shape)?, None))
}

/// The run's files: trace, history, result, and the report (page, JSON, terminal lines).
fn write_files(run: &ScenarioRun, replay: Option<&str>) {
    match artifacts::write(run) {
        Ok(stem) => println!("files: {}.{{trace,history.jsonl,json,report.json}}", stem.display()),
        Err(error) => eprintln!("could not write the run's files: {error}"),
    }
    match report_data::write(run, replay) {
        Ok((report, page)) => {
            for line in detcd_report::summary::lines(&report) {
                println!("{line}");
            }
            println!("report: {}", page.display());
        }
        Err(error) => eprintln!("could not write the run's report: {error}"),
    }
}

pub fn shrink(args: ShrinkArgs) -> i32 {
    let original = match shrink_start(&args) {
        Ok(plan) => plan,
        Err(message) => return usage(&message),
    };
    let mut log = |line: &str| println!("{line}");
    let shrunk = match shrinker::shrink(original, args.max_runs.max(1), &mut log) {
        Ok(shrunk) => shrunk,
        Err(message) => return usage(&message),
    };
    let minimal = &shrunk.minimal;
    let path = Path::new(artifacts::REPORT_DIR)
        .join(format!("{}-{}.min.plan.json", minimal.scenario, minimal.seed));
    println!("shrunk in {} runs; still fails with {}", shrunk.runs, shrunk.checker);
    println!("  before: {}, {} ops", shrunk.original.size(), shrunk.ops.0);
    println!("  after:  {}, {} ops", minimal.size(), shrunk.ops.1);
    let (loud, quiet) = shrunk.quieted;
    println!("  quiet windows took the operations from {loud} to {quiet}");
    println!("{}", serde_json::to_string_pretty(minimal).unwrap_or_default());
    if let Err(error) = minimal.save(&path) {
        eprintln!("could not write {}: {error}", path.display());
        return 2;
    }
    println!("saved: {}", path.display());
    println!("replay: cargo sim run --plan {}", path.display());
    0
}

/// The plan to shrink: a plan file, or the run of a scenario and seed with the given options.
fn shrink_start(args: &ShrinkArgs) -> Result<ReplayPlan, String> {
    if let Some(path) = &args.plan {
        return ReplayPlan::load(Path::new(path));
    }
    let (Some(scenario), Some(seed)) = (&args.scenario, args.seed) else {
        return Err("give a scenario and --seed, or --plan <file>".into());
    };
    let run = runner::run(scenario, seed, &options(&args.shape)?, Mode::default())?;
    Ok(ReplayPlan::of(&run))
}

pub fn replay(args: ReplayArgs) -> i32 {
    let filter = tracing_filter(&args.log);
    let _ = tracing_subscriber::fmt().with_env_filter(filter).without_time().try_init();
    let options = match options(&args.shape) {
        Ok(options) => options,
        Err(message) => return usage(&message),
    };
    match runner::run(
        &args.scenario,
        args.seed,
        &options,
        Mode { echo: true, check_determinism: false },
    ) {
        Ok(run) => {
            for line in runner::summary(&run) {
                println!("{line}");
            }
            if run.passed {
                0
            } else {
                1
            }
        }
        Err(message) => usage(&message),
    }
}

fn tracing_filter(filter: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
}

fn parse_seeds(text: &str) -> Result<std::ops::Range<u64>, String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("--seeds must look like A..B, not '{text}'"))?;
    let start: u64 = start.trim().parse().map_err(|_| format!("bad seed range start '{start}'"))?;
    let end: u64 = end.trim().parse().map_err(|_| format!("bad seed range end '{end}'"))?;
    if end <= start {
        return Err(format!("empty seed range {text}"));
    }
    Ok(start..end)
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (k, n) =
        text.split_once('/').ok_or_else(|| format!("--shard must look like K/N, not '{text}'"))?;
    let (k, n): (usize, usize) =
        (k.parse().map_err(|_| "bad shard index")?, n.parse().map_err(|_| "bad shard count")?);
    if n == 0 || k >= n {
        return Err(format!("--shard {text}: K must be below N (0-based)"));
    }
    Ok((k, n))
}

pub fn sweep(args: SweepArgs) -> i32 {
    let request = match sweep_request(&args) {
        Ok(request) => request,
        Err(message) => return usage(&message),
    };
    let report = match sweep::sweep(&request) {
        Ok(report) => report,
        Err(message) => return usage(&message),
    };
    print_report(&report, args.bench);
    if args.coverage {
        for line in report.coverage_table() {
            println!("{line}");
        }
    }
    match report_data::write_sweep(&report) {
        Ok(page) => println!("report: {}", page.display()),
        Err(error) => eprintln!("could not write the sweep report: {error}"),
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(error) = std::fs::write(path, json) {
            eprintln!("could not write {path}: {error}");
        }
    }
    if report.failures.is_empty() {
        0
    } else {
        1
    }
}

fn sweep_request(args: &SweepArgs) -> Result<SweepRequest, String> {
    // With no names, every scenario that must pass (not those that demonstrate a failure).
    let scenarios = if args.scenarios.is_empty() {
        catalog::swarm().iter().map(|s| s.name().to_string()).collect()
    } else {
        args.scenarios.clone()
    };
    let known = catalog::names();
    if let Some(unknown) = scenarios.iter().find(|s| !known.contains(&s.as_str())) {
        return Err(format!("unknown scenario '{unknown}'; known: {}", known.join(", ")));
    }
    Ok(SweepRequest {
        scenarios,
        seeds: parse_seeds(&args.seeds)?,
        jobs: args.jobs,
        shard: parse_shard(&args.shard)?,
        options: options(&args.shape)?,
        progress: true,
        check_determinism: args.check_determinism,
    })
}

fn print_report(report: &SweepReport, bench: bool) {
    for line in report.table() {
        println!("{line}");
    }
    for failure in &report.failures {
        println!(
            "FAILED {} seed {}: {}\n  replay: {}",
            failure.scenario, failure.seed, failure.why, failure.replay
        );
    }
    if !report.failures.is_empty() {
        println!("failing seeds appended to {CORPUS}");
    }
    if bench {
        for line in report.bench_table() {
            println!("{line}");
        }
    }
}

pub fn merge(args: MergeArgs) -> i32 {
    let mut merged = SweepReport::default();
    for path in &args.reports {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => return usage(&format!("cannot read {path}: {error}")),
        };
        match serde_json::from_str::<SweepReport>(&text) {
            Ok(report) => merged.merge(report),
            Err(error) => return usage(&format!("{path} is not a sweep report: {error}")),
        }
    }
    print_report(&merged, false);
    if merged.failures.is_empty() {
        0
    } else {
        1
    }
}

fn usage(message: &str) -> i32 {
    eprintln!("detcd-sim: {message}");
    2
}

pub fn bench(args: BenchArgs) -> i32 {
    let raft = detcd_scenarios::bench::raft(3, 10);
    println!(
        "raft: 3 members, 8 writers: {:.0} acknowledged writes per simulated second, simulated/real {:.0}x, simulated/CPU {:.0}x",
        raft.writes_per_sim_second, raft.sim_to_real, raft.sim_to_cpu
    );
    let standard = detcd_scenarios::bench::standard(args.seeds, args.jobs);
    println!(
        "standard run (3 members, 8 clients, 10 s, partition + leader crash, kv + linearizability check): \
         {} seeds on {} jobs: {:.0} seeds/min, simulated/real {:.0}x per core, checking {:.0}% of the time, {} failing",
        standard.seeds, args.jobs, standard.seeds_per_minute, standard.sim_to_real_per_core, standard.check_share * 100.0, standard.failures
    );
    println!(
        "standard run by CPU time: simulated/CPU {:.0}x, {:.0} seeds per CPU-minute",
        standard.sim_to_cpu, standard.seeds_per_cpu_minute
    );
    if standard.failures == 0 {
        0
    } else {
        1
    }
}

pub fn power(args: PowerArgs) -> i32 {
    let seeds = match parse_seeds(&args.seeds) {
        Ok(seeds) => seeds,
        Err(message) => return usage(&message),
    };
    let options = match options(&args.shape) {
        Ok(options) if options.plant.is_some() => {
            return usage("power plants every bug itself: leave --plant out")
        }
        Ok(options) => options,
        Err(message) => return usage(&message),
    };
    let cases = match &args.bugs {
        None => detcd_scenarios::power::cases(),
        Some(names) => {
            match names.iter().map(|name| Bug::parse(name)).collect::<Result<Vec<_>, _>>() {
                Ok(bugs) => bugs.into_iter().map(detcd_scenarios::power::case).collect(),
                Err(message) => return usage(&message),
            }
        }
    };
    let bar = indicatif::ProgressBar::new((cases.len() * seeds.clone().count()) as u64);
    let measured =
        detcd_scenarios::power::measure(&cases, seeds.clone(), &options, args.jobs, |done, _| {
            bar.set_position(done as u64)
        });
    bar.finish_and_clear();
    let powers = match measured {
        Ok(powers) => powers,
        Err(message) => return usage(&message),
    };
    if !args.explore {
        for line in detcd_scenarios::power::table(&powers, &seeds) {
            println!("{line}");
        }
        return 0;
    }
    let mut explored = Vec::new();
    for case in &cases {
        eprintln!("exploring {} ({} runs)", case.bug.name(), seeds.clone().count());
        match detcd_scenarios::explore_power::explore_case(case, &seeds, &options, args.jobs) {
            Ok(found) => explored.push(found),
            Err(message) => return usage(&message),
        }
    }
    for line in detcd_scenarios::explore_power::table(&powers, &explored, &seeds) {
        println!("{line}");
    }
    0
}

/// `90s`, `5m`, `1h` or a plain number of seconds.
fn parse_budget(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, 's')) => (&text[..at], 1.0),
        Some((at, 'm')) => (&text[..at], 60.0),
        Some((at, 'h')) => (&text[..at], 3600.0),
        _ => (text, 1.0),
    };
    match number.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 && value * unit <= 7.0 * 86_400.0 => {
            Ok(Duration::from_secs_f64(value * unit))
        }
        _ => Err(format!("--budget must look like 90s, 5m or 1h, not '{text}'")),
    }
}

pub fn explore(args: ExploreArgs) -> i32 {
    use detcd_scenarios::explore::{self as search, ExploreRequest};
    if args.scenario == "swarm" || catalog::find(&args.scenario).is_none() {
        let known: Vec<&str> = catalog::all().iter().map(|s| s.name()).collect();
        return usage(&format!(
            "explore needs one scenario (not swarm); '{}' is not one of: {}",
            args.scenario,
            known.join(", ")
        ));
    }
    let budget = match parse_budget(&args.budget) {
        Ok(budget) => budget,
        Err(message) => return usage(&message),
    };
    let options = match options(&args.shape) {
        Ok(options) => options,
        Err(message) => return usage(&message),
    };
    let request = ExploreRequest {
        scenario: args.scenario.clone(),
        seed: args.seed,
        initial: args.initial,
        budget,
        max_runs: args.runs,
        jobs: args.jobs,
        options,
    };
    let bar = indicatif::ProgressBar::new_spinner();
    let explored = search::explore(&request, |report| {
        bar.set_message(format!(
            "explore: {} runs, {} probes, {} features, {} failing",
            report.runs,
            report.probes.len(),
            report.features.len(),
            report.failures.len()
        ))
    });
    bar.finish_and_clear();
    let explored = match explored {
        Ok(report) => report,
        Err(message) => return usage(&message),
    };
    println!("{}", explored.line("explore"));
    for (index, found) in explored.failures.iter().enumerate().take(10) {
        let path = Path::new(artifacts::REPORT_DIR)
            .join(format!("explore-{}-{}-{index}.plan.json", args.scenario, args.seed));
        match found.plan.save(&path) {
            Ok(()) => println!(
                "FAILED run {} ({}): replay with: cargo sim run --plan {}",
                found.run,
                found.why.chars().take(100).collect::<String>(),
                path.display()
            ),
            Err(error) => eprintln!("could not write {}: {error}", path.display()),
        }
    }
    if args.compare {
        let bar = indicatif::ProgressBar::new_spinner();
        // Seeds the search's initial corpus did not use.
        let first = args.seed + args.initial as u64 + 1_000_000;
        let random = search::random(&request, first, |report| {
            bar.set_message(format!("random: {} runs, {} probes", report.runs, report.probes.len()))
        });
        bar.finish_and_clear();
        match random {
            Ok(report) => {
                println!("{}", report.line("random"));
                let missed: Vec<&String> = explored.probes.difference(&report.probes).collect();
                if !missed.is_empty() {
                    println!("reached only by explore: {missed:?}");
                }
            }
            Err(message) => return usage(&message),
        }
    }
    if explored.failures.is_empty() {
        0
    } else {
        1
    }
}
