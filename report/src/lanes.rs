//! Member lanes, fault spans and leader changes, read off the trace.
//!
//! Member lines (`n2 leader term=3 leader=n2`) give each member's role over time. The harness's
//! fault lines (`sim fault: crash n2`) open spans; a span ends when its repair shows up
//! (`heal network` ends network faults, `restart n2` ends n2's crash, `heal all` ends everything),
//! a pause ends after its stated length, and whatever is still open ends with the timeline.
//! Invariant: every span and role segment has `start <= end`.

use crate::trace_line::{self, TraceLine};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stretch of time in which a member had one role in one term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSpan {
    pub start: f64,
    pub end: f64,
    /// `leader`, `follower`, `candidate`, `learner`, `down`, `failed`.
    pub role: String,
    pub term: u64,
}

/// One member's lane.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeLane {
    pub node: String,
    pub roles: Vec<RoleSpan>,
    pub crashes: Vec<f64>,
    pub restarts: Vec<f64>,
}

/// A fault in force over a stretch of time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpan {
    /// `partition`, `network`, `crash`, `pause`, `clock`, `disk`, `membership`.
    pub kind: String,
    pub start: f64,
    pub end: f64,
    /// The trace's words for it (`pause n1 for 2729ms`).
    pub label: String,
    /// Members it hits (`n2`); empty when it hits the whole network.
    pub nodes: Vec<String>,
}

/// A member became leader of a term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderChange {
    pub at: f64,
    pub node: String,
    pub term: u64,
}

/// Everything the member side of the timeline shows.
#[derive(Debug, Default)]
pub struct Timeline {
    pub nodes: Vec<NodeLane>,
    pub spans: Vec<FaultSpan>,
    pub leaders: Vec<LeaderChange>,
}

#[derive(Default)]
struct Builder {
    lanes: BTreeMap<u64, NodeLane>,
    /// The open role segment per member: (start, role, term).
    open_role: BTreeMap<u64, (f64, String, u64)>,
    open_spans: Vec<FaultSpan>,
    timeline: Timeline,
}

/// Member numbers named in a fault's words: every `nX` token (split on `,|-> `).
fn named(text: &str) -> Vec<u64> {
    text.split([' ', ',', '|', '>', '-']).filter_map(trace_line::member).collect::<Vec<_>>()
}

impl Builder {
    fn lane(&mut self, id: u64) -> &mut NodeLane {
        self.lanes
            .entry(id)
            .or_insert_with(|| NodeLane { node: format!("n{id}"), ..NodeLane::default() })
    }

    fn set_role(&mut self, id: u64, at: f64, role: &str, term: u64) {
        self.close_role(id, at);
        self.lane(id);
        self.open_role.insert(id, (at, role.to_string(), term));
    }

    fn close_role(&mut self, id: u64, at: f64) {
        if let Some((start, role, term)) = self.open_role.remove(&id) {
            let end = at.max(start);
            self.lane(id).roles.push(RoleSpan { start, end, role, term });
        }
    }

    fn term_of(&self, id: u64) -> u64 {
        self.open_role.get(&id).map_or(0, |(_, _, term)| *term)
    }

    fn member_line(&mut self, id: u64, at: f64, what: &str) {
        if what.starts_with("failed to start") {
            let term = self.term_of(id);
            self.set_role(id, at, "failed", term);
            return;
        }
        let mut words = what.split_whitespace();
        let Some(role) = words.next() else { return };
        let Some(term) = words.find_map(|w| w.strip_prefix("term=")).and_then(|t| t.parse().ok())
        else {
            self.lane(id);
            return;
        };
        self.set_role(id, at, role, term);
        if role == "leader" {
            let node = format!("n{id}");
            let last = self.timeline.leaders.last();
            if last.is_none_or(|l| l.node != node || l.term != term) {
                self.timeline.leaders.push(LeaderChange { at, node, term });
            }
        }
    }

    fn open(&mut self, kind: &str, at: f64, end: Option<f64>, label: &str, nodes: &[u64]) {
        let span = FaultSpan {
            kind: kind.to_string(),
            start: at,
            end: end.unwrap_or(f64::INFINITY),
            label: label.to_string(),
            nodes: nodes.iter().map(|id| format!("n{id}")).collect(),
        };
        if end.is_some() {
            self.timeline.spans.push(span);
        } else {
            self.open_spans.push(span);
        }
    }

    /// Ends the open spans `which` selects at `at`.
    fn close(&mut self, at: f64, which: impl Fn(&FaultSpan) -> bool) {
        let (closing, open): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.open_spans).into_iter().partition(|s| which(s));
        self.open_spans = open;
        for mut span in closing {
            span.end = at.max(span.start);
            self.timeline.spans.push(span);
        }
    }

    fn crash(&mut self, id: u64, at: f64) {
        let term = self.term_of(id);
        self.set_role(id, at, "down", term);
        self.lane(id).crashes.push(at);
        self.open("crash", at, None, &format!("crash n{id}"), &[id]);
    }

    fn restart(&mut self, id: u64, at: f64) {
        let term = self.term_of(id);
        self.set_role(id, at, "restarting", term);
        self.lane(id).restarts.push(at);
        let node = format!("n{id}");
        self.close(at, |s| s.kind == "crash" && s.nodes == [node.clone()]);
    }

    fn fault(&mut self, at: f64, text: &str) {
        let ids = named(text);
        let word = text.split_whitespace().next().unwrap_or("");
        match word {
            "isolate" | "partition" | "bridge" | "one-way" => {
                self.open("partition", at, None, text, &ids)
            }
            "packet" | "latency" => self.open("network", at, None, text, &[]),
            "heal" => self.close(at, |s| s.kind == "partition" || s.kind == "network"),
            "crash" if text == "crash all" => {
                let all: Vec<u64> = self.lanes.keys().copied().collect();
                for id in all {
                    self.crash(id, at);
                }
            }
            "crash" => ids.iter().for_each(|id| self.crash(*id, at)),
            "restart" => ids.iter().for_each(|id| self.restart(*id, at)),
            "pause" => {
                let millis = text
                    .split_whitespace()
                    .find_map(|w| w.strip_suffix("ms").and_then(|n| n.parse::<f64>().ok()));
                self.open("pause", at, Some(at + millis.unwrap_or(0.0) / 1000.0), text, &ids);
            }
            "clock" => self.open("clock", at, None, text, &ids),
            "disk" => self.open("disk", at, None, text, &ids),
            "add" | "remove" => self.open("membership", at, Some(at), text, &ids),
            _ => self.open("other", at, Some(at), text, &ids),
        }
    }

    fn heal_all(&mut self, at: f64, text: &str) {
        for id in named(text) {
            self.restart(id, at);
        }
        self.close(at, |_| true);
    }

    fn line(&mut self, line: &TraceLine) {
        if let Some(id) = trace_line::member(line.who) {
            self.member_line(id, line.at, line.what);
        } else if line.who == "sim" {
            if let Some(text) = line.what.strip_prefix("fault: ") {
                self.fault(line.at, text);
            } else if line.what.starts_with("heal all") {
                self.heal_all(line.at, line.what);
            }
        }
    }

    fn finish(mut self, end: f64) -> Timeline {
        let ids: Vec<u64> = self.open_role.keys().copied().collect();
        for id in ids {
            self.close_role(id, end);
        }
        self.close(end, |_| true);
        let mut timeline = self.timeline;
        timeline.nodes = self.lanes.into_values().collect();
        timeline.spans.sort_by(|a, b| a.start.total_cmp(&b.start));
        timeline
    }
}

/// Derives the member lanes (at least `members` of them), fault spans and leader changes.
pub fn derive(trace: &[TraceLine], members: usize, end: f64) -> Timeline {
    let mut builder = Builder::default();
    for id in 1..=members as u64 {
        builder.lane(id);
    }
    for line in trace {
        builder.line(line);
    }
    builder.finish(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace_line::parse;

    fn timeline(lines: &[&str]) -> Timeline {
        let parsed: Vec<_> = lines.iter().filter_map(|l| parse(l)).collect();
        derive(&parsed, 3, 10.0)
    }

    #[test]
    fn roles_crashes_and_spans() {
        let t = timeline(&[
            "    0.010s n1   leader term=1 leader=n1",
            "    0.020s n2   follower term=1 leader=n1",
            "    1.000s sim  fault: crash n1",
            "    2.000s sim  fault: isolate n2",
            "    2.500s sim  fault: pause n3 for 500ms",
            "    3.000s sim  fault: restart n1",
            "    3.100s n2   leader term=2 leader=n2",
            "    4.000s sim  fault: heal network",
        ]);
        assert_eq!(t.nodes.len(), 3);
        let n1 = &t.nodes[0];
        assert_eq!(n1.crashes, vec![1.0]);
        assert_eq!(n1.restarts, vec![3.0]);
        assert_eq!(n1.roles[1].role, "down");
        assert_eq!((n1.roles[1].start, n1.roles[1].end), (1.0, 3.0));
        let kinds: Vec<(&str, f64, f64)> =
            t.spans.iter().map(|s| (s.kind.as_str(), s.start, s.end)).collect();
        assert_eq!(kinds, vec![("crash", 1.0, 3.0), ("partition", 2.0, 4.0), ("pause", 2.5, 3.0)]);
        assert_eq!(t.leaders.len(), 2);
        assert_eq!(t.leaders[1].node, "n2");
    }
}
