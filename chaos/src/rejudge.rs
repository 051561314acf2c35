//! Judging a recorded history again (`detcd-chaos check <scenario> <history.jsonl>`), as
//! Jepsen re-analyses a stored run: a real run cannot be replayed, but its history can be
//! checked again by a newer checker, or read for every finding rather than the report's line.
//!
//! The history is the file a run wrote (`<stem>.history.jsonl`, one operation a line); the
//! verdicts are exactly the ones the run's own judging gives (`Scenario::judge`), without the
//! liveness and member checks, which need the live cluster.

use crate::workloads::{Scenario, Verdict};
use detcd_check::history::Operation;
use std::path::Path;

/// The operations of a history file, or what is wrong with it (which line, why).
pub fn read_history(path: &Path) -> Result<Vec<Operation>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("{} line {}: not an operation: {e}", path.display(), n + 1))
        })
        .collect()
}

/// The scenario's verdicts on the history in `path`.
pub fn judge_file(scenario: Scenario, path: &Path) -> Result<Vec<Verdict>, String> {
    Ok(scenario.judge(&read_history(path)?))
}
