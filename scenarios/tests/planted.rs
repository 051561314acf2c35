//! Every planted bug is caught by the checker meant for it, and the same seeds are clean without it.
//!
//! For each bug: run the scenario that should catch it over a small, stated range of seeds with
//! the bug planted, until one seed is flagged by an expected checker; then the clean runs of the
//! same scenario and options over the same range must pass every checker. Seeds-to-detection over
//! longer sweeps are in `PLANTED.md`. Only meaningful in the madsim build.

#![cfg(madsim)]

use detcd_core::plant::Bug;
use detcd_scenarios::runner::{self, Mode, ScenarioRun};
use detcd_scenarios::scenario::ScenarioOptions;
use detcd_sim::plan::FaultKind;
use std::ops::Range;

/// One bug, where to look for it, and which checkers may rightly flag it.
struct Case {
    bug: Bug,
    scenario: &'static str,
    seeds: Range<u64>,
    checkers: &'static [&'static str],
    /// The cluster size, when the bug needs one (`None`: the scenario's default).
    members: Option<usize>,
    /// The fault families, when the bug needs others than the scenario's (empty: its own).
    faults: &'static [FaultKind],
}

const RAFT: &str = "raft invariants";

fn run(case: &Case, seed: u64, plant: Option<Bug>) -> ScenarioRun {
    let options = ScenarioOptions {
        plant: plant.map(|bug| bug.name().to_string()),
        members: case.members,
        faults: (!case.faults.is_empty()).then(|| case.faults.iter().copied().collect()),
        ..ScenarioOptions::default()
    };
    match runner::run(case.scenario, seed, &options, Mode::default()) {
        Ok(run) => run,
        Err(error) => panic!("{} seed {seed}: {error}", case.scenario),
    }
}

/// The checkers that flagged `run`.
fn flagged(run: &ScenarioRun) -> Vec<&str> {
    run.verdicts.iter().filter(|v| v.failed()).map(|v| v.checker.as_str()).collect()
}

fn caught(case: &Case) {
    let mut seen = Vec::new();
    let detected = case.seeds.clone().find(|&seed| {
        let run = run(case, seed, Some(case.bug));
        let by = flagged(&run);
        seen.push(format!("seed {seed}: {by:?}"));
        by.iter().any(|checker| case.checkers.contains(checker))
    });
    assert!(
        detected.is_some(),
        "{} was not caught by {:?} in {} seeds {:?}: {seen:?}",
        case.bug.name(),
        case.checkers,
        case.scenario,
        case.seeds
    );
}

fn clean(scenario: &'static str, seeds: Range<u64>) {
    clean_with(scenario, seeds, None, &[])
}

fn clean_with(
    scenario: &'static str,
    seeds: Range<u64>,
    members: Option<usize>,
    faults: &'static [FaultKind],
) {
    let case = Case {
        bug: Bug::StaleRead,
        scenario,
        seeds: seeds.clone(),
        checkers: &[],
        members,
        faults,
    };
    for seed in seeds {
        let run = run(&case, seed, None);
        assert!(run.passed, "{scenario} seed {seed} failed without a plant: {:?}", flagged(&run));
    }
}

macro_rules! planted {
    ($name:ident, $bug:expr, $scenario:literal, $seeds:expr, $checkers:expr) => {
        planted!($name, $bug, $scenario, $seeds, $checkers, None, &[]);
    };
    ($name:ident, $bug:expr, $scenario:literal, $seeds:expr, $checkers:expr, $members:expr) => {
        planted!($name, $bug, $scenario, $seeds, $checkers, $members, &[]);
    };
    (
        $name:ident,
        $bug:expr,
        $scenario:literal,
        $seeds:expr,
        $checkers:expr,
        $members:expr,
        $faults:expr
    ) => {
        #[test]
        fn $name() {
            let (bug, scenario, seeds, checkers, members, faults) =
                ($bug, $scenario, $seeds, $checkers, $members, $faults);
            caught(&Case { bug, scenario, seeds, checkers, members, faults });
        }
    };
}

// A stale read needs a deposed leader that still serves its clients: kv's own aimed episode (the
// leader stranded past an election, its pinned clients staying on it) makes one on most seeds.
planted!(stale_read, Bug::StaleRead, "kv", 0..10, &["linearizable (etcd model)"]);
planted!(revision_skip, Bug::RevisionSkip, "kv", 0..5, &["linearizable (etcd model)"]);
planted!(torn_txn, Bug::TornTxn, "bank", 0..5, &["bank (sum + linearizable)"]);
// register's aimed episode is a power loss with slowed disks.
planted!(
    ack_before_durable,
    Bug::AckBeforeDurable,
    "register",
    0..10,
    &[RAFT, "liveness", "recovery", "convergence", "linearizable (register model)"]
);
planted!(watch_skip, Bug::WatchSkip, "watch", 0..10, &["watch"]);
planted!(lost_delete_event, Bug::LostDeleteEvent, "watch", 0..5, &["watch"]);
planted!(follower_lease_expiry, Bug::FollowerLeaseExpiry, "lease", 0..10, &["lease"]);
planted!(no_lease_refresh, Bug::NoLeaseRefresh, "lease", 0..5, &["lease"]);
// lease's aimed episode strands the leader past an election and a lease's TTL.
planted!(unconfirmed_keepalive, Bug::UnconfirmedKeepAlive, "lease", 0..10, &["lease"]);
planted!(partial_revoke, Bug::PartialRevoke, "lease", 0..5, &["lease"]);
// A waiter's key must expire while it waits (a client frozen in the queue).
planted!(lock_expired_waiter, Bug::LockToExpiredWaiter, "lock", 0..12, &["lock (fenced)"]);
// kv's clients read at exactly the revision they just compacted at, and at revisions seen
// earlier, some compacted by now.
planted!(compact_off_by_one, Bug::CompactOffByOne, "kv", 0..10, &["linearizable (etcd model)"]);
planted!(compacted_read, Bug::CompactedRead, "kv", 0..10, &["linearizable (etcd model)"]);
// A follower must install a snapshot while a client still reads its watchers: watch strands the
// most-watched follower, alone, early enough to come back; seeds 1 and 4.
planted!(snapshot_watch_gap, Bug::SnapshotWatchGap, "watch", 0..5, &["watch"]);
// A read index must fail for want of leadership (a deposed leader back from being stranded)
// while the member is behind a write its successor acknowledged: seeds 12 and 20.
planted!(retried_read_local, Bug::RetriedReadLocal, "kv", 10..22, &["linearizable (etcd model)"]);
// A member restored from its snapshot (a follower's install, a restart) must serve history
// below the compaction it forgot: watchers resuming there from a past revision are caught up
// from what compaction left instead of being canceled, and skip events.
planted!(forgotten_compaction, Bug::ForgottenCompaction, "watch", 0..5, &["watch"]);
// kv judges it too (its past reads against the committed history), on fewer seeds: with
// crashes and pauses only, seeds 20..30 hold a catch.
planted!(
    forgotten_compaction_in_kv,
    Bug::ForgottenCompaction,
    "kv",
    20..30,
    &["linearizable (etcd model)", "past reads (committed history)"],
    None,
    &[FaultKind::Crash, FaultKind::Pause]
);
// A one-member cluster: a lost acknowledged entry is gone from every replica; the restarted
// member applies another command at its index.
planted!(
    group_commit_overreach,
    Bug::GroupCommitOverreach,
    "register",
    0..10,
    &[RAFT, "liveness", "recovery", "convergence", "linearizable (register model)"],
    Some(1)
);
// A user's txn whose compare and then-branch it may touch, with an else-branch it may not:
// auth's users send them all the time while permissions change.
planted!(txn_else_unchecked, Bug::TxnElseUnchecked, "auth", 0..5, &["auth"]);

// The clean runs of every range above (each scenario over the widest range of each group).
#[test]
fn kv_is_clean_without_plants() {
    clean("kv", 0..22);
}

#[test]
fn kv_with_crashes_and_pauses_is_clean_without_plants() {
    clean_with("kv", 20..30, None, &[FaultKind::Crash, FaultKind::Pause]);
}

#[test]
fn bank_is_clean_without_plants() {
    clean("bank", 0..5);
}

#[test]
fn register_is_clean_without_plants() {
    clean("register", 0..10);
}

#[test]
fn watch_is_clean_without_plants() {
    clean("watch", 0..10);
}

#[test]
fn one_member_register_is_clean_without_plants() {
    clean_with("register", 0..10, Some(1), &[]);
}

#[test]
fn lock_is_clean_without_plants() {
    clean("lock", 0..12);
}

#[test]
fn lease_is_clean_without_plants() {
    clean("lease", 0..10);
}

#[test]
fn auth_is_clean_without_plants() {
    clean("auth", 0..5);
}

#[test]
fn unknown_plant_is_a_clear_error() {
    let options = ScenarioOptions { plant: Some("nope".into()), ..ScenarioOptions::default() };
    let error = runner::run("kv", 0, &options, Mode::default()).err().unwrap_or_default();
    assert!(
        error.contains("unknown planted bug 'nope'") && error.contains("stale-read"),
        "{error}"
    );
}

#[test]
fn replay_command_names_the_plant() {
    let case = Case {
        bug: Bug::WatchSkip,
        scenario: "watch",
        seeds: 0..1,
        checkers: &[],
        members: None,
        faults: &[],
    };
    let run = run(&case, 0, Some(Bug::WatchSkip));
    assert!(runner::replay_command(&run).ends_with("--plant watch-skip"));
}

/// `unconfirmed-keepalive` needs a leader cut off from the other members while clients still
/// reach it, longer than a lease's TTL. lease's aimed episode draws that (above); this case states
/// the plan outright, as a split with n1 (the usual first leader) alone for 8 s.
fn split_plan() -> ScenarioOptions {
    use detcd_sim::faults::Fault;
    use detcd_sim::plan::{FaultPlan, Scheduled};
    let faults = vec![
        Scheduled { at_ms: 1_000, fault: Fault::Split { minority: vec![1] } },
        Scheduled { at_ms: 9_000, fault: Fault::HealNetwork },
    ];
    ScenarioOptions { plan: Some(FaultPlan { faults }), ..ScenarioOptions::default() }
}

fn split_run(seed: u64, plant: Option<Bug>) -> ScenarioRun {
    let options =
        ScenarioOptions { plant: plant.map(|bug| bug.name().to_string()), ..split_plan() };
    runner::run("lease", seed, &options, Mode::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn unconfirmed_keepalive_under_a_member_split() {
    let seeds = 0..5;
    let caught = seeds.clone().find(|&seed| {
        flagged(&split_run(seed, Some(Bug::UnconfirmedKeepAlive))).contains(&"lease")
    });
    assert!(caught.is_some(), "unconfirmed-keepalive not caught in seeds {seeds:?}");
    eprintln!("unconfirmed-keepalive caught at seed {caught:?}");
    for seed in seeds {
        let run = split_run(seed, None);
        assert!(run.passed, "lease seed {seed} with the split failed: {:?}", flagged(&run));
    }
}
