//! One chaos run: start a real cluster (in network namespaces when a network fault is asked
//! for, else on loopback), run the scenario's clients while the seed's faults
//! fire, heal, check liveness, read the final state, judge the history, write the files.
//!
//! The phases are the simulator's (chaos, heal, liveness, then the checkers), on real time.
//! Threads: the run's main thread owns the cluster and runs the faults one after another (see
//! `cluster` for why members are started only from it); the clients run on a small tokio
//! runtime beside it. Whatever way the run ends — verdict, harness failure, Ctrl-C — the cluster
//! guard drops on the way out, and every member process and scratch file goes with it.

use crate::clock;
use crate::cluster::{Binary, Cluster, ClusterError};
use crate::dirlog::Commit;
use crate::faults::{self, Fault, Fired, Step};
use crate::interrupt;
use crate::lazyfs::FsyncMode;
use crate::liveness;
use crate::network::Network;
use crate::page;
use crate::recorder::Recorder;
use crate::relay::Relays;
use crate::workloads::{Ctx, Scenario, Shared, Verdict};
use detcd_check::history::Operation;
use detcd_proto::client::GrpcClient;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::fs;
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// How long after the heal liveness may take.
const LIVENESS_BOUND: Duration = Duration::from_secs(30);
/// How long clients may take to finish their last operation after the chaos phase.
const CLIENTS_GRACE: Duration = Duration::from_secs(40);
/// How long the scenario's setup may take on the fresh cluster.
const SETUP_BOUND: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub scenario: Scenario,
    pub binary: Binary,
    pub members: usize,
    pub clients: usize,
    pub duration: Duration,
    pub seed: u64,
    pub faults: Vec<Fault>,
    /// With disk faults, when a directory change is durable (`--disk-sync`).
    pub disk_sync: Commit,
    /// With disk faults, how long every member's every fsync waits throughout the chaos phase
    /// (`--fsync-delay`: a slow disk, so kills and power cuts land while fsyncs are under way).
    pub fsync_delay: Option<Duration>,
    pub out: PathBuf,
}

/// What a run found; also written as `<stem>.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub binary: String,
    pub seed: u64,
    pub members: usize,
    pub clients: usize,
    pub duration_secs: f64,
    /// `--fsync-delay`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fsync_delay_ms: Option<u64>,
    pub planned: Vec<Step>,
    pub fired: Vec<Fired>,
    pub ops: usize,
    pub verdicts: Vec<Verdict>,
    /// No verdict found a violation.
    pub passed: bool,
    /// The history file (JSON Lines, what `detcd-sim check` reads).
    pub history: PathBuf,
    /// The HTML page (the simulator's report).
    pub page: PathBuf,
    /// Why the machine, not the system under test, may explain a failure (a member's disk was
    /// full): such a run is no finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// What each member's file system did, with disk faults.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<String>,
    /// The network's log (every partition applied and healed), when the run had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_log: Option<PathBuf>,
}

impl Report {
    /// The summary lines, as `cargo sim run` prints them.
    pub fn summary(&self) -> Vec<String> {
        let faults: Vec<String> = self.fired.iter().map(Fired::describe).collect();
        let slow = self.fsync_delay_ms.map(|ms| format!(" fsync-delay={ms}ms")).unwrap_or_default();
        let mut lines = vec![format!(
            "{} binary={} seed={} members={} clients={} duration={:.1}s{slow} ops={} faults=[{}]",
            self.scenario,
            self.binary,
            self.seed,
            self.members,
            self.clients,
            self.duration_secs,
            self.ops,
            faults.join(", ")
        )];
        lines.extend(self.verdicts.iter().map(|v| format!("{}: {}", v.checker, v.summary)));
        lines.push(format!("history: {}", self.history.display()));
        lines.push(format!("report: {}", self.page.display()));
        if let Some(machine) = &self.machine {
            lines.push(format!("machine: {machine}"));
        }
        lines.extend(self.disks.iter().map(|disk| format!("disk {disk}")));
        if let Some(log) = &self.network_log {
            lines.push(format!("network log: {}", log.display()));
        }
        lines
    }
}

/// Runs `options` to a report, or fails as a harness (cluster would not start, interrupted).
pub fn run(options: &Options) -> Result<Report, ClusterError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Failed(format!("tokio runtime: {e}")))?;
    // gRPC channels are made on the runtime's reactor, also from this thread.
    let context = runtime.enter();
    let clock = Instant::now();
    let network = if options.faults.iter().any(|f| f.is_network()) {
        Some(
            Network::create(options.members, options.clients, clock)
                .map_err(ClusterError::Failed)?,
        )
    } else {
        None
    };
    let faketime = if options.faults.contains(&Fault::Clock) {
        Some(clock::library().map_err(ClusterError::Failed)?)
    } else {
        None
    };
    let disk = options.faults.iter().any(|f| f.is_disk()).then_some(options.disk_sync);
    let mut cluster =
        Cluster::start(options.binary.clone(), options.members, network, faketime, disk)?;
    let endpoints = cluster.endpoints();
    // In a network, each client reaches the members from its own address, through relays.
    let relays = match cluster.network() {
        Some(network) => {
            let sources = (0..options.clients)
                .map(|c| network.client_address(c).parse())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ClusterError::Failed(format!("a client address: {e}")))?;
            let members = endpoints
                .iter()
                .map(|e| e.parse())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ClusterError::Failed(format!("a member address: {e}")))?;
            let relays = block_on(&runtime, Relays::start(&sources, &members))?
                .map_err(|e| ClusterError::Failed(format!("client relays: {e}")))?;
            Some(relays)
        }
        None => None,
    };
    let recorder = Recorder::new(clock);
    let scenario = options.scenario;

    let shared = Arc::new(Shared {
        clocks_move: options.faults.contains(&Fault::Clock),
        ..Default::default()
    });
    let setup_client = client_from(&endpoints, 0)?;
    block_on(&runtime, scenario.setup(&setup_client, SETUP_BOUND, &endpoints, &shared))?
        .map_err(ClusterError::Failed)?;

    // A slow disk only for the chaos phase: set-up, liveness and the final reads run at the
    // disk's own speed.
    if let Some(delay) = options.fsync_delay {
        cluster.set_fsync_base(FsyncMode::Delay(delay));
    }
    // Chaos: the clients on the runtime, the faults on this thread.
    let chaos_start = Instant::now();
    let until = chaos_start + options.duration;
    let mut clients = Vec::new();
    for index in 0..options.clients {
        let own = match &relays {
            Some(relays) => relays.endpoints(index),
            None => &endpoints[..],
        };
        let ctx = Ctx {
            index: index as u64,
            client: client_from(own, index)?,
            endpoints: rotated(own, index),
            shared: shared.clone(),
            recorder: recorder.clone(),
            rng: ChaCha8Rng::seed_from_u64(
                options.seed.wrapping_mul(1_000).wrapping_add(index as u64),
            ),
            until,
            unknown: Default::default(),
        };
        clients.push(runtime.spawn(scenario.client(ctx)));
    }
    let steps = faults::schedule(
        options.seed,
        &options.faults,
        options.members,
        options.duration,
        scenario.ttl_secs(),
    );
    let fired = faults::run(&mut cluster, &steps, runtime.handle(), clock, chaos_start, until)?;
    interrupt::sleep_until(until)?;

    // Heal, let the clients finish, liveness, then the final state.
    cluster.set_fsync_base(FsyncMode::Normal);
    cluster.heal()?;
    *shared.healed.lock().unwrap_or_else(|p| p.into_inner()) = Some(recorder.now());
    let grace = Instant::now() + CLIENTS_GRACE;
    while !clients.iter().all(|c| c.is_finished()) && Instant::now() < grace {
        interrupt::sleep(Duration::from_millis(50))?;
    }
    // A client still waiting keeps its operation unknown (`return: null`).
    for client in &clients {
        client.abort();
    }
    let live = block_on(&runtime, liveness::check(&endpoints, LIVENESS_BOUND))?;
    let final_client = client_from(&endpoints, 0)?;
    let final_index = options.clients as u64;
    block_on(&runtime, scenario.finish(&final_client, &recorder, final_index, &shared))?;

    // The cluster's work is done: keep its logs, stop it, then judge.
    let crash = cluster.crashed();
    let has_network = cluster.network().is_some();
    let disks: Vec<String> = (0..options.members)
        .filter_map(|index| {
            let c = cluster.disk_counts(index)?;
            Some(format!(
                "{}: {} fsyncs ({} failed, {} delayed), unsynced writes lost to {} files, {} directory changes undone",
                cluster.members[index].name, c.fsyncs, c.failed, c.delayed, c.files_lost, c.changes_undone
            ))
        })
        .collect();
    let stem = options.out.join(format!(
        "{}-{}-{}",
        scenario.name(),
        options.binary.kind.name(),
        options.seed
    ));
    let logs = stem.with_extension("logs");
    let _ = fs::remove_dir_all(&logs);
    cluster
        .save_logs(&logs)
        .map_err(|e| ClusterError::Failed(format!("saving the members' logs: {e}")))?;
    drop(relays);
    drop(cluster);
    drop(context);
    runtime.shutdown_timeout(Duration::from_secs(1));

    let ops = recorder.operations();
    let mut verdicts = scenario.judge(&ops);
    verdicts.push(live);
    if let Some(crash) = crash {
        verdicts.push(Verdict { checker: "members".into(), ok: Some(false), summary: crash });
    }
    let passed = verdicts.iter().all(|v| v.ok != Some(false));
    let report = Report {
        scenario: scenario.name().into(),
        binary: match options.binary.plant {
            Some(bug) => format!("{} with {} planted", options.binary.kind.name(), bug.name()),
            None => options.binary.kind.name().into(),
        },
        seed: options.seed,
        members: options.members,
        clients: options.clients,
        duration_secs: options.duration.as_secs_f64(),
        fsync_delay_ms: options.fsync_delay.map(|delay| delay.as_millis() as u64),
        planned: steps,
        fired,
        ops: ops.len(),
        verdicts,
        passed,
        history: stem.with_extension("history.jsonl"),
        page: stem.with_extension("html"),
        machine: machine_trouble(&logs),
        disks,
        network_log: has_network.then(|| logs.join("network.log")),
    };
    write_files(&stem, &ops, &report)
        .and_then(|()| {
            page::write(
                &stem,
                &report,
                &ops,
                clock.elapsed().as_secs_f64(),
                &replay_command(options),
            )
        })
        .map_err(|e| ClusterError::Failed(format!("writing {}: {e}", stem.display())))?;
    Ok(report)
}

/// The command that runs `options` again (the same faults at the same offsets; the system
/// under test is not deterministic).
pub fn replay_command(options: &Options) -> String {
    let names: Vec<&str> = options.faults.iter().map(|fault| fault.name()).collect();
    let faults = if names.is_empty() { "none".to_string() } else { names.join(",") };
    let posix =
        options.faults.iter().any(|f| f.is_disk()) && options.disk_sync == Commit::Directory;
    format!(
        "detcd-chaos run {} --binary {} --members {} --clients {} --duration {}ms --seed {} --faults {}{}{}{}",
        options.scenario.name(),
        options.binary.kind.name(),
        options.members,
        options.clients,
        options.duration.as_millis(),
        options.seed,
        faults,
        if posix { " --disk-sync posix" } else { "" },
        options
            .fsync_delay
            .map(|delay| format!(" --fsync-delay {}ms", delay.as_millis()))
            .unwrap_or_default(),
        options
            .binary
            .plant
            .map(|bug| {
                format!(" --binary-path {} --plant {}", options.binary.path.display(), bug.name())
            })
            .unwrap_or_default(),
    )
}

/// What in the members' logs (`dir`) says the machine failed them: a full disk.
fn machine_trouble(dir: &Path) -> Option<String> {
    const FULL: &str = "No space left on device";
    let entries = fs::read_dir(dir).ok()?;
    let mut full: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| fs::read_to_string(entry.path()).is_ok_and(|text| text.contains(FULL)))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    if full.is_empty() {
        return None;
    }
    full.sort();
    Some(format!(
        "the disk was full ({FULL} in {}): this run judges the machine, not the server",
        full.join(", ")
    ))
}

/// Runs `future` on the runtime from this thread, giving up on it if the run is interrupted.
fn block_on<F: Future>(runtime: &Runtime, future: F) -> Result<F::Output, ClusterError> {
    runtime.block_on(async {
        tokio::select! {
            output = future => Ok(output),
            _ = async {
                while !interrupt::requested() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            } => Err(ClusterError::Interrupted),
        }
    })
}

/// A client whose endpoint list starts at member `index` (mod the member count), so clients
/// spread over the members and each moves on to the next when its own fails.
fn client_from(endpoints: &[String], index: usize) -> Result<GrpcClient, ClusterError> {
    let rotated = rotated(endpoints, index);
    let rotated: Vec<&str> = rotated.iter().map(String::as_str).collect();
    GrpcClient::new(&rotated).map_err(|e| ClusterError::Failed(e.to_string()))
}

/// `endpoints` starting at member `index` (mod the member count).
fn rotated(endpoints: &[String], index: usize) -> Vec<String> {
    let n = endpoints.len();
    (0..n).map(|i| endpoints[(index + i) % n].clone()).collect()
}

/// `<stem>.history.jsonl` (one operation a line, as the simulator writes it) and
/// `<stem>.json` (the report).
fn write_files(stem: &Path, ops: &[Operation], report: &Report) -> io::Result<()> {
    if let Some(dir) = stem.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut history = io::BufWriter::new(fs::File::create(stem.with_extension("history.jsonl"))?);
    for op in ops {
        serde_json::to_writer(&mut history, op)?;
        history.write_all(b"\n")?;
    }
    history.flush()?;
    let json = serde_json::to_string_pretty(report).map_err(io::Error::other)?;
    fs::write(stem.with_extension("json"), json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_in_a_members_log_is_the_machines_trouble_and_nothing_else_is() {
        let dir = std::env::temp_dir().join(format!("detcd-chaos-machine-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("infra1.log.1"), "ERROR write-ahead log poisoned\n").unwrap();
        fs::write(dir.join("network.log"), "0.1s heal: 3 packets dropped\n").unwrap();
        assert_eq!(machine_trouble(&dir), None);
        let full = "ERROR append wal: No space left on device (os error 28)\n";
        fs::write(dir.join("infra2.log.2"), full).unwrap();
        let trouble = machine_trouble(&dir).expect("a full disk");
        assert!(trouble.contains("infra2.log.2") && !trouble.contains("infra1"), "{trouble}");
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(machine_trouble(&dir), None, "no logs, no trouble");
    }
}
