//! Shrinking a failing seed, and replaying runs from plan files (simulator build only).
//!
//! The failing run is the first of `kv --seeds 0..40 --plant stale-read` that fails (linearizable
//! reads served locally by a possibly deposed leader, which the etcd model flags on about one seed
//! in twelve): which seed that is moves whenever the core changes what a seed does.
#![cfg(madsim)]

use detcd_scenarios::plan_file::ReplayPlan;
use detcd_scenarios::runner::{self, Mode};
use detcd_scenarios::scenario::ScenarioOptions;
use detcd_scenarios::shrink::{self, run_plan};

fn plan_of(scenario: &str, seed: u64) -> ReplayPlan {
    plan_with(scenario, seed, ScenarioOptions::default())
}

fn plan_with(scenario: &str, seed: u64, options: ScenarioOptions) -> ReplayPlan {
    let run = runner::run(scenario, seed, &options, Mode::default()).unwrap();
    ReplayPlan::of(&run)
}

#[test]
fn a_plan_replays_its_run_exactly() {
    let run = runner::run("bank", 3, &ScenarioOptions::default(), Mode::default()).unwrap();
    let replayed = run_plan(&ReplayPlan::of(&run)).unwrap();
    assert_eq!(replayed.trace_hash, run.trace_hash);
}

#[test]
fn bad_plan_files_are_refused_by_name() {
    let dir = std::env::temp_dir().join(format!("detcd-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.plan.json");
    std::fs::write(&path, r#"{"scenario": "kv", "seed": 1}"#).unwrap();
    let error = ReplayPlan::load(&path).unwrap_err();
    assert!(error.contains("bad.plan.json") && error.contains("members"), "{error}");
    let mut plan = plan_of("kv", 1);
    plan.members = 9;
    plan.save(&path).unwrap();
    let error = ReplayPlan::load(&path).unwrap_err();
    assert!(error.contains("members must be 1 to 7"), "{error}");
    assert!(ReplayPlan::load(&dir.join("missing.json")).unwrap_err().contains("cannot read"));
}

#[test]
fn shrinking_a_failing_seed_gives_a_smaller_plan_that_still_fails() {
    let planted =
        ScenarioOptions { plant: Some("stale-read".into()), ..ScenarioOptions::default() };
    let original = (0..40)
        .map(|seed| runner::run("kv", seed, &planted, Mode::default()).unwrap())
        .find(|run| !run.passed)
        .map(|run| ReplayPlan::of(&run))
        .expect("stale-read is flagged within kv seeds 0..40 (26, 29)");
    assert_eq!(original.plant.as_deref(), Some("stale-read"), "the plan carries the plant");
    let shrunk = shrink::shrink(original.clone(), 40, &mut |_| {}).unwrap();
    let minimal = &shrunk.minimal;
    let size = |p: &ReplayPlan| {
        (p.plan.faults.len(), p.members, p.clients, (p.chaos_secs * 1000.0) as u64)
    };
    let (before, after) = (size(&original), size(minimal));
    assert!(
        after.0 <= before.0 && after.1 <= before.1 && after.2 <= before.2 && after.3 <= before.3
    );
    assert_ne!(after, before, "nothing was shrunk: {}", minimal.size());
    let replayed = run_plan(minimal).unwrap();
    let failed =
        replayed.verdicts.iter().any(|v| v.checker == shrunk.checker && v.ok == Some(false));
    assert!(failed, "the minimal plan no longer fails with {}", shrunk.checker);
    assert!(
        replayed.ops < shrunk.ops.0,
        "no fewer operations: {} of {}",
        replayed.ops,
        shrunk.ops.0
    );
}

#[test]
fn an_operation_cap_stops_the_clients_and_travels_with_the_plan() {
    let capped = ScenarioOptions { max_ops: Some(12), ..ScenarioOptions::default() };
    let run = runner::run("kv", 2, &capped, Mode::default()).unwrap();
    let uncapped = runner::run("kv", 2, &ScenarioOptions::default(), Mode::default()).unwrap();
    // Clients check the cap before each operation, so at most one per client is already under way.
    assert!((12..=12 + run.clients).contains(&run.ops), "{} ops under a cap of 12", run.ops);
    assert!(uncapped.ops > run.ops + run.clients, "the cap changed nothing: {}", uncapped.ops);
    assert!(runner::replay_command(&run).ends_with("--max-ops 12"));
    let plan = ReplayPlan::of(&run);
    assert_eq!(plan.max_ops, Some(12));
    assert_eq!(run_plan(&plan).unwrap().trace_hash, run.trace_hash);
}
