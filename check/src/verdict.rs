//! The structured verdict every safety checker returns.
//!
//! A verdict is either `ok` or a list of findings; each finding names the records involved (as
//! indices into the checker's input lists, documented per checker) and explains in plain words
//! what is wrong, so a report can both draw and say it.

use serde::Serialize;

/// One thing a checker found wrong.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// What rule was broken, e.g. `mutual_exclusion`, `lost_update`.
    pub rule: &'static str,
    /// The records involved (indices into the checker's input; see each checker).
    pub records: Vec<usize>,
    /// A plain-language explanation with times and values.
    pub message: String,
}

/// The outcome of a safety check.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", content = "findings", rename_all = "snake_case")]
pub enum SafetyVerdict {
    Ok,
    Violation(Vec<Finding>),
}

impl SafetyVerdict {
    /// `Ok` when nothing was found.
    pub fn from_findings(findings: Vec<Finding>) -> SafetyVerdict {
        if findings.is_empty() {
            SafetyVerdict::Ok
        } else {
            SafetyVerdict::Violation(findings)
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, SafetyVerdict::Ok)
    }

    /// The findings (empty when ok).
    pub fn findings(&self) -> &[Finding] {
        match self {
            SafetyVerdict::Ok => &[],
            SafetyVerdict::Violation(findings) => findings,
        }
    }

    /// One line for a report: `None` when ok (each caller words its own ok), else the first finding
    /// in full and how many findings broke each other rule. The first finding alone would hide
    /// the rest: a real etcd 3.4 watch run breaks `progress` (etcd issue 15220) early and
    /// often, and a `prev_kv` or `gap` finding behind it would never be seen.
    pub fn violation_summary(&self) -> Option<String> {
        let (first, rest) = self.findings().split_first()?;
        let mut line = format!("VIOLATED {}: {}", first.rule, first.message);
        let mut others: std::collections::BTreeMap<&str, usize> = Default::default();
        for finding in rest {
            *others.entry(finding.rule).or_default() += 1;
        }
        if !others.is_empty() {
            let counts: Vec<String> =
                others.iter().map(|(rule, count)| format!("{rule} x{count}")).collect();
            line.push_str(&format!(" (more findings: {})", counts.join(", ")));
        }
        Some(line)
    }

    /// True when some finding broke `rule`.
    pub fn broke(&self, rule: &str) -> bool {
        self.findings().iter().any(|f| f.rule == rule)
    }
}

/// Builds a finding.
pub fn finding(rule: &'static str, records: Vec<usize>, message: String) -> Finding {
    Finding { rule, records, message }
}

/// How long after the moment a blocking call (a barrier wait, a double-barrier enter or leave, a
/// dequeue) surely had what it waits for, with the cluster healed, it may still take to return:
/// the rules named `stuck` flag a call that was still waiting later than this. A healed cluster
/// elects a leader within a few seconds, a recipe resends a read every 250 ms and reopens a broken
/// watch after 200 ms; 10 s is well above that and well under the sim's 20 s heal limit.
pub const STUCK_SLACK: f64 = 10.0;

/// An interval end that may be unknown or never: `None` = still open at the end of the run.
pub fn end(time: Option<f64>) -> f64 {
    time.unwrap_or(f64::INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_summary_names_the_first_finding_and_counts_every_other_rule() {
        let verdict = SafetyVerdict::from_findings(vec![
            finding("progress", vec![0, 1], "first".into()),
            finding("prev_kv", vec![0, 2], "second".into()),
            finding("progress", vec![1, 3], "third".into()),
            finding("prev_kv", vec![2, 4], "fourth".into()),
            finding("gap", vec![3, 5], "fifth".into()),
        ]);
        assert_eq!(
            verdict.violation_summary().as_deref(),
            Some("VIOLATED progress: first (more findings: gap x1, prev_kv x2, progress x1)")
        );
    }

    #[test]
    fn a_single_finding_is_summarised_alone_and_ok_has_no_violation_summary() {
        let one = SafetyVerdict::from_findings(vec![finding("gap", vec![0, 1], "lost".into())]);
        assert_eq!(one.violation_summary().as_deref(), Some("VIOLATED gap: lost"));
        assert_eq!(SafetyVerdict::Ok.violation_summary(), None);
    }
}
