//! detcd-sim: the simulator's command line (`cargo sim <command>`).
//!
//! `check` judges recorded histories and works in any build; everything that runs clusters needs
//! the `--cfg madsim` build, which `cargo sim` selects.

use clap::{Args, Parser, Subcommand};
use detcd_check::cli::{check_each, model_prefix, ModelName};
use std::io::Write;

/// mimalloc, as in `detcd`: allocation is a fifth of a simulated run's time under glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "detcd-sim", about = "detcd's deterministic simulator", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the scenarios (and the bugs `--plant` can switch on).
    List(ListArgs),
    /// Run one scenario for one seed; print a summary; write trace, history and result.
    Run(RunArgs),
    /// Search for a smaller run (fewer faults, clients, members, shorter chaos) that fails with
    /// the same checker; save it as a replay plan.
    Shrink(ShrinkArgs),
    /// Run the same seed again with full tracing (RUST_LOG-style filter) to the terminal.
    Replay(ReplayArgs),
    /// Run many seeds (in parallel, optionally one shard of them) and summarise.
    Sweep(SweepArgs),
    /// Combine the reports of sweep shards into one summary.
    Merge(MergeArgs),
    /// Check recorded histories for linearizability.
    Check(CheckArgs),
    /// Measure the simulator: raft writes per simulated second, seeds per minute of the standard run.
    Bench(BenchArgs),
    /// Testbed power: for every planted bug, the share of its scenario's seeds that catch it.
    Power(PowerArgs),
    /// Coverage-guided search over fault plans: keep the plans that reach new probes, mutate them.
    Explore(ExploreArgs),
}

#[derive(Args)]
pub struct ExploreArgs {
    /// Scenario name (see `list`).
    pub scenario: String,
    /// Wall-clock budget, e.g. `90s` or `5m`.
    #[arg(long, default_value = "60s")]
    pub budget: String,
    /// Stop after this many runs even if budget is left.
    #[arg(long)]
    pub runs: Option<usize>,
    /// Seed of the initial corpus and of the mutation choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Plain seeded runs before mutation starts.
    #[arg(long, default_value_t = 16)]
    pub initial: usize,
    /// Runs at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Afterwards, run a plain random sweep of the scenario on the same budget and compare.
    #[arg(long)]
    pub compare: bool,
    #[command(flatten)]
    pub shape: ShapeArgs,
}

#[derive(Args)]
pub struct PowerArgs {
    /// Seed range of each bug's scenario.
    #[arg(long, default_value = "0..100")]
    pub seeds: String,
    /// Only these bugs (comma separated; default: every planted bug).
    #[arg(long, value_delimiter = ',')]
    pub bugs: Option<Vec<String>>,
    /// Seeds run at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Also explore (coverage-guided) each bug's scenario for as many runs as there are seeds,
    /// and print its catches beside the random seeds'.
    #[arg(long)]
    pub explore: bool,
    #[command(flatten)]
    pub shape: ShapeArgs,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Seeds of the standard run (3 members, 8 clients, 10 s, one partition, one leader crash).
    #[arg(long, default_value_t = 200)]
    pub seeds: u64,
    /// Threads running seeds at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
}

/// Options shared by run, replay and sweep.
#[derive(Args, Clone, Debug)]
pub struct ShapeArgs {
    /// Cluster size (1 to 7).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Number of clients.
    #[arg(long)]
    pub clients: Option<usize>,
    /// Chaos phase length in simulated seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Faults per ten simulated seconds.
    #[arg(long)]
    pub intensity: Option<f64>,
    /// Fault families, comma separated: partition,crash,pause,clock,disk,network,membership.
    #[arg(long, value_delimiter = ',')]
    pub faults: Option<Vec<String>>,
    /// Run without faults.
    #[arg(long)]
    pub no_faults: bool,
    /// Switch on the core's fault-injection sites (buggify).
    #[arg(long)]
    pub buggify: bool,
    /// Plant a known bug in the core for the run (see `list --plants`).
    #[arg(long)]
    pub plant: Option<String>,
    /// Stop the clients after this many operations in all (faults still run to the end).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_ops: Option<u64>,
    /// Run with etcd's snapshot, WAL and watch settings and instant fsyncs instead of the ones
    /// the seed draws (which make snapshots, log purges and full outboxes happen in a short run).
    #[arg(long)]
    pub etcd_knobs: bool,
}

#[derive(Args)]
pub struct ListArgs {
    /// List only the bugs `--plant` can switch on.
    #[arg(long)]
    pub plants: bool,
}

#[derive(Args)]
pub struct RunArgs {
    /// Scenario name (see `list`) or `swarm`; not needed with --plan.
    #[arg(required_unless_present = "plan")]
    pub scenario: Option<String>,
    #[arg(long, required_unless_present = "plan")]
    pub seed: Option<u64>,
    /// Replay a plan file (written by `shrink`): scenario, seed, cluster, clients, chaos length
    /// and fault plan all come from the file.
    #[arg(long, conflicts_with_all = ["scenario", "seed"])]
    pub plan: Option<String>,
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Run twice and fail on the first difference (madsim's check plus the trace comparison).
    #[arg(long)]
    pub check_determinism: bool,
}

#[derive(Args)]
pub struct ShrinkArgs {
    /// Scenario name (see `list`) or `swarm`; not needed with --plan.
    #[arg(required_unless_present = "plan")]
    pub scenario: Option<String>,
    #[arg(long, required_unless_present = "plan")]
    pub seed: Option<u64>,
    /// Shrink this plan file instead of a seed's run.
    #[arg(long, conflicts_with_all = ["scenario", "seed"])]
    pub plan: Option<String>,
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Give up after this many candidate runs.
    #[arg(long, default_value_t = 200)]
    pub max_runs: usize,
}

#[derive(Args)]
pub struct ReplayArgs {
    pub scenario: String,
    #[arg(long)]
    pub seed: u64,
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// tracing filter for the core's own logs, e.g. `openraft=debug,detcd_core=trace`.
    #[arg(long, default_value = "warn")]
    pub log: String,
}

#[derive(Args)]
pub struct SweepArgs {
    /// Scenarios to sweep (default: every scenario except those expected to fail, like
    /// `lock-unfenced`).
    pub scenarios: Vec<String>,
    /// Seed range, e.g. `0..1000`.
    #[arg(long, default_value = "0..100")]
    pub seeds: String,
    /// Seeds run at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// `K/N`: run only shard K (0-based) of N.
    #[arg(long, default_value = "0/1")]
    pub shard: String,
    #[command(flatten)]
    pub shape: ShapeArgs,
    #[arg(long)]
    pub check_determinism: bool,
    /// Write the sweep report (for `merge`) to this file.
    #[arg(long)]
    pub report: Option<String>,
    /// Print throughput figures (seeds/min, simulated-to-real time) as a benchmark.
    #[arg(long)]
    pub bench: bool,
    /// Print, per coverage probe, how many seeds reached it (the sweep page always shows it).
    #[arg(long)]
    pub coverage: bool,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Sweep report files written with `sweep --report`.
    #[arg(required = true)]
    pub reports: Vec<String>,
}

#[derive(Args)]
struct CheckArgs {
    /// History files: JSON Lines, or Jepsen EDN when the name ends in `.edn`. `MODEL=FILE`
    /// (e.g. `kv=c50.jsonl`) checks that file against its own model.
    #[arg(required = true)]
    files: Vec<String>,
    /// The model to check against: register, kv or etcd (for files that name none).
    #[arg(long, value_parser = ["register", "kv", "etcd"])]
    model: Option<String>,
    /// Give up on a file after this many milliseconds (verdict: unknown).
    #[arg(long)]
    budget_ms: Option<u64>,
}

#[cfg(madsim)]
mod commands;

fn main() {
    let status = match Cli::parse().command {
        Command::Check(args) => check(args),
        #[cfg(madsim)]
        Command::List(args) => commands::list(args),
        #[cfg(madsim)]
        Command::Run(args) => commands::run(args),
        #[cfg(madsim)]
        Command::Shrink(args) => commands::shrink(args),
        #[cfg(madsim)]
        Command::Replay(args) => commands::replay(args),
        #[cfg(madsim)]
        Command::Sweep(args) => commands::sweep(args),
        #[cfg(madsim)]
        Command::Merge(args) => commands::merge(args),
        #[cfg(madsim)]
        Command::Bench(args) => commands::bench(args),
        #[cfg(madsim)]
        Command::Power(args) => commands::power(args),
        #[cfg(madsim)]
        Command::Explore(args) => commands::explore(args),
        #[cfg(not(madsim))]
        _ => {
            eprintln!(
                "this command runs simulations: use the simulator build, `cargo sim <command>`"
            );
            2
        }
    };
    std::process::exit(status);
}

fn check(args: CheckArgs) -> i32 {
    let model: Option<ModelName> = match args.model.as_deref().map(str::parse).transpose() {
        Ok(model) => model,
        Err(error) => {
            eprintln!("{error}");
            return 2;
        }
    };
    let mut files = Vec::with_capacity(args.files.len());
    for file in &args.files {
        match (model_prefix(file), model) {
            (Some((own, path)), _) => files.push((path.to_string(), own)),
            (None, Some(model)) => files.push((file.clone(), model)),
            (None, None) => {
                eprintln!("{file}: no model: give --model, or name one as MODEL=FILE");
                return 2;
            }
        }
    }
    let budget = args.budget_ms.map(std::time::Duration::from_millis);
    let output = check_each(&files, budget);
    // Write errors (a closed pipe, as in `| head`) must not panic: the status still tells.
    let mut stdout = std::io::stdout().lock();
    for line in output.lines {
        if writeln!(stdout, "{line}").is_err() {
            break;
        }
    }
    output.status
}
