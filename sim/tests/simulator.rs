//! The simulator, specified: every fault kind happens and is survived, runs are deterministic,
//! swarm and buggify runs stay safe, and the invariant checks catch what they claim.
#![cfg(madsim)]

use detcd_check::history::History;
use detcd_check::linearizability::{self, Options, Verdict};
use detcd_check::models::etcd::Etcd;
use detcd_core::member::MemberEvent;
use detcd_sim::faults::{Fault, Target};
use detcd_sim::invariants::Invariants;
use detcd_sim::plan::{Aims, FaultMix, FaultPlan, Scheduled};
use detcd_sim::run::{RunConfig, RunResult};
use detcd_sim::workload::KvWorkload;
use detcd_sim::{check_run_determinism, simulate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

fn run(config: RunConfig) -> RunResult {
    simulate(config, Arc::new(KvWorkload { keys: 3 }))
}

fn plan(faults: Vec<(u64, Fault)>) -> FaultPlan {
    FaultPlan {
        faults: faults.into_iter().map(|(at_ms, fault)| Scheduled { at_ms, fault }).collect(),
    }
}

/// The run is safe: no invariant violation, it recovered after healing, and its history is
/// linearizable under the etcd model.
fn assert_survived(result: &RunResult) {
    assert!(
        result.violations.is_empty(),
        "seed {}: {:#?}\n{}",
        result.seed,
        result.violations,
        result.trace.join("\n")
    );
    assert!(result.recovery.is_some(), "seed {} did not recover", result.seed);
    let history = History::new(result.history.clone());
    let verdict =
        linearizability::check(&Etcd, &history, Options::default()).expect("decodable history");
    assert!(matches!(verdict, Verdict::Linearizable), "seed {}: {verdict:?}", result.seed);
    assert!(
        result.history.iter().filter(|op| op.ret.is_some()).count() > 10,
        "clients got work done"
    );
}

fn with_plan(seed: u64, faults: Vec<(u64, Fault)>) -> RunResult {
    let mut config = RunConfig::new(seed);
    config.plan = plan(faults);
    run(config)
}

#[test]
fn network_faults_happen_and_are_survived() {
    let cases: Vec<Vec<(u64, Fault)>> = vec![
        vec![(2_000, Fault::Isolate { target: Target::Leader }), (6_000, Fault::HealNetwork)],
        vec![(1_000, Fault::Split { minority: vec![1] }), (5_000, Fault::HealNetwork)],
        vec![(1_000, Fault::Strand { target: Target::Leader }), (5_000, Fault::HealNetwork)],
        vec![
            (1_000, Fault::Bridge { bridge: 2, left: vec![1], right: vec![3] }),
            (6_000, Fault::HealNetwork),
        ],
        vec![
            (1_000, Fault::OneWay { from: Target::Leader, to: Target::Follower }),
            (6_000, Fault::HealNetwork),
        ],
        vec![(1_000, Fault::PacketLoss { rate: 0.1 }), (6_000, Fault::HealNetwork)],
        vec![(1_000, Fault::Latency { min_ms: 50, max_ms: 300 }), (6_000, Fault::HealNetwork)],
    ];
    for (seed, faults) in cases.into_iter().enumerate() {
        let expected = faults.len();
        let result = with_plan(seed as u64, faults);
        assert_eq!(result.faults.len(), expected, "every fault fired: {:?}", result.faults);
        assert_survived(&result);
    }
}

#[test]
fn process_faults_happen_and_are_survived() {
    let cases: Vec<Vec<(u64, Fault)>> = vec![
        vec![(2_000, Fault::Crash { target: Target::Leader }), (5_000, Fault::RestartCrashed)],
        vec![(2_000, Fault::Crash { target: Target::Follower }), (4_000, Fault::RestartCrashed)],
        vec![(3_000, Fault::CrashAll), (4_000, Fault::RestartCrashed)],
        vec![
            (3_000, Fault::CrashAllOnApply { within_ms: 1_000, entries: 1 }),
            (5_000, Fault::RestartCrashed),
        ],
        // Longer than an election timeout and than the minimum lease TTL.
        vec![(2_000, Fault::Pause { target: Target::Leader, millis: 4_000 })],
    ];
    for (seed, faults) in cases.into_iter().enumerate() {
        let result = with_plan(100 + seed as u64, faults);
        assert!(!result.faults.is_empty(), "the fault fired");
        assert_survived(&result);
    }
}

#[test]
fn clock_faults_happen_and_are_survived() {
    let faults = vec![
        (500, Fault::ClockSkew { member: 1, offset_ms: 1_500, rate: 3.0 }),
        (500, Fault::ClockSkew { member: 2, offset_ms: -800, rate: 0.5 }),
        (4_000, Fault::ClockJump { member: 3, by_ms: 5_000 }),
        (6_000, Fault::ClockJump { member: 1, by_ms: -3_000 }),
    ];
    let result = with_plan(200, faults);
    assert_eq!(result.faults.len(), 4);
    assert_survived(&result);
}

#[test]
fn disk_faults_happen_and_are_survived() {
    let faults = vec![
        (500, Fault::Disk { member: 1, fsync_error: 0.0, torn_write: 1.0, fsync_latency_ms: 30 }),
        (500, Fault::Disk { member: 2, fsync_error: 0.0, torn_write: 1.0, fsync_latency_ms: 5 }),
        (3_000, Fault::Crash { target: Target::Member(1) }),
        (3_500, Fault::RestartCrashed),
        (6_000, Fault::Crash { target: Target::Member(2) }),
        (6_500, Fault::RestartCrashed),
    ];
    let result = with_plan(300, faults);
    assert_eq!(result.faults.len(), 6);
    assert_survived(&result);
}

#[test]
fn fsync_errors_stop_a_member_without_losing_acknowledged_writes() {
    let faults = vec![(
        1_000,
        Fault::Disk { member: 2, fsync_error: 0.2, torn_write: 0.0, fsync_latency_ms: 0 },
    )];
    let result = with_plan(301, faults);
    assert_survived(&result);
}

#[test]
fn membership_changes_happen_and_are_survived() {
    let faults =
        vec![(2_000, Fault::AddMember), (6_000, Fault::RemoveMember { target: Target::Member(2) })];
    let result = with_plan(400, faults);
    assert_eq!(result.faults.len(), 2);
    assert!(
        result.trace.iter().any(|line| line.contains("n4") && line.contains("follower")),
        "n4 joined"
    );
    assert_survived(&result);
}

#[test]
fn generated_plans_and_swarm_mixes_are_survived() {
    for seed in 0..6u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mix = if seed % 2 == 0 { FaultMix::default() } else { FaultMix::swarm(&mut rng) };
        let mut config = RunConfig::new(500 + seed);
        config.plan = FaultPlan::generate(
            &mut rng,
            &[1, 2, 3],
            config.chaos.as_millis() as u64,
            &mix,
            &Aims::default(),
        );
        assert_survived(&run(config));
    }
}

#[test]
fn seeded_partitions_take_every_shape() {
    let mix = FaultMix { kinds: [detcd_sim::plan::FaultKind::Partition].into(), intensity: 8.0 };
    let mut shapes = std::collections::BTreeSet::new();
    for seed in 0..40u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for scheduled in
            FaultPlan::generate(&mut rng, &[1, 2, 3, 4, 5], 10_000, &mix, &Aims::default()).faults
        {
            let shape = match scheduled.fault {
                Fault::Isolate { .. } => "isolate",
                Fault::Split { .. } => "split",
                Fault::Bridge { .. } => "bridge",
                Fault::OneWay { .. } => "one-way",
                Fault::Strand { .. } => "strand",
                _ => continue,
            };
            shapes.insert(shape);
        }
    }
    assert_eq!(shapes.len(), 5, "every partition shape is drawn for 5 members: {shapes:?}");
}

#[test]
fn buggify_sites_fire_and_the_cluster_stays_safe() {
    let mut sites = std::collections::BTreeSet::new();
    for seed in 0..6u64 {
        let mut config = RunConfig::new(600 + seed);
        config.buggify = true;
        config.plan = FaultPlan::standard(config.chaos.as_millis() as u64);
        let result = run(config);
        sites.extend(result.buggify_sites.clone());
        assert_survived(&result);
    }
    assert!(sites.len() >= 2, "several buggify sites were active across seeds: {sites:?}");
}

#[test]
fn the_same_seed_gives_the_same_trace_and_other_seeds_do_not() {
    let config = |seed| {
        let mut config = RunConfig::new(seed);
        config.plan = FaultPlan::standard(config.chaos.as_millis() as u64);
        config.buggify = true;
        config
    };
    let mut hashes = std::collections::BTreeSet::new();
    for seed in 0..3 {
        let result = check_run_determinism(config(seed), Arc::new(KvWorkload { keys: 3 }))
            .unwrap_or_else(|difference| panic!("{difference}"));
        assert_eq!(result.trace_hash, run(config(seed)).trace_hash, "a fourth run agrees too");
        hashes.insert(result.trace_hash);
    }
    assert_eq!(hashes.len(), 3, "different seeds give different runs");
}

#[test]
fn invariants_flag_two_leaders_in_one_term_and_divergent_applies() {
    let invariants = Invariants::default();
    invariants.leader(1, 5);
    invariants.leader(1, 5);
    assert!(invariants.violations().is_empty());
    invariants.leader(2, 5);
    assert_eq!(invariants.violations().len(), 1, "two leaders in term 5");
    let applied = |member, index, digest, revision| MemberEvent::Applied {
        member,
        index,
        term: 2,
        digest,
        revision,
    };
    invariants.observe(applied(1, 7, 0xaa, 3));
    invariants.observe(applied(2, 7, 0xaa, 3));
    assert_eq!(invariants.violations().len(), 1, "the same command at the same index is fine");
    invariants.observe(applied(3, 7, 0xbb, 3));
    assert_eq!(invariants.violations().len(), 2, "a different command at index 7");
    invariants.observe(applied(1, 8, 0xcc, 2));
    assert_eq!(invariants.violations().len(), 3, "n1's revision went backwards");
}

/// A workload whose first client panics a moment into the chaos phase.
struct PanickingWorkload;

impl detcd_sim::workload::Workload for PanickingWorkload {
    fn name(&self) -> &str {
        "panics"
    }

    fn client(
        &self,
        ctx: detcd_sim::workload::ClientContext,
    ) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            madsim::time::sleep(std::time::Duration::from_millis(500)).await;
            assert_ne!(ctx.index, 1, "client 1 gives up");
        })
    }
}

#[test]
fn a_panic_anywhere_in_a_run_is_that_runs_failure_not_the_callers() {
    let result = simulate(RunConfig::new(3), Arc::new(PanickingWorkload));
    let labels: Vec<&str> = result.violations.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["panic"], "{:?}", result.violations);
    assert!(result.violations[0].text.contains("client 1 gives up"), "{:?}", result.violations);
    // The caller goes on: the next run on this thread is unaffected.
    assert_survived(&run(RunConfig::new(4)));
}

#[test]
fn a_stranded_leader_keeps_its_clients_and_is_asked_to_read() {
    // The leader loses its peers but not its clients: reads that reach it must not be served
    // from its stale state, and the probe sees a deposed leader asked to read.
    let mut reached = 0;
    for seed in 0..4 {
        let result = with_plan(
            seed,
            vec![(2_000, Fault::Strand { target: Target::Leader }), (7_000, Fault::HealNetwork)],
        );
        assert_survived(&result);
        let hits = |name: &str| {
            result.probes.iter().find(|(p, _)| p.name() == name).map_or(0, |(_, n)| *n)
        };
        if hits("deposed-leader-read") > 0 {
            reached += 1;
        }
    }
    assert!(reached > 0, "no seed sent a read to the stranded leader");
}

#[test]
fn drawn_knobs_make_snapshots_purges_and_installs_happen_in_a_short_run() {
    use detcd_sim::knobs::Knobs;
    let knobs = Knobs { snapshot_entries: 20, snapshot_keep_entries: 0, ..Knobs::etcd() };
    let mut installed = false;
    for seed in 0..4 {
        let mut config = RunConfig::new(seed);
        config.knobs = knobs.clone();
        // A follower cut off long enough to fall behind the purged log.
        config.plan = plan(vec![
            (1_000, Fault::Isolate { target: Target::Follower }),
            (6_000, Fault::HealNetwork),
        ]);
        let result = run(config);
        assert_survived(&result);
        let hits = |name: &str| {
            result.probes.iter().find(|(p, _)| p.name() == name).map_or(0, |(_, n)| *n)
        };
        assert!(hits("log-purged") > 0, "seed {seed}: snapshots every 20 entries purge the log");
        installed |= hits("snapshot-installed") > 0;
    }
    assert!(installed, "a follower behind the purged log installs a snapshot");
    // With etcd's knobs the same runs never snapshot.
    let result = with_plan(0, vec![(1_000, Fault::Isolate { target: Target::Follower })]);
    assert!(result.probes.iter().all(|(p, n)| p.name() != "log-purged" || *n == 0));
}
