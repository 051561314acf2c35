//! The report page: one self-contained HTML file (inline CSS, JS and SVG; the report's data as
//! embedded JSON), readable from disk with no network.

use crate::model::RunReport;
use crate::ops::OpBar;
use crate::svg;
use crate::violation::{FindingView, VerdictView, ViolationView};
use std::fmt::Write;

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside `<script>`: no `<` at all (so no `</script>`), as `\u003c`.
pub fn script_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into()).replace('<', "\\u003c")
}

/// The whole page for one run.
pub fn render(report: &RunReport) -> String {
    let h = &report.header;
    let status = if h.passed {
        r#"<span class="good">passed</span>"#
    } else {
        r#"<span class="bad">FAILED</span>"#
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} seed {} — {}</title><style>{CSS}</style></head><body>",
        escape(&h.scenario),
        h.seed,
        if h.passed { "passed" } else { "FAILED" }
    );
    let _ = write!(out, "<h1>{} seed {} {status}</h1>", escape(&h.scenario), h.seed);
    header(&mut out, report);
    verdicts(&mut out, &report.verdicts);
    for verdict in &report.verdicts {
        if let Some(violation) = &verdict.violation {
            violation_section(&mut out, report, verdict, violation);
        }
        if verdict.ok == Some(false) && !verdict.findings.is_empty() {
            findings(&mut out, report, verdict);
        }
    }
    timeline(&mut out, report);
    for violation in report.verdicts.iter().filter_map(|v| v.violation.as_ref()) {
        linearization_table(&mut out, report, violation);
    }
    let _ = write!(
        out,
        "<div id=\"tip\"></div><script type=\"application/json\" id=\"report-data\">{}</script><script>{JS}</script></body></html>",
        script_json(report)
    );
    out.push('\n');
    out
}

fn header(out: &mut String, report: &RunReport) {
    let h = &report.header;
    let plant = h
        .plant
        .as_deref()
        .map(|p| format!(" · planted bug <b>{}</b>", escape(p)))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<div class=\"meta\">{} members · {} clients · chaos {:.1}s · simulated {:.1}s · {} operations{}{plant} · trace {} · {:.2}s real</div>",
        h.members,
        h.clients,
        h.chaos_secs,
        h.sim_secs,
        report.ops.len(),
        if h.buggify { " · buggify" } else { "" },
        escape(&h.trace_hash),
        h.real_secs
    );
    let _ = write!(out, "<div>replay: <code class=\"replay\">{}</code></div>", escape(&h.replay));
    let faults =
        if h.faults.is_empty() { "none".to_string() } else { escape(&h.faults.join(", ")) };
    let _ = write!(out, "<div class=\"meta\">faults: {faults}</div>");
    // The simulator's own violations are shown once, as the invariants checker's findings.
}

fn badge(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => r#"<span class="badge ok">ok</span>"#,
        Some(false) => r#"<span class="badge violated">violated</span>"#,
        None => r#"<span class="badge unknown">unknown</span>"#,
    }
}

fn verdicts(out: &mut String, verdicts: &[VerdictView]) {
    out.push_str("<h2>Checkers</h2><table id=\"verdicts\">");
    for v in verdicts {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"wrap\">{}</td><td>{:.2}s</td></tr>",
            badge(v.ok),
            escape(&v.checker),
            escape(&v.summary),
            v.seconds
        );
    }
    out.push_str("</table>");
}

fn time(t: Option<f64>) -> String {
    t.map_or("?".into(), |t| format!("{t:.3}s"))
}

fn op_row(out: &mut String, op: &OpBar, class: &str, lead: &str) {
    let _ = write!(
        out,
        "<tr class=\"{class}\" data-row-op=\"{}\">{lead}<td>#{}</td><td>c{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"wrap mono\">{}</td><td class=\"wrap mono\">{}</td><td>{}</td></tr>",
        op.index,
        op.index,
        op.client,
        escape(&op.f),
        time(Some(op.call)),
        time(op.ret),
        escape(&op.input.to_string()),
        escape(&op.response()),
        op.revision.map_or("-".into(), |r| r.to_string())
    );
}

const OP_HEAD: &str = "<th>op</th><th>client</th><th>f</th><th>call</th><th>return</th><th>request</th><th>response</th><th>revision</th>";

fn violation_section(
    out: &mut String,
    report: &RunReport,
    verdict: &VerdictView,
    v: &ViolationView,
) {
    let _ =
        write!(out, "<section id=\"violation\"><h2>Violation: {}</h2>", escape(&verdict.checker));
    let _ =
        write!(out, "<div class=\"explain\" id=\"explanation\">{}</div>", escape(&v.explanation));
    let _ = write!(out, "<div class=\"meta\">checker: {}</div>", escape(&v.message));
    let _ = write!(
        out,
        "<div class=\"meta\">The window the checker could not linearise, {:.3}s to {:.3}s: red outlines; the thick one is the operation the search got stuck on. Blue numbers: the last steps of the longest partial linearisation ({} operations), in order.</div>",
        v.from, v.to, v.linearized
    );
    let _ = write!(out, "<div class=\"scroll\">{}</div>", svg::detail(report, v));
    out.push_str("<h2>Window</h2><table id=\"window-table\"><tr>");
    out.push_str(OP_HEAD);
    out.push_str("</tr>");
    for op in v.window.iter().filter_map(|i| report.ops.get(*i)) {
        let class = if v.stuck == Some(op.index) { "stuck-row" } else { "window-row" };
        op_row(out, op, class, "");
    }
    out.push_str("</table></section>");
}

/// The partial linearisation as a table, folded away (it is long; the drawing shows its end).
fn linearization_table(out: &mut String, report: &RunReport, v: &ViolationView) {
    let _ = write!(out, "<details id=\"linearization\"><summary><b>Partial linearisation</b> (last {} of {} steps, with the state after each)</summary><table id=\"linearization-table\"><tr><th>step</th>{OP_HEAD}<th>state after</th></tr>", v.steps.len(), v.linearized);
    for step in &v.steps {
        let Some(op) = report.ops.get(step.op) else { continue };
        let mut row = String::new();
        op_row(&mut row, op, "", &format!("<td>{}</td>", step.position));
        let row = row.replace(
            "</tr>",
            &format!("<td class=\"wrap mono\">{}</td></tr>", escape(&step.state)),
        );
        out.push_str(&row);
    }
    let _ = write!(out, "</table><div class=\"meta\">state at the end: <span class=\"mono\">{}</span></div></details>", escape(&v.state));
}

fn findings(out: &mut String, report: &RunReport, verdict: &VerdictView) {
    let _ =
        write!(out, "<section class=\"findings\"><h2>Findings: {}</h2>", escape(&verdict.checker));
    for FindingView { rule, records, message } in &verdict.findings {
        let _ = write!(
            out,
            "<div class=\"explain\"><b>{}</b>: {}</div>",
            escape(rule),
            escape(message)
        );
        if records.is_empty() {
            continue;
        }
        out.push_str("<table><tr>");
        out.push_str(OP_HEAD);
        out.push_str("</tr>");
        for op in records.iter().filter_map(|i| report.ops.get(*i)) {
            op_row(out, op, "window-row", "");
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

fn timeline(out: &mut String, report: &RunReport) {
    out.push_str("<h2>Timeline</h2><div class=\"legend\">");
    for (class, label) in [
        ("ok", "ok"),
        ("failed", "failed"),
        ("unknown", "unknown outcome"),
        ("leader", "leader"),
        ("follower", "follower"),
        ("candidate", "candidate"),
        ("down", "down"),
        ("partition", "partition"),
        ("network", "loss/latency"),
        ("pause", "pause"),
        ("clock", "clock"),
        ("disk", "disk"),
    ] {
        let _ = write!(out, "<span><i class=\"{class}\"></i>{label}</span>");
    }
    out.push_str("<span>dashed blue line: new leader · ✕ crash · hover an operation for its request, response and revision</span></div>");
    let _ = write!(out, "<div class=\"scroll\" id=\"timeline\">{}</div>", svg::overview(report));
}
