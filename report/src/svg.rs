//! The timeline drawings, as inline SVG text.
//!
//! [`overview`] draws the whole run: fault rows on top, then one lane per member (role and term
//! per stretch of time, crashes), then one lane per client (one bar per operation from call to
//! return, coloured by outcome); leader changes are vertical lines across every lane, and a
//! violation's window is shaded. [`detail`] zooms on a violation's window and draws the partial
//! linearisation as a numbered path through the operations it ordered.
//! Every operation's shape carries `data-op` (its history index), which the page's script uses to
//! show the request, response and revision on hover.

use crate::html::escape;
use crate::model::RunReport;
use crate::ops::{OpBar, Outcome};
use crate::violation::ViolationView;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

const LEFT: f64 = 110.0;
const AXIS: f64 = 38.0;
const FAULT_ROW: f64 = 15.0;
const NODE_LANE: f64 = 22.0;
const CLIENT_LANE: f64 = 18.0;
/// How many of the partial linearisation's last steps the detail drawing numbers.
const PATH_STEPS: usize = 12;

/// Maps virtual time to x.
#[derive(Clone, Copy)]
struct Scale {
    from: f64,
    to: f64,
    width: f64,
}

impl Scale {
    fn x(&self, t: f64) -> f64 {
        let span = (self.to - self.from).max(1e-9);
        LEFT + ((t - self.from) / span).clamp(0.0, 1.0) * self.width
    }

    fn w(&self, a: f64, b: f64) -> f64 {
        (self.x(b) - self.x(a)).max(1.5)
    }

    fn right(&self) -> f64 {
        LEFT + self.width + 10.0
    }
}

fn outcome_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::Failed => "failed",
        Outcome::Unknown => "unknown",
    }
}

/// Time ticks along the top, every 1, 2, 5 or 10... seconds so ticks stay apart.
fn axis(out: &mut String, scale: Scale, height: f64) {
    let span = scale.to - scale.from;
    let raw = span / (scale.width / 90.0).max(1.0);
    let step =
        [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
            .into_iter()
            .find(|s| *s >= raw)
            .unwrap_or(120.0);
    let digits = if step >= 1.0 {
        0
    } else if step >= 0.1 {
        1
    } else if step >= 0.01 {
        2
    } else {
        3
    };
    let mut t = (scale.from / step).ceil() * step;
    while t <= scale.to + 1e-9 {
        let x = scale.x(t);
        let _ = write!(
            out,
            r#"<line class="tick" x1="{x:.1}" y1="{AXIS:.1}" x2="{x:.1}" y2="{height:.1}"/><text class="tick-label" x="{x:.1}" y="12">{t:.digits$}s</text>"#
        );
        t += step;
    }
}

/// Greedy rows so that labelled fault bars do not overlap: row per span.
fn fault_rows(report: &RunReport, scale: Scale) -> Vec<usize> {
    let mut row_ends: Vec<f64> = Vec::new();
    let mut rows = Vec::new();
    for span in &report.spans {
        let (x0, x1) = (scale.x(span.start), scale.x(span.end).max(scale.x(span.start) + 6.0));
        let label_end = x0 + 7.0 * span.label.len() as f64;
        let row = row_ends.iter().position(|end| *end < x0).unwrap_or(row_ends.len());
        if row == row_ends.len() {
            row_ends.push(0.0);
        }
        row_ends[row] = x1.max(label_end) + 4.0;
        rows.push(row);
    }
    rows
}

fn op_rect(out: &mut String, op: &OpBar, scale: Scale, y: f64, h: f64, extra: &str) {
    let x = scale.x(op.call);
    let w = scale.w(op.call, op.end);
    let class = outcome_class(op.outcome);
    let _ = write!(
        out,
        r#"<rect class="op {class}{extra}" data-op="{}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"/>"#,
        op.index
    );
}

/// The whole run.
pub fn overview(report: &RunReport) -> String {
    let scale =
        Scale { from: 0.0, to: report.end, width: (report.end * 110.0).clamp(1200.0, 9000.0) };
    let rows = fault_rows(report, scale);
    let fault_rows = rows.iter().max().map_or(0, |r| r + 1) as f64;
    let nodes_top = AXIS + fault_rows * FAULT_ROW + 6.0;
    let clients: BTreeSet<u64> = report.ops.iter().map(|op| op.client).collect();
    let clients_top = nodes_top + report.nodes.len() as f64 * NODE_LANE + 8.0;
    let height = clients_top + clients.len() as f64 * CLIENT_LANE + 6.0;
    let width = scale.right();
    let mut out = format!(
        r#"<svg id="timeline-svg" xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}">"#
    );
    axis(&mut out, scale, height);
    chaos_marks(&mut out, report, scale, height);
    faults(&mut out, report, scale, &rows, nodes_top);
    let node_y: BTreeMap<&str, f64> = report
        .nodes
        .iter()
        .enumerate()
        .map(|(i, lane)| (lane.node.as_str(), nodes_top + i as f64 * NODE_LANE))
        .collect();
    shade_nodes(&mut out, report, scale, &node_y);
    nodes(&mut out, report, scale, &node_y);
    let client_y: BTreeMap<u64, f64> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, clients_top + i as f64 * CLIENT_LANE))
        .collect();
    client_lanes(&mut out, report, scale, &client_y);
    if let Some(violation) = report.verdicts.iter().find_map(|v| v.violation.as_ref()) {
        window_shade(&mut out, violation, report, scale, &client_y);
    }
    leaders(&mut out, report, scale, height);
    out.push_str("</svg>");
    out
}

fn chaos_marks(out: &mut String, report: &RunReport, scale: Scale, height: f64) {
    for (at, label) in [(report.chaos_start, "chaos"), (report.healed_at, "heal all")] {
        if let Some(at) = at {
            let x = scale.x(at);
            let _ = write!(
                out,
                r#"<line class="phase" x1="{x:.1}" y1="14" x2="{x:.1}" y2="{height:.1}"/><text class="phase-label" x="{:.1}" y="24">{label}</text>"#,
                x + 3.0
            );
        }
    }
}

fn faults(out: &mut String, report: &RunReport, scale: Scale, rows: &[usize], bottom: f64) {
    let _ = write!(
        out,
        r#"<g class="lane fault-lane"><text class="lane-label" x="4" y="{:.1}">faults</text>"#,
        AXIS + 11.0
    );
    for (span, row) in report.spans.iter().zip(rows) {
        let y = AXIS + *row as f64 * FAULT_ROW;
        let x = scale.x(span.start);
        let w = scale.w(span.start, span.end).max(3.0);
        let label = escape(&span.label);
        let _ = write!(
            out,
            r#"<g class="fault {kind}"><title>{label} ({:.3}s to {:.3}s)</title><rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}"/><text x="{:.1}" y="{:.1}">{label}</text></g>"#,
            span.start,
            span.end,
            y + 1.0,
            FAULT_ROW - 3.0,
            x + 2.0,
            y + 11.0,
            kind = span.kind
        );
    }
    let _ = write!(
        out,
        r#"<line class="separator" x1="0" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}"/></g>"#,
        scale.right()
    );
}

/// Translucent shading over the lanes of the members a fault hits (all members for network-wide
/// faults), so a role change can be read against its cause.
fn shade_nodes(out: &mut String, report: &RunReport, scale: Scale, node_y: &BTreeMap<&str, f64>) {
    for span in &report.spans {
        let lanes: Vec<f64> = if span.nodes.is_empty() {
            node_y.values().copied().collect()
        } else {
            span.nodes.iter().filter_map(|n| node_y.get(n.as_str()).copied()).collect()
        };
        for y in lanes {
            let _ = write!(
                out,
                r#"<rect class="shade {}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{NODE_LANE:.1}"/>"#,
                span.kind,
                scale.x(span.start),
                scale.w(span.start, span.end)
            );
        }
    }
}

fn nodes(out: &mut String, report: &RunReport, scale: Scale, node_y: &BTreeMap<&str, f64>) {
    for lane in &report.nodes {
        let y = node_y.get(lane.node.as_str()).copied().unwrap_or(0.0);
        let _ = write!(
            out,
            r#"<g class="lane node-lane" data-lane="{0}"><text class="lane-label" x="4" y="{1:.1}">{0}</text>"#,
            lane.node,
            y + 15.0
        );
        for role in &lane.roles {
            let (x, w) = (scale.x(role.start), scale.w(role.start, role.end));
            let _ = write!(
                out,
                r#"<rect class="role {}" x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}"><title>{} {} term {} ({:.3}s to {:.3}s)</title></rect>"#,
                escape(&role.role),
                y + 3.0,
                NODE_LANE - 6.0,
                lane.node,
                escape(&role.role),
                role.term,
                role.start,
                role.end
            );
            if w > 34.0 && role.role != "down" {
                let _ = write!(
                    out,
                    r#"<text class="role-label" x="{:.1}" y="{:.1}">t{}</text>"#,
                    x + 3.0,
                    y + 15.0,
                    role.term
                );
            }
        }
        for at in &lane.crashes {
            let x = scale.x(*at);
            let _ = write!(
                out,
                r#"<text class="crash-mark" x="{:.1}" y="{:.1}">✕</text>"#,
                x - 4.0,
                y + 16.0
            );
        }
        out.push_str("</g>");
    }
}

fn client_lanes(out: &mut String, report: &RunReport, scale: Scale, client_y: &BTreeMap<u64, f64>) {
    for (client, y) in client_y {
        let _ = write!(
            out,
            r#"<g class="lane client-lane" data-lane="c{client}"><text class="lane-label" x="4" y="{:.1}">client {client}</text>"#,
            y + 13.0
        );
        for op in report.ops.iter().filter(|op| op.client == *client) {
            op_rect(out, op, scale, y + 3.0, CLIENT_LANE - 6.0, "");
        }
        out.push_str("</g>");
    }
}

fn window_shade(
    out: &mut String,
    violation: &ViolationView,
    report: &RunReport,
    scale: Scale,
    client_y: &BTreeMap<u64, f64>,
) {
    let ops: Vec<&OpBar> = violation.window.iter().filter_map(|i| report.ops.get(*i)).collect();
    let Some(top) = ops.iter().filter_map(|op| client_y.get(&op.client)).copied().reduce(f64::min)
    else {
        return;
    };
    let bottom = ops.iter().filter_map(|op| client_y.get(&op.client)).copied().fold(top, f64::max)
        + CLIENT_LANE;
    let from = ops.iter().map(|op| op.call).fold(f64::INFINITY, f64::min);
    let to = ops.iter().map(|op| op.end).fold(0.0, f64::max);
    let (x, w) = (scale.x(from) - 3.0, scale.w(from, to) + 6.0);
    let _ = write!(
        out,
        r#"<rect id="violation-window" class="window-shade" x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}"><title>the checker's window: {} operation(s)</title></rect>"#,
        top - 2.0,
        bottom - top + 4.0,
        ops.len()
    );
    for op in ops {
        let y = client_y.get(&op.client).copied().unwrap_or(0.0);
        op_rect(out, op, scale, y + 3.0, CLIENT_LANE - 6.0, " in-window");
    }
}

fn leaders(out: &mut String, report: &RunReport, scale: Scale, height: f64) {
    for change in &report.leaders {
        let x = scale.x(change.at);
        let _ = write!(
            out,
            r#"<g class="leader-change"><title>{} leader of term {} at {:.3}s</title><line x1="{x:.1}" y1="{AXIS:.1}" x2="{x:.1}" y2="{height:.1}"/><text x="{:.1}" y="{:.1}">{}·t{}</text></g>"#,
            change.node,
            change.term,
            change.at,
            x + 2.0,
            AXIS - 2.0,
            change.node,
            change.term
        );
    }
}

/// Linearisation points for the drawn path: each step at or after the previous one, inside its
/// operation's bar where possible.
fn path_points<'a>(
    violation: &ViolationView,
    report: &'a RunReport,
) -> Vec<(usize, f64, &'a OpBar)> {
    let mut last = f64::NEG_INFINITY;
    let mut points = Vec::new();
    for step in &violation.steps {
        let Some(op) = report.ops.get(step.op) else { continue };
        let at = last.max(op.call).min(op.end);
        last = at;
        points.push((step.position, at, op));
    }
    points
}

/// The violation's window, zoomed, with the partial linearisation.
pub fn detail(report: &RunReport, violation: &ViolationView) -> String {
    let scale =
        Scale { from: violation.from, to: violation.to.max(violation.from + 0.001), width: 1150.0 };
    let visible = |op: &&OpBar| op.end >= scale.from && op.call <= scale.to;
    let window: BTreeSet<usize> = violation.window.iter().copied().collect();
    let clients: BTreeSet<u64> = report.ops.iter().filter(visible).map(|op| op.client).collect();
    let client_y: BTreeMap<u64, f64> =
        clients.iter().enumerate().map(|(i, c)| (*c, AXIS + 4.0 + i as f64 * 30.0)).collect();
    let height = AXIS + 10.0 + clients.len() as f64 * 30.0;
    let width = scale.right();
    let mut out = format!(
        r#"<svg id="violation-svg" xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}">"#
    );
    axis(&mut out, scale, height);
    for (client, y) in &client_y {
        let _ = write!(
            out,
            r#"<g class="lane client-lane" data-lane="c{client}"><text class="lane-label" x="4" y="{:.1}">client {client}</text>"#,
            y + 17.0
        );
        for op in report.ops.iter().filter(visible).filter(|op| op.client == *client) {
            let mut extra = String::new();
            if window.contains(&op.index) {
                extra += " in-window";
            }
            if violation.stuck == Some(op.index) {
                extra += " stuck";
            }
            op_rect(&mut out, op, scale, y + 6.0, 14.0, &extra);
            let label = format!(
                "#{} {}{}",
                op.index,
                op.f,
                op.key.as_deref().map(|k| format!(" {k}")).unwrap_or_default()
            );
            if scale.w(op.call, op.end) > 7.0 * label.len() as f64 {
                let _ = write!(
                    out,
                    r#"<text class="op-label" x="{:.1}" y="{:.1}">{}</text>"#,
                    scale.x(op.call) + 2.0,
                    y + 17.0,
                    escape(&label)
                );
            }
        }
        out.push_str("</g>");
    }
    linearization(&mut out, violation, report, scale, &client_y);
    out.push_str("</svg>");
    out
}

fn linearization(
    out: &mut String,
    violation: &ViolationView,
    report: &RunReport,
    scale: Scale,
    client_y: &BTreeMap<u64, f64>,
) {
    let all = path_points(violation, report);
    // The last steps only: they lead up to the stuck operation; more would hide the bars.
    let points: Vec<(usize, f64, f64, &OpBar)> = all[all.len().saturating_sub(PATH_STEPS)..]
        .iter()
        .copied()
        .filter(|(_, at, _)| *at >= scale.from && *at <= scale.to)
        .filter_map(|(n, at, op)| Some((n, scale.x(at), client_y.get(&op.client)? + 13.0, op)))
        .collect();
    out.push_str(r#"<g id="partial-linearization">"#);
    let path: Vec<String> = points.iter().map(|(_, x, y, _)| format!("{x:.1},{y:.1}")).collect();
    if path.len() > 1 {
        let _ = write!(out, r#"<polyline class="lin-path" points="{}"/>"#, path.join(" "));
    }
    for (n, x, y, op) in &points {
        let _ = write!(
            out,
            r#"<g class="lin-point" data-op="{}"><circle cx="{x:.1}" cy="{y:.1}" r="7"/><text x="{x:.1}" y="{:.1}">{n}</text></g>"#,
            op.index,
            y + 3.5
        );
    }
    out.push_str("</g>");
}
