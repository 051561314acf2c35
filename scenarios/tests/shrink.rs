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
use detcd_sim::workload::QuietWindow;

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

/// The plan of the first of `kv --seeds 0..40 --plant stale-read` that fails.
fn first_failing_stale_read() -> ReplayPlan {
    let planted =
        ScenarioOptions { plant: Some("stale-read".into()), ..ScenarioOptions::default() };
    (0..40)
        .map(|seed| runner::run("kv", seed, &planted, Mode::default()).unwrap())
        .find(|run| !run.passed)
        .map(|run| ReplayPlan::of(&run))
        .expect("stale-read is flagged within kv seeds 0..40")
}

#[test]
fn shrinking_a_failing_seed_gives_a_smaller_plan_that_still_fails() {
    let original = first_failing_stale_read();
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

/// The chaos-phase milliseconds at which `client` invoked an operation in `run`.
fn calls_of(run: &runner::ScenarioRun, client: u64) -> Vec<u64> {
    let result = run.result.as_ref().unwrap();
    let start = result.chaos_started.as_secs_f64();
    result
        .history
        .iter()
        .filter(|op| op.client == client)
        .map(|op| ((op.call - start) * 1000.0) as u64)
        .collect()
}

#[test]
fn a_quiet_window_silences_its_client_and_replays_exactly() {
    let mut plan = plan_of("kv", 2);
    plan.quiet = vec![QuietWindow { client: 1, from_ms: 2000, to_ms: 6000 }];
    let run = run_plan(&plan).unwrap();
    let calls = calls_of(&run, 1);
    assert!(
        !calls.iter().any(|&at| (2001..6000).contains(&at)),
        "client 1 invoked inside its window: {calls:?}"
    );
    assert!(calls.iter().any(|&at| at < 2000) && calls.iter().any(|&at| at >= 6000));
    assert!(calls_of(&run, 2).iter().any(|&at| (2000..6000).contains(&at)), "the others go on");
    // The window travels with the plan file and replays byte for byte.
    let dir = std::env::temp_dir().join(format!("detcd-quiet-{}", std::process::id()));
    let path = dir.join("quiet.plan.json");
    ReplayPlan::of(&run).save(&path).unwrap();
    let loaded = ReplayPlan::load(&path).unwrap();
    assert_eq!(loaded, plan);
    assert_eq!(run_plan(&loaded).unwrap().trace_hash, run.trace_hash);
    assert_eq!(run_plan(&loaded).unwrap().trace_hash, run.trace_hash);
}

#[test]
fn a_plan_file_from_before_quiet_windows_still_loads_and_writes_none() {
    let dir = std::env::temp_dir().join(format!("detcd-old-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.plan.json");
    let old = r#"{"scenario": "kv", "seed": 11, "members": 3, "clients": 4, "chaos_secs": 2.0,
        "buggify": false, "plant": null, "max_ops": 40,
        "plan": {"faults": [{"at_ms": 600, "fault": {"kind": "isolate", "target": "leader"}}]}}"#;
    std::fs::write(&path, old).unwrap();
    let plan = ReplayPlan::load(&path).unwrap();
    assert!(plan.quiet.is_empty());
    assert!(run_plan(&plan).is_ok());
    // A plan without windows is written without the field, so older builds read it too.
    plan.save(&path).unwrap();
    assert!(!std::fs::read_to_string(&path).unwrap().contains("quiet"));
    let mut bad = plan.clone();
    bad.quiet = vec![QuietWindow { client: 5, from_ms: 0, to_ms: 100 }];
    assert!(bad.validate().unwrap_err().contains("client 5"));
    bad.quiet = vec![QuietWindow { client: 1, from_ms: 100, to_ms: 100 }];
    assert!(bad.validate().unwrap_err().contains("end after it starts"));
}

/// The first of `kv --seeds 0..40 --plant stale-read` that fails: a violation
/// several seconds into a run of four clients, where capping the operation count keeps about a
/// hundred operations.
#[test]
fn quiet_windows_take_operations_out_of_the_middle_of_a_failing_run() {
    let original = first_failing_stale_read();
    let shrunk = shrink::shrink(original, 150, &mut |_| {}).unwrap();
    assert!(shrunk.runs <= 150, "{} runs over a budget of 150", shrunk.runs);
    let minimal = &shrunk.minimal;
    assert!(minimal.size().contains("quiet window"), "{}", minimal.size());
    let (capped, quieted) = shrunk.quieted;
    // At least a third of the operations go; how many more depends on the seed's schedule.
    assert!(quieted * 3 <= capped * 2, "quiet windows took {capped} operations only to {quieted}");
    // The minimal plan replays, byte for byte, and still fails with the same checker.
    let replayed = run_plan(minimal).unwrap();
    assert_eq!(replayed.ops, quieted);
    assert_eq!(run_plan(minimal).unwrap().trace_hash, replayed.trace_hash);
    let failed =
        replayed.verdicts.iter().any(|v| v.checker == shrunk.checker && v.ok == Some(false));
    assert!(failed, "the minimal plan no longer fails with {}", shrunk.checker);
    // Not just a tail cut: some client is silent for a while and then issues operations again.
    let resumed = minimal
        .quiet
        .iter()
        .any(|window| calls_of(&replayed, window.client).iter().any(|&at| at >= window.to_ms));
    assert!(resumed, "every window runs to the client's end: {:?}", minimal.quiet);
}
