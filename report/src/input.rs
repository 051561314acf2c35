//! What a caller hands the report: plain data, no simulator types.

use detcd_check::history::Operation;
use serde::{Deserialize, Serialize};

/// Facts about the run as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub scenario: String,
    pub seed: u64,
    pub members: usize,
    pub clients: usize,
    pub chaos_secs: f64,
    pub sim_secs: f64,
    pub real_secs: f64,
    pub buggify: bool,
    /// A planted bug's name, if one was switched on.
    #[serde(default)]
    pub plant: Option<String>,
    /// The faults that fired, as the trace says them (`crash n2@4.1s`).
    pub faults: Vec<String>,
    pub passed: bool,
    /// The command that replays the run exactly.
    pub replay: String,
    pub trace_hash: String,
}

/// One checker's verdict as the scenario produced it; `details` is the checker's own JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckerInput {
    pub checker: String,
    /// `Some(true)` ok, `Some(false)` violated, `None` unknown.
    pub ok: Option<bool>,
    pub seconds: f64,
    pub summary: String,
    pub details: serde_json::Value,
}

/// Everything a report is built from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInput {
    pub header: Header,
    /// The run's trace, one event per line (`   4.102s n2   leader term=3 leader=n2`).
    pub trace: Vec<String>,
    pub history: Vec<Operation>,
    pub verdicts: Vec<CheckerInput>,
}
