//! The `detcd-chaos` command line: `detcd-chaos run <scenario> --binary detcd|etcd ...`, and
//! `detcd-chaos check <scenario> <history.jsonl>` to judge a recorded run again.
//!
//! Exit status, as `detcd-sim run`: 0 when no checker found a violation, 1 when one did, 2 when
//! the run could not be made or judged (bad arguments, a cluster that would not start, a
//! failure on a machine whose disk filled up under the members), 130 when interrupted (after
//! cleaning up). `check`: 0, 1 as `run`; 2 when the history cannot be read or a checker could
//! not decide.

use clap::{Parser, Subcommand};
use detcd_chaos::clock;
use detcd_chaos::cluster::{Binary, ClusterError, Kind};
use detcd_chaos::dirlog::Commit;
use detcd_chaos::faults::Fault;
use detcd_chaos::interrupt;
use detcd_chaos::lazyfs;
use detcd_chaos::netdelay;
use detcd_chaos::network;
use detcd_chaos::run::{self, Options};
use detcd_chaos::workloads::Scenario;
use detcd_core::plant::Bug;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Where Debian's `etcd-server` puts etcd 3.4.
const ETCD: &str = "/usr/bin/etcd";

#[derive(Parser)]
#[command(
    name = "detcd-chaos",
    about = "Scenarios on real detcd or etcd processes under real faults"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One run: a real cluster, the scenario's clients, the seed's faults, heal, liveness,
    /// checkers; writes `<out>/<scenario>-<binary>-<seed>.{history.jsonl,json,logs/}`.
    Run(Box<RunArgs>),
    /// The scenarios.
    List,
    /// Judges a history a run wrote again, with this build's checkers, and prints every
    /// verdict (liveness and the members' state need the live cluster and are not judged).
    Check {
        /// The scenario that wrote it.
        scenario: String,
        /// `<out>/<scenario>-<binary>-<seed>.history.jsonl`.
        history: PathBuf,
    },
    /// (Internal) the latency of a degraded link where the kernel has no `tc netem`: holds each
    /// packet of NFQUEUE queue `--queue`, in the namespace it is started in, for `--delay-ms`.
    #[command(hide = true)]
    Netdelay {
        #[arg(long)]
        queue: u16,
        #[arg(long)]
        delay_ms: u64,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// A scenario `detcd-chaos list` names (register, bank, kv, watch, lease, lock, ...).
    scenario: String,
    /// The server: detcd or etcd.
    #[arg(long, value_parser = ["detcd", "etcd"])]
    binary: String,
    /// The server's executable (default: `detcd` beside this command or on PATH; /usr/bin/etcd).
    #[arg(long)]
    binary_path: Option<PathBuf>,
    #[arg(long, default_value_t = 3)]
    members: usize,
    /// Clients running the workload (default: 4; 3 for the lock scenarios).
    #[arg(long)]
    clients: Option<usize>,
    /// The chaos phase, e.g. 30s, 1500ms, 2m.
    #[arg(long, default_value = "30s")]
    duration: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fault kinds, comma-separated: kill, pause, partition, netem, clock, disk, power; `none`
    /// for none. The network kinds put each member in its own network namespace (root only);
    /// clock runs detcd under libfaketime (etcd ignores it); disk and power put each member's
    /// data directory on a FUSE file system that, at every kill, loses what the member had not
    /// fsynced (root and /dev/fuse): disk also fails or slows a member's fsyncs for a while,
    /// power kills every member at once.
    #[arg(long, default_value = "kill,pause")]
    faults: String,
    /// With disk faults, what makes a create, rename or unlink durable: `journal`, any fsync
    /// on the member's disk (as ext4's one journal, what servers on Linux meet); `posix`, only
    /// an fsync of its directory (the letter of POSIX, stricter than ext4).
    #[arg(long, default_value = "journal", value_parser = ["journal", "posix"])]
    disk_sync: String,
    /// With disk faults (disk or power), every member's every fsync waits this long throughout
    /// the chaos phase (e.g. 300ms): a slow disk, so that kills and power cuts land while
    /// fsyncs are under way and many writes queue behind each one. A `disk` fault overrides
    /// it while it holds.
    #[arg(long)]
    fsync_delay: Option<String>,
    /// A planted bug (`detcd-sim list --plants` names them) every detcd member switches on:
    /// needs a detcd built with the `planted-bugs` feature, e.g.
    /// `cargo build -p detcd-server --features planted-bugs --target-dir target/planted` and
    /// `--binary-path target/planted/debug/detcd` (`scripts/chaos-planted` does both).
    #[arg(long)]
    plant: Option<String>,
    /// Where the history, report and member logs go.
    #[arg(long, default_value = "target/detcd-chaos")]
    out: PathBuf,
}

fn main() {
    let status = match Cli::parse().command {
        Command::List => {
            for name in Scenario::NAMES {
                println!("{name}");
            }
            0
        }
        Command::Run(args) => run_command(*args),
        Command::Check { scenario, history } => check_command(&scenario, &history),
        Command::Netdelay { queue, delay_ms } => {
            interrupt::install();
            match netdelay::serve(queue, Duration::from_millis(delay_ms)) {
                Ok(delayed) => {
                    println!("delayed {delayed}");
                    0
                }
                Err(why) => {
                    eprintln!("detcd-chaos netdelay: {why}");
                    2
                }
            }
        }
    };
    std::process::exit(status);
}

fn run_command(args: RunArgs) -> i32 {
    let options = match options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("detcd-chaos: {message}");
            return 2;
        }
    };
    interrupt::install();
    match run::run(&options) {
        Ok(report) => {
            for line in report.summary() {
                println!("{line}");
            }
            if report.passed {
                0
            } else if report.machine.is_some() {
                eprintln!("detcd-chaos: the run could not be judged: the machine failed it (see machine: above)");
                2
            } else {
                println!("FAILED; run again with: {}", run::replay_command(&options));
                1
            }
        }
        Err(ClusterError::Interrupted) => {
            eprintln!(
                "detcd-chaos: interrupted; every process and scratch directory it started is gone"
            );
            130
        }
        Err(ClusterError::Failed(why)) => {
            eprintln!("detcd-chaos: the run could not be made: {why}");
            2
        }
    }
}

fn check_command(scenario: &str, history: &std::path::Path) -> i32 {
    let verdicts = Scenario::parse(scenario)
        .and_then(|scenario| detcd_chaos::rejudge::judge_file(scenario, history));
    match verdicts {
        Ok(verdicts) => {
            // A reader that stops early (`| head -1`) closes the pipe: the verdicts stand, so
            // the exit status still says them.
            let mut stdout = std::io::stdout().lock();
            for verdict in &verdicts {
                let _ = writeln!(stdout, "{}: {}", verdict.checker, verdict.summary);
            }
            if verdicts.iter().any(|v| v.ok == Some(false)) {
                1
            } else if verdicts.iter().any(|v| v.ok.is_none()) {
                2
            } else {
                0
            }
        }
        Err(message) => {
            eprintln!("detcd-chaos: {message}");
            2
        }
    }
}

fn options(args: RunArgs) -> Result<Options, String> {
    let scenario = Scenario::parse(&args.scenario)?;
    let kind = if args.binary == "etcd" { Kind::Etcd } else { Kind::Detcd };
    let path = match (args.binary_path, kind) {
        (Some(path), _) => path,
        (None, Kind::Etcd) => PathBuf::from(ETCD),
        (None, Kind::Detcd) => find_detcd()?,
    };
    let plant = args.plant.as_deref().map(Bug::parse).transpose()?;
    if plant.is_some() && kind == Kind::Etcd {
        return Err("--plant plants a bug in detcd; etcd has none to plant".into());
    }
    if args.members == 0 {
        return Err("--members must be at least 1".into());
    }
    let faults = if args.faults == "none" || args.faults.is_empty() {
        Vec::new()
    } else {
        args.faults.split(',').map(|name| Fault::parse(name.trim())).collect::<Result<_, _>>()?
    };
    let default_clients = if matches!(scenario, Scenario::Lock { .. }) { 3 } else { 4 };
    if faults.iter().any(|f: &Fault| f.is_network()) {
        network::usable().map_err(|why| {
            format!(
                "network faults (partition, netem) refused: {why}; kill and pause run without them"
            )
        })?;
    }
    if faults.contains(&Fault::Clock) {
        if kind == Kind::Etcd {
            return Err("clock faults refused: etcd (Go) reads its clock without the C library, so libfaketime cannot move it".into());
        }
        clock::library().map_err(|why| format!("clock faults refused: {why}"))?;
    }
    if faults.iter().any(|f: &Fault| f.is_disk()) {
        lazyfs::usable().map_err(|why| format!("disk faults refused: {why}"))?;
    }
    let disk_sync = Commit::parse(&args.disk_sync)?;
    let fsync_delay = args.fsync_delay.as_deref().map(parse_duration).transpose()?;
    if fsync_delay.is_some() && !faults.iter().any(|f| f.is_disk()) {
        return Err("--fsync-delay needs the members' disks: add disk or power to --faults".into());
    }
    let clients = args.clients.unwrap_or(default_clients);
    if clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    Ok(Options {
        scenario,
        binary: Binary { kind, path, plant },
        members: args.members,
        clients,
        duration: parse_duration(&args.duration)?,
        seed: args.seed,
        faults,
        disk_sync,
        fsync_delay,
        out: args.out,
    })
}

/// `detcd` beside this executable (cargo puts both in target/<profile>/), else on PATH.
fn find_detcd() -> Result<PathBuf, String> {
    let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("detcd")));
    if let Some(path) = beside.filter(|p| p.is_file()) {
        return Ok(path);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("detcd"))
        .find(|p| p.is_file());
    on_path.ok_or_else(|| {
        "no detcd beside detcd-chaos or on PATH: `cargo build -p detcd-server --bin detcd`, or pass --binary-path".into()
    })
}

/// `30s`, `1500ms`, `2m`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration '{text}': use e.g. 30s, 1500ms or 2m");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(bad()),
    };
    if duration.is_zero() {
        return Err(bad());
    }
    Ok(duration)
}
