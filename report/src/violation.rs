//! A checker's verdict made drawable: the window to highlight, the partial linearisation to draw,
//! and a plain-language explanation.
//!
//! Two shapes of checker details are understood: the linearizability checker's `Violation`
//! (`window`, `longest`, `stuck`, `state`, `message`) and a safety checker's verdict
//! (`{"verdict": "violation", "findings": [{rule, records, message}]}`, records being operation
//! indices); a list of strings (the simulator's invariants) becomes findings without records.
//! Anything else keeps only the summary. Operation numbers beyond the history are dropped.

use crate::input::CheckerInput;
use crate::ops::OpBar;
use detcd_check::history::Operation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many steps of the partial linearisation the page lists (the last ones: they lead up to
/// where the search got stuck).
pub const SHOWN_STEPS: usize = 40;

/// One step of the partial linearisation and the state after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    /// Position in the linearisation (1-based).
    pub position: usize,
    pub op: usize,
    pub state: String,
}

/// A non-linearizable history, ready to draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViolationView {
    pub partition: Option<String>,
    /// The smallest window that cannot be linearised (operation indices).
    pub window: Vec<usize>,
    /// The operation the search could not take in.
    pub stuck: Option<usize>,
    /// The last [`SHOWN_STEPS`] steps of the longest partial linearisation.
    pub steps: Vec<StepView>,
    /// How many operations the partial linearisation holds in all.
    pub linearized: usize,
    pub state: String,
    /// The checker's own message.
    pub message: String,
    /// The same in plain words, with times and values.
    pub explanation: String,
    /// The time range to zoom on: the window's operations, with a margin.
    pub from: f64,
    pub to: f64,
}

/// One finding of a safety checker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingView {
    pub rule: String,
    pub records: Vec<usize>,
    pub message: String,
}

/// One checker's verdict as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictView {
    pub checker: String,
    pub ok: Option<bool>,
    pub seconds: f64,
    pub summary: String,
    pub violation: Option<ViolationView>,
    pub findings: Vec<FindingView>,
}

fn indices(value: Option<&Value>, len: usize) -> Vec<usize> {
    let list = value.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    list.iter().filter_map(Value::as_u64).map(|i| i as usize).filter(|i| *i < len).collect()
}

fn text(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Builds the view of one verdict.
pub fn view(input: &CheckerInput, history: &[Operation], bars: &[OpBar]) -> VerdictView {
    let details = &input.details;
    let violation = details.get("window").and_then(|_| linearizability(details, history, bars));
    VerdictView {
        checker: input.checker.clone(),
        ok: input.ok,
        seconds: input.seconds,
        summary: input.summary.clone(),
        violation,
        findings: findings(details, history.len()),
    }
}

fn findings(details: &Value, len: usize) -> Vec<FindingView> {
    if let Some(list) = details.get("findings").and_then(Value::as_array) {
        return list
            .iter()
            .map(|f| FindingView {
                rule: text(f.get("rule")),
                records: indices(f.get("records"), len),
                message: text(f.get("message")),
            })
            .collect();
    }
    let Some(list) = details.as_array() else { return Vec::new() };
    list.iter()
        .filter_map(Value::as_str)
        .map(|m| FindingView { rule: "invariant".into(), records: Vec::new(), message: m.into() })
        .collect()
}

fn linearizability(
    details: &Value,
    history: &[Operation],
    bars: &[OpBar],
) -> Option<ViolationView> {
    let len = history.len();
    let window = indices(details.get("window"), len);
    let stuck =
        details.get("stuck").and_then(Value::as_u64).map(|i| i as usize).filter(|i| *i < len);
    let longest: Vec<(usize, String)> = details
        .get("longest")
        .and_then(Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| Some((s.get("op")?.as_u64()? as usize, text(s.get("state")))))
                .filter(|(op, _)| *op < len)
                .collect()
        })
        .unwrap_or_default();
    let skip = longest.len().saturating_sub(SHOWN_STEPS);
    let steps = longest
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, (op, state))| StepView { position: i + 1, op: *op, state: state.clone() })
        .collect();
    let state = text(details.get("state"));
    let (from, to) = range(&window, bars);
    let explanation =
        explain(stuck, &window, longest.last().map(|s| s.0), longest.len(), &state, bars);
    Some(ViolationView {
        partition: details.get("partition").and_then(Value::as_str).map(str::to_string),
        window,
        stuck,
        steps,
        linearized: longest.len(),
        state,
        message: text(details.get("message")),
        explanation,
        from,
        to,
    })
}

/// The window's time range with a margin of a fifth on each side (at least 50 ms).
fn range(window: &[usize], bars: &[OpBar]) -> (f64, f64) {
    let ops: Vec<&OpBar> = window.iter().filter_map(|i| bars.get(*i)).collect();
    let from = ops.iter().map(|op| op.call).fold(f64::INFINITY, f64::min);
    let to = ops.iter().map(|op| op.end).fold(f64::NEG_INFINITY, f64::max);
    if !from.is_finite() || !to.is_finite() {
        return (0.0, 0.0);
    }
    let margin = ((to - from) / 5.0).max(0.05);
    ((from - margin).max(0.0), to + margin)
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    format!("{}...", text.chars().take(max).collect::<String>())
}

/// "client 4 range k1 got {...} at t=4.120s (operation #455), but ..."
fn explain(
    stuck: Option<usize>,
    window: &[usize],
    last: Option<usize>,
    linearized: usize,
    state: &str,
    bars: &[OpBar],
) -> String {
    let Some(op) = stuck.and_then(|i| bars.get(i)) else {
        return "the checker found no order of the operations that explains every outcome".into();
    };
    let key = op.key.as_deref().map(|k| format!(" {k}")).unwrap_or_default();
    let mut text = format!(
        "client {} {}{key} got {} at t={:.3}s (operation #{}), but every linearisation",
        op.client,
        op.f,
        clip(&op.response(), 160),
        op.end,
        op.index
    );
    if let Some(prior) = last.and_then(|i| bars.get(i)) {
        text += &format!(
            " of the {linearized} operations up to {} #{} (client {}, returned t={:.3}s)",
            prior.f, prior.index, prior.client, prior.end
        );
    }
    text += &format!(" leaves the state at {}", clip(state, 200));
    let others: Vec<String> =
        window.iter().filter(|i| Some(**i) != stuck).map(|i| format!("#{i}")).collect();
    if others.is_empty() {
        text += ", and no operation was concurrent with it that could explain the difference.";
    } else {
        text += &format!(
            ", and no order of the {} operation(s) concurrent with it ({}) explains that answer.",
            others.len(),
            others.join(", ")
        );
    }
    text
}
