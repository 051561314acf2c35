//! The compact terminal summary of a run's report: what failed and why, in a few lines.

use crate::model::RunReport;

/// Lines for the terminal after a run: one per violated checker with its plain explanation.
pub fn lines(report: &RunReport) -> Vec<String> {
    let mut lines = Vec::new();
    for verdict in report.verdicts.iter().filter(|v| v.ok == Some(false)) {
        if let Some(violation) = &verdict.violation {
            lines.push(format!("  why: {}", violation.explanation));
            lines.push(format!(
                "  window: {} operation(s) {:.3}s..{:.3}s: {}",
                violation.window.len(),
                violation.from,
                violation.to,
                violation.window.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(" ")
            ));
        }
        for finding in verdict.findings.iter().take(3) {
            lines.push(format!("  {}: {}", finding.rule, finding.message));
        }
    }
    lines
}
