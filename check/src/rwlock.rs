//! RW lock: writers exclude everyone; waiting is strictly FIFO by the keys' create revisions.
//!
//! Input: [`RwHold`]s, one per lock attempt: its kind, its key's create revision (its place in
//! the queue), when the lock call returned (`None` if it never got the lock) and when its key was
//! gone (unlock returned, or the lease expired; `None` = never).
//!
//! Rules (records are hold indices):
//! - `writer_exclusion`: a writer's hold overlaps another hold.
//! - `fifo`: a reader got in before an earlier writer (smaller revision) was gone, or a writer
//!   got in before any earlier hold was gone. (ETCD-SEMANTICS.md: R1 holds, W2 waits, R3 waits
//!   behind W2, W4 waits behind R3.)

use serde::{Deserialize, Serialize};

use crate::verdict::{end, finding, Finding, SafetyVerdict};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Read,
    Write,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RwHold {
    pub client: u64,
    pub kind: Kind,
    /// Create revision of the hold's key.
    pub revision: i64,
    pub acquired: Option<f64>,
    pub released: Option<f64>,
}

/// Checks an RW lock history.
pub fn check(holds: &[RwHold]) -> SafetyVerdict {
    let mut findings: Vec<Finding> = Vec::new();
    for (i, a) in holds.iter().enumerate() {
        let Some(a_in) = a.acquired else { continue };
        for (j, b) in holds.iter().enumerate() {
            if i == j {
                continue;
            }
            let writer_involved = a.kind == Kind::Write || b.kind == Kind::Write;
            if let Some(b_in) = b.acquired {
                let overlap = a_in < end(b.released) && b_in < end(a.released);
                if writer_involved && overlap && i < j {
                    findings.push(finding(
                        "writer_exclusion",
                        vec![i, j],
                        format!(
                            "client {} ({:?}, rev {}) and client {} ({:?}, rev {}) held the lock together \
                             from t={}",
                            a.client, a.kind, a.revision, b.client, b.kind, b.revision, a_in.max(b_in)
                        ),
                    ));
                }
            }
            // b is earlier in the queue than a: a must wait until b is gone.
            if writer_involved && b.revision < a.revision && a_in < end(b.released) {
                findings.push(finding(
                    "fifo",
                    vec![j, i],
                    format!(
                        "client {} ({:?}, rev {}) got the lock at t={} before the earlier client {} \
                         ({:?}, rev {}) was gone",
                        a.client, a.kind, a.revision, a_in, b.client, b.kind, b.revision
                    ),
                ));
            }
        }
    }
    SafetyVerdict::from_findings(findings)
}
