//! The sweep summary page: per scenario, seeds run, failures, seeds per minute and checker verdict
//! counts; every failing seed with its reason, replay command and a link to its report.

use crate::html::{escape, script_json};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// One scenario's totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRow {
    pub scenario: String,
    pub seeds: usize,
    pub failures: usize,
    pub ops: usize,
    pub sim_secs: f64,
    /// Real seconds spent running this scenario's seeds (summed over threads).
    pub real_secs: f64,
    /// (checker, ok, violated, unknown)
    pub verdicts: Vec<(String, usize, usize, usize)>,
}

/// One failing seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureRow {
    pub scenario: String,
    pub seed: u64,
    pub why: String,
    pub replay: String,
    /// The failure's report page, relative to the summary page.
    pub report: Option<String>,
}

/// One coverage probe: how many seeds reached it, and how often it fired in all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoverageRow {
    pub probe: String,
    pub seeds: usize,
    pub hits: u64,
}

/// Everything the summary page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub scenarios: Vec<ScenarioRow>,
    pub failures: Vec<FailureRow>,
    pub wall_secs: f64,
    /// Every probe, reached or not (empty for reports from before probes existed).
    #[serde(default)]
    pub coverage: Vec<CoverageRow>,
}

impl SweepSummary {
    pub fn seeds(&self) -> usize {
        self.scenarios.iter().map(|s| s.seeds).sum()
    }
}

fn per_minute(seeds: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        seeds as f64 * 60.0 / secs
    } else {
        0.0
    }
}

/// Which rare paths the sweep executed: a probe no seed reached is a path nothing tested.
fn coverage_table(out: &mut String, summary: &SweepSummary) {
    if summary.coverage.is_empty() {
        return;
    }
    let seeds = summary.seeds().max(1);
    let unreached = summary.coverage.iter().filter(|row| row.seeds == 0).count();
    let _ = write!(
        out,
        "<h2>Coverage</h2><div class=\"meta\">{} of {} probes reached{}</div><table id=\"coverage\"><tr><th>probe</th><th>seeds reaching it</th><th>share of seeds</th><th>hits</th></tr>",
        summary.coverage.len() - unreached,
        summary.coverage.len(),
        if unreached == 0 { String::new() } else { format!(" · <span class=\"bad\">{unreached} never reached</span>") }
    );
    for row in &summary.coverage {
        let class = if row.seeds == 0 { " class=\"bad\"" } else { "" };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{:.0}%</td><td>{}</td></tr>",
            escape(&row.probe),
            row.seeds,
            row.seeds as f64 * 100.0 / seeds as f64,
            row.hits
        );
    }
    out.push_str("</table>");
}

/// The summary page.
pub fn render(summary: &SweepSummary) -> String {
    let failures: usize = summary.failures.len();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>detcd sweep: {} seeds, {failures} failing</title><style>{}</style></head><body>",
        summary.seeds(),
        include_str!("page.css")
    );
    let _ = write!(
        out,
        "<h1>Sweep: {} seeds, {}</h1><div class=\"meta\">{:.1}s wall · {:.0} seeds/min overall</div>",
        summary.seeds(),
        if failures == 0 { "<span class=\"good\">no failures</span>".to_string() } else { format!("<span class=\"bad\">{failures} failing</span>") },
        summary.wall_secs,
        per_minute(summary.seeds(), summary.wall_secs)
    );
    out.push_str("<h2>Scenarios</h2><table id=\"scenarios\"><tr><th>scenario</th><th>seeds</th><th>failures</th><th>seeds/min (per core)</th><th>ops/seed</th><th>checker verdicts (ok / violated / unknown)</th></tr>");
    for row in &summary.scenarios {
        let verdicts: Vec<String> = row
            .verdicts
            .iter()
            .map(|(checker, ok, bad, unknown)| {
                format!("{}: {ok} / {bad} / {unknown}", escape(checker))
            })
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td></tr>",
            escape(&row.scenario),
            row.seeds,
            row.failures,
            per_minute(row.seeds, row.real_secs),
            if row.seeds > 0 { row.ops as f64 / row.seeds as f64 } else { 0.0 },
            verdicts.join("<br>")
        );
    }
    out.push_str("</table><h2>Failures</h2><table id=\"failures\"><tr><th>scenario</th><th>seed</th><th>why</th><th>replay</th><th>report</th></tr>");
    for failure in &summary.failures {
        let link = failure
            .report
            .as_deref()
            .map_or("-".into(), |href| format!("<a href=\"{0}\">{0}</a>", escape(href)));
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"wrap\">{}</td><td><code class=\"replay\">{}</code></td><td>{link}</td></tr>",
            escape(&failure.scenario),
            failure.seed,
            escape(&failure.why),
            escape(&failure.replay)
        );
    }
    out.push_str("</table>");
    coverage_table(&mut out, summary);
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"sweep-data\">{}</script><script>document.documentElement.setAttribute('data-report','ok');</script></body></html>",
        script_json(summary)
    );
    out.push('\n');
    out
}
