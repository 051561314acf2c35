//! Operation bars: one per history operation, from call to return, coloured by outcome.
//!
//! An unknown outcome has no return time in the history; its bar ends where the trace recorded the
//! client giving up (`c3 -> unknown (timeout)`), found by pairing each client's invocations in
//! order (a client issues one operation at a time), else at the end of the run.

use crate::trace_line::{self, TraceLine};
use detcd_check::history::Operation;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// Definitely did not happen (`{"error": ...}` output).
    Failed,
    /// May or may not have happened.
    Unknown,
}

/// One operation as drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpBar {
    /// Index into the history (what checkers' windows refer to).
    pub index: usize,
    pub client: u64,
    pub f: String,
    pub key: Option<String>,
    pub call: f64,
    pub ret: Option<f64>,
    /// Where the bar ends: the return, or when the client gave up on an unknown outcome.
    pub end: f64,
    pub outcome: Outcome,
    pub input: Value,
    pub output: Value,
    /// The revision in the response header, when there is one.
    pub revision: Option<i64>,
    /// Why the outcome is unknown, as the trace says.
    pub note: Option<String>,
}

/// Ends of unknown operations per client: the time and reason of each `-> unknown` line, in
/// order, indexed by the client's n-th invocation.
fn completions(trace: &[TraceLine]) -> BTreeMap<u64, Vec<(f64, Option<String>)>> {
    let mut ends: BTreeMap<u64, Vec<(f64, Option<String>)>> = BTreeMap::new();
    for line in trace {
        let Some(client) = trace_line::client(line.who) else { continue };
        if let Some(rest) = line.what.strip_prefix("->") {
            let rest = rest.trim();
            let why = rest
                .strip_prefix("unknown")
                .map(|why| why.trim().trim_start_matches('(').trim_end_matches(')').to_string());
            ends.entry(client).or_default().push((line.at, why));
        }
    }
    ends
}

fn outcome(op: &Operation) -> Outcome {
    if op.ret.is_none() {
        Outcome::Unknown
    } else if op.output.get("error").is_some() {
        Outcome::Failed
    } else {
        Outcome::Ok
    }
}

/// The bars for `history`, using `trace` to end unknown operations.
pub fn bars(history: &[Operation], trace: &[TraceLine], end: f64) -> Vec<OpBar> {
    let ends = completions(trace);
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    let mut order: Vec<usize> = (0..history.len()).collect();
    order.sort_by(|a, b| history[*a].call.total_cmp(&history[*b].call).then(a.cmp(b)));
    let mut bars: Vec<Option<OpBar>> = vec![None; history.len()];
    for index in order {
        let op = &history[index];
        let nth = seen.entry(op.client).or_default();
        let completion = ends.get(&op.client).and_then(|list| list.get(*nth)).cloned();
        *nth += 1;
        let (bar_end, note) = match (op.ret, completion) {
            (Some(ret), _) => (ret, None),
            (None, Some((at, why))) if at >= op.call => (at, why),
            (None, _) => (end.max(op.call), None),
        };
        bars[index] = Some(OpBar {
            index,
            client: op.client,
            f: op.f.clone(),
            key: op.key.clone(),
            call: op.call,
            ret: op.ret,
            end: bar_end,
            outcome: outcome(op),
            input: op.input.clone(),
            output: op.output.clone(),
            revision: op.output.get("revision").and_then(Value::as_i64),
            note,
        });
    }
    bars.into_iter().flatten().collect()
}

impl OpBar {
    /// `client 3 put k1 {"value":"x"}`: what was asked, in one line.
    pub fn request(&self) -> String {
        let key = self.key.as_deref().map(|k| format!(" {k}")).unwrap_or_default();
        let input = if self.input.is_null() { String::new() } else { format!(" {}", self.input) };
        format!("client {} {}{key}{input}", self.client, self.f)
    }

    /// What the client was told, or `unknown (why)`.
    pub fn response(&self) -> String {
        match self.outcome {
            Outcome::Unknown => {
                format!("unknown ({})", self.note.as_deref().unwrap_or("no answer"))
            }
            _ => self.output.to_string(),
        }
    }
}
