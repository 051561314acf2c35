//! One simulated run: a cluster, its clients, a fault plan, then heal, liveness and final checks.
//!
//! Phases: *chaos* (clients run their workload while the plan's faults fire), *heal* (every fault
//! undone, crashed members restarted), *liveness* (a fresh client must get a write and a
//! linearizable read through within `heal_limit`, else the run fails with a liveness violation),
//! *settle* (every member of the final membership is running, all reach the same revision and
//! agree on the membership, and members at equal revisions have equal key-space hashes). The
//! invariants are checked all along; each kind of finding carries its own label. Everything is
//! decided by `seed`: the same config gives the same trace. The coverage probes hit during the
//! run (`detcd_core::probes`) come back in the result.

use crate::client::{Outcome, SimClient};
use crate::cluster::{Cluster, ClusterEvent, ClusterOptions};
use crate::committed::{CommittedEvents, CommittedReader};
use crate::history::Recorder;
use crate::invariants::{Invariants, Violation};
use crate::knobs::Knobs;
use crate::plan::FaultPlan;
use crate::trace;
use crate::workload::{ClientContext, QuietWindow, Workload};
use detcd_check::history::Operation;
use detcd_core::api::{PutRequest, RangeRequest};
use detcd_core::member::{MemberConfig, MemberObserver};
use detcd_core::plant::{self, Bug};
use detcd_core::probes::{self, Probe};
use detcd_core::raft::types::NodeId;
use detcd_core::{buggify, runtime::node_clock};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

/// Everything that defines a run (with the workload).
#[derive(Clone)]
pub struct RunConfig {
    pub seed: u64,
    pub members: usize,
    pub clients: usize,
    pub chaos: Duration,
    /// After healing, a write and a read must succeed within this long.
    pub heal_limit: Duration,
    pub plan: FaultPlan,
    /// Snapshot, WAL, fsync and watch settings of every member.
    pub knobs: Knobs,
    pub buggify: bool,
    /// A bug planted in the core for this run (see `detcd_core::plant`).
    pub plant: Option<Bug>,
    /// Read the committed event history from the members as the run goes (for watch checks).
    pub record_events: bool,
    /// Print trace lines as they happen.
    pub echo_trace: bool,
    pub configure: fn(&mut MemberConfig),
    /// Stop the clients after this many operations in all (`None`: run until the chaos ends).
    pub max_ops: Option<usize>,
    /// Spans of the chaos phase in which a client issues no new operations.
    pub quiet: Vec<QuietWindow>,
}

impl RunConfig {
    pub fn new(seed: u64) -> Self {
        RunConfig {
            seed,
            members: 3,
            clients: 4,
            chaos: Duration::from_secs(10),
            heal_limit: Duration::from_secs(20),
            plan: FaultPlan::default(),
            knobs: Knobs::etcd(),
            buggify: false,
            plant: None,
            record_events: false,
            echo_trace: false,
            configure: |_| {},
            max_ops: None,
            quiet: Vec::new(),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub seed: u64,
    pub trace: Vec<String>,
    pub trace_hash: u64,
    pub history: Vec<Operation>,
    /// Invariant, liveness, recovery and convergence violations, with virtual times.
    pub violations: Vec<Violation>,
    /// How long after healing the cluster served again (None: it did not, see violations).
    pub recovery: Option<Duration>,
    /// When the chaos phase began (virtual time since the run began; the zero of fault times
    /// and quiet windows).
    pub chaos_started: Duration,
    /// When the chaos phase ended and every fault was healed (virtual time since the run began).
    pub healed_at: Duration,
    /// The faults that fired, as the trace says them.
    pub faults: Vec<String>,
    pub buggify_sites: Vec<String>,
    pub max_term: u64,
    pub sim_time: Duration,
    /// Every committed event, when the config asked for them.
    pub committed: Option<CommittedEvents>,
    /// How often each coverage probe was hit, in `Probe::ALL` order.
    pub probes: Vec<(Probe, u64)>,
    /// The CPU time the simulating thread used (set by `detcd_sim::simulate`; zero otherwise).
    pub cpu_time: Duration,
}

impl RunResult {
    /// The result of a run that panicked: the panic is its one violation.
    pub fn panicked(seed: u64, message: String) -> RunResult {
        RunResult {
            seed,
            trace: vec![format!("panic: {message}")],
            trace_hash: 0,
            history: Vec::new(),
            violations: vec![Violation { label: "panic".into(), text: message }],
            recovery: None,
            faults: Vec::new(),
            buggify_sites: Vec::new(),
            max_term: 0,
            sim_time: Duration::ZERO,
            chaos_started: Duration::ZERO,
            healed_at: Duration::ZERO,
            committed: None,
            probes: Vec::new(),
            cpu_time: Duration::ZERO,
        }
    }
}

/// Builds the cluster with the run's invariant checks and trace wired in.
fn start_cluster(config: &RunConfig, invariants: &Invariants) -> Cluster {
    let observed = invariants.clone();
    let observer = MemberObserver(Arc::new(move |event| observed.observe(event)));
    let listened = invariants.clone();
    let listener = Arc::new(move |event: ClusterEvent| on_cluster_event(&listened, event));
    Cluster::start(ClusterOptions {
        members: config.members,
        disk_faults: config.knobs.disk(),
        knobs: config.knobs.clone(),
        configure: config.configure,
        observer: Some(observer),
        listener: Some(listener),
    })
}

fn on_cluster_event(invariants: &Invariants, event: ClusterEvent) {
    match event {
        ClusterEvent::Started { member } => trace::event(&format!("n{member}"), "started"),
        ClusterEvent::Ready { member } => trace::event(&format!("n{member}"), "ready"),
        ClusterEvent::Failed { member, reason } => {
            trace::event(&format!("n{member}"), format_args!("failed to start: {reason}"))
        }
        ClusterEvent::Crashed { member } => invariants.restarted(member),
        ClusterEvent::Role { member, role, term, leader } => {
            let leader = leader.map_or("-".to_string(), |id| format!("n{id}"));
            trace::event(&format!("n{member}"), format_args!("{role} term={term} leader={leader}"));
            if role == "leader" {
                invariants.leader(member, term);
            }
        }
    }
}

fn client_ip(index: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 1, (index >> 8) as u8, index as u8))
}

/// Runs the whole simulation; call inside a madsim runtime seeded with `config.seed`.
pub async fn simulate(config: RunConfig, workload: Arc<dyn Workload>) -> RunResult {
    node_clock::clear_skews();
    buggify::reset(config.buggify);
    plant::set(config.plant);
    probes::reset();
    trace::start(config.echo_trace);
    trace::event(
        "sim",
        format_args!(
            "seed={} members={} clients={} workload={}{}",
            config.seed,
            config.members,
            config.clients,
            workload.name(),
            config.plant.map_or(String::new(), |bug| format!(" plant={}", bug.name()))
        ),
    );
    let invariants = Invariants::default();
    let mut cluster = start_cluster(&config, &invariants);
    let committed = config.record_events.then(|| CommittedReader::new(&cluster));
    committed.iter().for_each(CommittedReader::spawn);
    set_up(&cluster, workload.clone()).await;
    let chaos_start = trace::now();
    trace::event("sim", "chaos begins");
    let recorder = Recorder::with_cap(config.max_ops);
    let (client_nodes, tasks) = spawn_clients(&config, &cluster, &recorder, workload, chaos_start);
    let faults = drive_faults(&config, &mut cluster, &client_nodes, chaos_start).await;
    trace::event("sim", cluster.heal_all(&client_nodes));
    let healed_at = trace::now();
    // The clients' last operations finish first: the probe's write must not land inside their
    // history (the checkers would see a revision nobody in it made).
    futures::future::join_all(tasks).await;
    // Measured from whichever is later: the heal, or the moment the workload let go (some
    // workloads keep reading long after the heal to see leases lapse).
    let probe_from = healed_at.max(trace::now());
    let recovery = check_liveness(&cluster, probe_from, config.heal_limit, &invariants).await;
    if recovery.is_some() {
        check_recovered(&cluster, &invariants).await;
    }
    check_convergence(&cluster, &invariants).await;
    let committed = committed.map(|reader| reader.finish());
    cluster.end(&client_nodes);
    let phases = Phases { chaos_started: chaos_start, healed_at, recovery };
    finish(config, invariants, recorder, faults, phases, committed)
}

/// When the phases began and ended.
struct Phases {
    chaos_started: Duration,
    healed_at: Duration,
    recovery: Option<Duration>,
}

fn finish(
    config: RunConfig,
    invariants: Invariants,
    recorder: Recorder,
    faults: Vec<String>,
    phases: Phases,
    committed: Option<CommittedEvents>,
) -> RunResult {
    let Phases { chaos_started, healed_at, recovery } = phases;
    let sim_time = trace::now();
    let buggify_sites =
        buggify::active_sites().into_iter().map(|site| site.name().to_string()).collect();
    let trace = trace::finish();
    let history = recorder.take_operations();
    RunResult {
        seed: config.seed,
        trace_hash: trace::hash_run(&trace, &history),
        trace,
        history,
        violations: invariants.violations(),
        recovery,
        chaos_started,
        healed_at,
        faults,
        buggify_sites,
        max_term: invariants.max_term(),
        sim_time,
        committed,
        probes: probes::hits(),
        cpu_time: Duration::ZERO,
    }
}

/// Runs the workload's setup from its own client node once a leader is known and every member
/// is ready.
async fn set_up(cluster: &Cluster, workload: Arc<dyn Workload>) {
    cluster.wait_for_leader(Duration::from_secs(30)).await;
    // Chaos begins on a cluster that serves: every member caught up and published, as a
    // deployment is up once each member says it is ready.
    cluster.wait_for_all_ready(Duration::from_secs(30)).await;
    let handle = madsim::runtime::Handle::current();
    let node = handle.create_node().name("setup").ip(client_ip(251 << 8)).build();
    let members = cluster.ids();
    let setup = node.spawn(async move {
        if let Ok(client) = SimClient::connect(members).await {
            workload.setup(client).await;
        }
    });
    let _ = setup.await;
}

type ClientTasks = Vec<madsim::task::JoinHandle<()>>;

fn spawn_clients(
    config: &RunConfig,
    cluster: &Cluster,
    recorder: &Recorder,
    workload: Arc<dyn Workload>,
    chaos_start: Duration,
) -> (Vec<madsim::task::NodeId>, ClientTasks) {
    let handle = madsim::runtime::Handle::current();
    let members = cluster.ids();
    let until = chaos_start + config.chaos;
    let spread = config.knobs.spread_clients;
    let mut nodes = Vec::new();
    let mut tasks = Vec::new();
    for index in 1..=config.clients as u64 {
        let node = handle.create_node().name(format!("c{index}")).ip(client_ip(index)).build();
        nodes.push(node.id());
        let rng = ChaCha8Rng::seed_from_u64(config.seed ^ (index << 32));
        let quiet = config
            .quiet
            .iter()
            .filter(|window| window.client == index)
            .map(|w| {
                let at = |ms| chaos_start + Duration::from_millis(ms);
                (at(w.from_ms), at(w.to_ms))
            })
            .collect();
        let (members, recorder, workload) = (members.clone(), recorder.clone(), workload.clone());
        tasks.push(node.spawn(async move {
            let Ok(mut client) = SimClient::connect(members).await else { return };
            if spread {
                client.start_at(index as usize - 1);
                client.pinned = true;
            }
            let ctx = ClientContext { index, client, recorder, rng, until, quiet };
            workload.client(ctx).await;
        }));
    }
    (nodes, tasks)
}

async fn drive_faults(
    config: &RunConfig,
    cluster: &mut Cluster,
    clients: &[madsim::task::NodeId],
    chaos_start: Duration,
) -> Vec<String> {
    let mut applied = Vec::new();
    let chaos_end = chaos_start + config.chaos;
    for scheduled in &config.plan.faults {
        let at = chaos_start + Duration::from_millis(scheduled.at_ms).min(config.chaos);
        let now = trace::now();
        if at > now {
            madsim::time::sleep(at - now).await;
        }
        cluster.until_moment(&scheduled.fault).await;
        if let Some(text) = cluster.apply(&scheduled.fault, clients) {
            trace::event("sim", format_args!("fault: {text}"));
            applied.push(format!("{text}@{:.1}s", trace::now().as_secs_f64()));
        }
    }
    let now = trace::now();
    if chaos_end > now {
        madsim::time::sleep(chaos_end - now).await;
    }
    applied
}

/// After healing: a fresh client must get a write and a linearizable read through in time.
async fn check_liveness(
    cluster: &Cluster,
    healed_at: Duration,
    limit: Duration,
    invariants: &Invariants,
) -> Option<Duration> {
    let handle = madsim::runtime::Handle::current();
    let node = handle.create_node().name("probe").ip(client_ip(250 << 8)).build();
    let members = cluster.ids();
    let probe = node.spawn(async move { probe(members, healed_at + limit).await });
    let served = probe.await.unwrap_or(false);
    let took = trace::now() - healed_at;
    if served {
        trace::event(
            "sim",
            format_args!("liveness: write and read served {:.3}s after heal", took.as_secs_f64()),
        );
        Some(took)
    } else {
        invariants.report(
            "liveness",
            format!("no write and linearizable read within {limit:?} after heal"),
        );
        None
    }
}

async fn probe(members: Vec<NodeId>, deadline: Duration) -> bool {
    let Ok(mut client) = SimClient::connect(members).await else { return false };
    client.timeout = Duration::from_secs(1);
    let put =
        PutRequest { key: b"__liveness".to_vec(), value: b"ok".to_vec(), ..Default::default() };
    let read = RangeRequest { key: b"__liveness".to_vec(), ..Default::default() };
    while trace::now() < deadline {
        if client.call(put.clone()).await.is_ok() {
            if let Outcome::Ok(range) = client.call(read.clone()).await {
                if range.kvs.len() == 1 {
                    return true;
                }
            }
        }
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// How long a healed, serving cluster gets to bring every member to the same state.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(15);

/// Once the cluster serves again: every member of the final membership must be running, reach
/// the leader's revision, and see the same membership. A member that cannot start again (a WAL it
/// cannot read) or stays behind is a finding even when the others keep a quorum.
async fn check_recovered(cluster: &Cluster, invariants: &Invariants) {
    let deadline = trace::now() + CATCH_UP_LIMIT;
    loop {
        let problems = recovery_problems(cluster);
        if problems.is_empty() {
            return;
        }
        if trace::now() >= deadline {
            for (label, text) in problems {
                invariants.report(label, text);
            }
            return;
        }
        madsim::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What still keeps the members from one shared state, each under its label.
fn recovery_problems(cluster: &Cluster) -> Vec<(&'static str, String)> {
    let Some(leader) =
        cluster.resolve(crate::faults::Target::Leader).and_then(|l| cluster.member(l))
    else {
        return vec![("recovery", "no leader after heal".to_string())];
    };
    let membership: Vec<NodeId> = leader.member_list().iter().map(|m| m.id).collect();
    let revision = leader.status().revision;
    let mut problems = Vec::new();
    for id in &membership {
        let Some(member) = cluster.member(*id) else {
            let why = match cluster.slot(*id) {
                Some(crate::cluster::MemberSlot::Failed(reason)) => reason,
                Some(_) => "down".to_string(),
                None => "unknown to the simulator".to_string(),
            };
            problems.push(("recovery", format!("n{id} is not running after heal: {why}")));
            continue;
        };
        if !member.is_ready() {
            problems.push((
                "recovery",
                format!("n{id} is running but not ready (catching up or publishing)"),
            ));
        }
        let status = member.status();
        if status.revision != revision {
            problems.push((
                "recovery",
                format!(
                    "n{id} at revision {} while leader n{} is at {revision}",
                    status.revision,
                    leader.id()
                ),
            ));
        }
        let seen: Vec<NodeId> = member.member_list().iter().map(|m| m.id).collect();
        if seen != membership {
            problems.push((
                "membership",
                format!("n{id} sees members {seen:?}, leader n{} sees {membership:?}", leader.id()),
            ));
        }
    }
    problems
}

/// Once quiet: members at the same revision must hold the same key space.
async fn check_convergence(cluster: &Cluster, invariants: &Invariants) {
    madsim::time::sleep(Duration::from_secs(2)).await;
    let running: Vec<_> = cluster.ids().into_iter().filter_map(|id| cluster.member(id)).collect();
    let Some(revision) = running.iter().map(|m| m.status().revision).min() else { return };
    let mut hashes = Vec::new();
    for member in &running {
        if let Ok(answer) = member.hash_kv(revision) {
            hashes.push((member.id(), answer.hash, answer.compact_revision));
        }
    }
    // The hash covers history from the compact revision on, and a member ahead may have applied a
    // compaction (which does not raise the revision) that one behind has not: compare like with like.
    for (i, &(one_id, one, compacted)) in hashes.iter().enumerate() {
        for &(id, hash, _) in hashes[i + 1..].iter().filter(|(_, _, c)| *c == compacted) {
            if hash != one {
                invariants.report(
                    "convergence",
                    format!(
                        "n{id} and n{one_id} differ at revision {revision}: {hash:08x} vs {one:08x}"
                    ),
                );
            }
        }
    }
    trace::event(
        "sim",
        format_args!("settled: {} members compared at revision {revision}", hashes.len()),
    );
}
