//! Replay plans of runs that once failed (each found by a sweep and shrunk), replayed on every
//! test run: each must pass now. The file name says what went wrong; a plan's whole shape is in it,
//! so it keeps reproducing its situation when the code changes, where a bare seed would drift.
//!
//! - `bank-fsync-error-mid-write`: the leader's fsync failed while a transfer was in flight; raft
//!   stopped, the member answered "server stopped" and the client recorded a definite failure,
//!   but the followers had the entry and the next leader committed it (swarm seed 407).
#![cfg(madsim)]

use detcd_scenarios::plan_file::ReplayPlan;
use detcd_scenarios::shrink::run_plan;
use std::path::Path;

#[test]
fn every_regression_plan_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut plans: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".plan.json"))
        .collect();
    plans.sort();
    assert!(!plans.is_empty(), "no plans in {}", dir.display());
    for path in plans {
        let plan = ReplayPlan::load(&path).unwrap();
        let run = run_plan(&plan).unwrap();
        let failures: Vec<_> = run.verdicts.iter().filter(|v| v.failed()).collect();
        assert!(failures.is_empty(), "{} fails again: {failures:?}", path.display());
    }
}
