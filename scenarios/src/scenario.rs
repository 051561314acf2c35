//! What a scenario is, the options a user can set, and the verdicts checkers return.

use detcd_sim::knobs::Knobs;
use detcd_sim::plan::{Aims, FaultKind, FaultPlan};
use detcd_sim::run::RunResult;
use detcd_sim::workload::{QuietWindow, Workload};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// A workload, the faults around it, and its checkers.
pub trait Scenario: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn workload(&self, options: &ScenarioOptions) -> Arc<dyn Workload>;
    /// A demonstration that some checker catches a known unsafe use (e.g. an unfenced lock):
    /// its runs are meant to be flagged, so `swarm` leaves it out.
    fn expected_to_fail(&self) -> bool {
        false
    }
    /// Whether the run must read the committed event history from the members (watch checks).
    fn records_events(&self) -> bool {
        false
    }
    /// The aimed fault episodes the scenario's guarantees are most at risk in, and how often
    /// its seeded plans get one (`swarm` keeps the default for every scenario it picks).
    fn aims(&self) -> Aims {
        Aims::default()
    }
    /// The seed's knobs (snapshot thresholds, fsync latency, outbox size, ...), drawn from the
    /// seed's own knobs stream (`swarm` always draws `Knobs::draw`). A scenario overrides it to
    /// make the paths its guarantees depend on likely, never to switch others off.
    fn knobs(&self, rng: &mut ChaCha8Rng) -> Knobs {
        Knobs::draw(rng)
    }
    /// Judges a finished run (its history and what the simulator saw).
    fn check(&self, result: &RunResult, options: &ScenarioOptions) -> Vec<CheckerVerdict>;
}

/// What the user may set on the command line; `None` = the scenario's or the seed's choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioOptions {
    pub members: Option<usize>,
    pub clients: Option<usize>,
    /// Length of the chaos phase.
    pub duration: Option<Duration>,
    /// Faults per ten simulated seconds.
    pub intensity: Option<f64>,
    /// Fault families to draw from (default: partition, crash, pause, clock).
    pub faults: Option<BTreeSet<FaultKind>>,
    /// No faults at all.
    pub no_faults: bool,
    pub buggify: bool,
    /// A planted bug's name (`detcd_core::plant::Bug::name`), switched on for the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plant: Option<String>,
    /// Replay exactly this plan instead of drawing one from the seed.
    pub plan: Option<FaultPlan>,
    /// Use these snapshot, WAL, fsync and watch settings instead of drawing them from the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knobs: Option<Knobs>,
    /// Stop the clients after this many operations in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ops: Option<usize>,
    /// Spans of the chaos phase in which a client issues no new operations (from plan files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quiet: Vec<QuietWindow>,
}

/// One checker's judgement of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckerVerdict {
    pub checker: String,
    /// `Some(true)` ok, `Some(false)` violated, `None` unknown (budget exhausted).
    pub ok: Option<bool>,
    pub seconds: f64,
    /// One line: "ok (1412 ops, 0.21s)", or what is wrong.
    pub summary: String,
    /// The checker's full output (violation windows, findings) for reports.
    pub details: serde_json::Value,
}

impl CheckerVerdict {
    pub fn failed(&self) -> bool {
        self.ok != Some(true)
    }
}
