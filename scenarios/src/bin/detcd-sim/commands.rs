//! The simulator commands of `detcd-sim` (only in the `--cfg madsim` build).

use super::{BenchArgs, ListArgs, MergeArgs, ReplayArgs, RunArgs, ShapeArgs, SweepArgs};
use detcd_core::plant::Bug;
use detcd_scenarios::runner::{self, Mode};
use detcd_scenarios::scenario::ScenarioOptions;
use detcd_scenarios::sweep::{self, SweepReport, SweepRequest, CORPUS};
use detcd_scenarios::{artifacts, catalog};
use detcd_sim::plan::FaultKind;
use std::collections::BTreeSet;
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
    })
}

fn fault_kind(name: &str) -> Result<FaultKind, String> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        format!("unknown fault family '{name}'; known: partition, crash, pause, clock, disk, network, membership")
    })
}

pub fn run(args: RunArgs) -> i32 {
    let options = match options(&args.shape) {
        Ok(options) => options,
        Err(message) => return usage(&message),
    };
    let mode = Mode { echo: false, check_determinism: args.check_determinism };
    let run = match runner::run(&args.scenario, args.seed, &options, mode) {
        Ok(run) => run,
        Err(message) => return usage(&message),
    };
    for line in runner::summary(&run) {
        println!("{line}");
    }
    match artifacts::write(&run) {
        Ok(stem) => println!("files: {}.{{trace,history.jsonl,json}}", stem.display()),
        Err(error) => eprintln!("could not write the run's files: {error}"),
    }
    if run.passed {
        0
    } else {
        println!("FAILED; replay with: {}", runner::replay_command(&run));
        1
    }
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
    let scenarios = if args.scenarios.is_empty() {
        catalog::all().iter().map(|s| s.name().to_string()).collect()
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
        let sim: f64 = report.scenarios.values().map(|t| t.sim_secs).sum();
        let real: f64 = report.scenarios.values().map(|t| t.real_secs).sum();
        println!(
            "bench: {:.0} seeds/min, simulated/real {:.0}x per core",
            report.seeds_per_minute(),
            if real > 0.0 { sim / real } else { 0.0 }
        );
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
        "raft: 3 members, 8 writers: {:.0} acknowledged writes per simulated second, simulated/real {:.0}x",
        raft.writes_per_sim_second, raft.sim_to_real
    );
    let standard = detcd_scenarios::bench::standard(args.seeds, args.jobs);
    println!(
        "standard run (3 members, 8 clients, 10 s, partition + leader crash, kv + linearizability check): \
         {} seeds on {} jobs: {:.0} seeds/min, simulated/real {:.0}x per core, checking {:.0}% of the time, {} failing",
        standard.seeds, args.jobs, standard.seeds_per_minute, standard.sim_to_real_per_core, standard.check_share * 100.0, standard.failures
    );
    if standard.failures == 0 {
        0
    } else {
        1
    }
}
