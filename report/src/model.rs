//! The report's data: everything the page draws, derived once from a [`RunInput`].

use crate::input::{Header, RunInput};
use crate::lanes::{self, FaultSpan, LeaderChange, NodeLane};
use crate::ops::{self, OpBar};
use crate::trace_line;
use crate::violation::{self, VerdictView};
use serde::{Deserialize, Serialize};

/// A run, ready to draw (and the `.report.json` tools read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub header: Header,
    /// Virtual seconds covered by the timeline (the last trace line, or the last operation).
    pub end: f64,
    /// When the chaos phase began and when everything was healed, if the trace says.
    pub chaos_start: Option<f64>,
    pub healed_at: Option<f64>,
    pub ops: Vec<OpBar>,
    pub nodes: Vec<NodeLane>,
    pub spans: Vec<FaultSpan>,
    pub leaders: Vec<LeaderChange>,
    pub verdicts: Vec<VerdictView>,
    /// What the simulator itself reported (`VIOLATION ...` lines), with times.
    pub sim_violations: Vec<String>,
}

impl RunReport {
    /// Derives the report; never fails (odd input shows up as less detail, not as an error).
    pub fn build(input: &RunInput) -> RunReport {
        let parsed: Vec<_> = input.trace.iter().filter_map(|l| trace_line::parse(l)).collect();
        let trace_end = parsed.iter().map(|l| l.at).fold(0.0, f64::max);
        let ops = ops::bars(&input.history, &parsed, trace_end);
        let op_end = ops.iter().map(|op| op.end).fold(0.0, f64::max);
        let end = trace_end.max(op_end).max(input.header.sim_secs).max(0.001);
        let at = |what: &str| parsed.iter().find(|l| l.who == "sim" && l.what.starts_with(what));
        let timeline = lanes::derive(&parsed, input.header.members, end);
        let verdicts =
            input.verdicts.iter().map(|v| violation::view(v, &input.history, &ops)).collect();
        RunReport {
            header: input.header.clone(),
            end,
            chaos_start: at("chaos begins").map(|l| l.at),
            healed_at: at("heal all").map(|l| l.at),
            ops,
            nodes: timeline.nodes,
            spans: timeline.spans,
            leaders: timeline.leaders,
            verdicts,
            sim_violations: parsed
                .iter()
                .filter(|l| l.who == "sim" && l.what.starts_with("VIOLATION"))
                .map(|l| format!("{:.3}s {}", l.at, l.what))
                .collect(),
        }
    }

    /// True when some checker's verdict was a violation.
    pub fn violated(&self) -> bool {
        self.verdicts.iter().any(|v| v.ok == Some(false))
    }
}
