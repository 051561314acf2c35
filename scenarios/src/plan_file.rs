//! Replay plans: a run's whole shape in a file, so it replays without its seed's choices and a
//! shrinker can edit it.
//!
//! ```json
//! {"scenario": "kv", "seed": 11, "members": 3, "clients": 4, "chaos_secs": 10.0,
//!  "buggify": false, "plant": null, "max_ops": 40,
//!  "quiet": [{"client": 2, "from_ms": 2500, "to_ms": 5000}],
//!  "plan": {"faults": [{"at_ms": 6000, "fault": {"kind": "isolate", "target": "leader"}}]}}
//! ```
//!
//! The seed still seeds the simulation (network delays, clients' choices); everything the seed
//! would otherwise decide at the scenario level (cluster size, client count, chaos length, fault
//! plan) comes from the file. `quiet` lists spans of the chaos phase (milliseconds since it began)
//! in which a client issues no new operations; the shrinker writes them to take operations out of
//! the middle of a run, and plans without the field run every client throughout. Loading
//! validates what the runner would reject, naming the file.

use crate::runner::ScenarioRun;
use crate::scenario::ScenarioOptions;
use detcd_sim::knobs::Knobs;
use detcd_sim::plan::FaultPlan;
use detcd_sim::workload::QuietWindow;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// Everything that decides a run, as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayPlan {
    /// A scenario name (never `swarm`: a plan names what actually ran).
    pub scenario: String,
    pub seed: u64,
    pub members: usize,
    pub clients: usize,
    /// Length of the chaos phase, in simulated seconds.
    pub chaos_secs: f64,
    #[serde(default)]
    pub buggify: bool,
    /// A planted bug's name (see `detcd-sim list`), if the build has planted bugs.
    #[serde(default)]
    pub plant: Option<String>,
    /// Stop the clients after this many operations in all (absent: run until chaos ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ops: Option<usize>,
    /// Spans of the chaos phase in which one client issues no new operations (absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quiet: Vec<QuietWindow>,
    pub plan: FaultPlan,
    /// Snapshot, WAL, fsync and watch settings (absent in plans written before they existed,
    /// which ran with etcd's).
    #[serde(default = "Knobs::etcd")]
    pub knobs: Knobs,
}

impl ReplayPlan {
    /// The plan of a finished run: replaying it gives the same trace.
    pub fn of(run: &ScenarioRun) -> ReplayPlan {
        ReplayPlan {
            scenario: run.scenario.clone(),
            seed: run.seed,
            members: run.members,
            clients: run.clients,
            chaos_secs: run.chaos_secs,
            buggify: run.buggify,
            plant: run.options.plant.clone(),
            max_ops: run.options.max_ops,
            quiet: run.options.quiet.clone(),
            plan: run.plan.clone(),
            knobs: run.knobs.clone(),
        }
    }

    /// The runner's options that make it run exactly this plan.
    pub fn options(&self) -> Result<ScenarioOptions, String> {
        Ok(ScenarioOptions {
            plant: self.plant.clone(),
            members: Some(self.members),
            clients: Some(self.clients),
            duration: Some(Duration::from_secs_f64(self.chaos_secs)),
            buggify: self.buggify,
            plan: Some(self.plan.clone()),
            max_ops: self.max_ops,
            quiet: self.quiet.clone(),
            knobs: Some(self.knobs.clone()),
            ..ScenarioOptions::default()
        })
    }

    /// What is wrong with the plan, if anything.
    pub fn validate(&self) -> Result<(), String> {
        if self.scenario == "swarm" {
            return Err("scenario must be the one that ran, not 'swarm'".into());
        }
        if !(1..=7).contains(&self.members) {
            return Err(format!("members must be 1 to 7, not {}", self.members));
        }
        if self.clients == 0 || self.clients > 256 {
            return Err(format!("clients must be 1 to 256, not {}", self.clients));
        }
        if !(self.chaos_secs.is_finite() && self.chaos_secs > 0.0 && self.chaos_secs <= 3600.0) {
            return Err(format!("chaos_secs must be between 0 and 3600, not {}", self.chaos_secs));
        }
        if self.max_ops == Some(0) {
            return Err("max_ops must be at least 1".into());
        }
        for window in &self.quiet {
            if !(1..=self.clients as u64).contains(&window.client) {
                return Err(format!(
                    "a quiet window names client {}; clients are 1 to {}",
                    window.client, self.clients
                ));
            }
            if window.from_ms >= window.to_ms {
                return Err(format!(
                    "quiet window of client {} must end after it starts ({} to {} ms)",
                    window.client, window.from_ms, window.to_ms
                ));
            }
        }
        Ok(())
    }

    /// Reads and validates a plan file; errors name the file.
    pub fn load(path: &Path) -> Result<ReplayPlan, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read plan file {}: {e}", path.display()))?;
        let plan: ReplayPlan = serde_json::from_str(&text)
            .map_err(|e| format!("plan file {} is not a replay plan: {e}", path.display()))?;
        plan.validate().map_err(|e| format!("plan file {}: {e}", path.display()))?;
        Ok(plan)
    }

    /// Writes the plan as pretty JSON.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json + "\n")
    }

    /// Sizes the shrinker reduces, for showing before and after.
    pub fn size(&self) -> String {
        let ops = self.max_ops.map_or(String::new(), |ops| format!(", at most {ops} op(s)"));
        let quiet = if self.quiet.is_empty() {
            String::new()
        } else {
            let ms: u64 = self.quiet.iter().map(|w| w.to_ms.saturating_sub(w.from_ms)).sum();
            let clients: std::collections::BTreeSet<u64> =
                self.quiet.iter().map(|w| w.client).collect();
            format!(
                ", {} quiet window(s) on {} client(s) ({:.2} client-seconds)",
                self.quiet.len(),
                clients.len(),
                ms as f64 / 1000.0
            )
        };
        format!(
            "{} fault(s), {} member(s), {} client(s), {:.2}s chaos{ops}{quiet}",
            self.plan.faults.len(),
            self.members,
            self.clients,
            self.chaos_secs
        )
    }
}
