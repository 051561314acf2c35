//! Election: at most one leader at a time per election; leaders' revisions increase.
//!
//! Input: [`Leadership`] terms: who won which election, with the revision of its leader key,
//! from when `Campaign` returned until it stopped being leader (`Resign` returned or its lease
//! expired; `None` = still leader at the end).
//!
//! Rules (records: term indices): `single_leader` (two terms of one election overlap) and
//! `revision_order` (a later leader's key revision is not above the previous leader's).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::verdict::{end, finding, Finding, SafetyVerdict};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Leadership {
    pub election: String,
    pub client: u64,
    /// Create revision of the leader key.
    pub revision: i64,
    pub elected: f64,
    pub ended: Option<f64>,
}

/// Checks leadership terms.
pub fn check(terms: &[Leadership]) -> SafetyVerdict {
    let mut by_election: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in terms.iter().enumerate() {
        by_election.entry(t.election.as_str()).or_default().push(i);
    }
    let mut findings: Vec<Finding> = Vec::new();
    for (election, mut ids) in by_election {
        ids.sort_by(|&a, &b| terms[a].elected.total_cmp(&terms[b].elected));
        for (k, &a) in ids.iter().enumerate() {
            for &b in &ids[k + 1..] {
                let (ta, tb) = (&terms[a], &terms[b]);
                if tb.elected < end(ta.ended) {
                    findings.push(finding(
                        "single_leader",
                        vec![a, b],
                        format!(
                            "election {election}: client {} became leader at t={} while client {} (leader since t={}) still was",
                            tb.client, tb.elected, ta.client, ta.elected
                        ),
                    ));
                }
            }
        }
        for pair in ids.windows(2) {
            let (ta, tb) = (&terms[pair[0]], &terms[pair[1]]);
            if tb.revision <= ta.revision {
                findings.push(finding(
                    "revision_order",
                    pair.to_vec(),
                    format!(
                        "election {election}: leader client {} has revision {}, not above the previous leader's {}",
                        tb.client, tb.revision, ta.revision
                    ),
                ));
            }
        }
    }
    SafetyVerdict::from_findings(findings)
}
