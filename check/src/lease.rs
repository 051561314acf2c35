//! Leases: a kept-alive lease's keys never disappear; an expired or revoked lease's keys are
//! gone within TTL plus a stated bound.
//!
//! Input ([`LeaseHistory`]): each lease's life as the client saw it (grant returned, keep-alive
//! acknowledgements, revoke returned, its keys and when their puts returned), reads of those
//! keys (present or absent, with the read's call and return), and `bound`: how late after its
//! deadline an expiry may still be applied (leader election, a new leader's full-TTL grace,
//! the expiry's round through the log).
//!
//! A lease is surely alive over `[ack, ack + ttl)` for every acknowledgement (the grant or a
//! keep-alive), because the server refreshed it before acknowledging; and until a revoke was
//! called. Its keys must be gone by `min(revoked, last ack + ttl) + bound`.
//!
//! Rules (records: `[lease index, read index]`):
//! - `vanished`: a read that started after the key's put returned found it absent while its
//!   lease was surely alive for the whole read.
//! - `outlived`: a read that started after the deadline found the key still present.

use serde::{Deserialize, Serialize};

use crate::verdict::{finding, Finding, SafetyVerdict};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LeaseHistory {
    pub bound: f64,
    pub leases: Vec<LeaseLife>,
    pub reads: Vec<KeyRead>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaseLife {
    pub id: i64,
    pub ttl: f64,
    /// When the grant returned.
    pub granted: f64,
    /// When keep-alive acknowledgements arrived.
    #[serde(default)]
    pub keepalives: Vec<f64>,
    /// When a revoke was called, if one was.
    #[serde(default)]
    pub revoke_called: Option<f64>,
    /// The attached keys.
    pub keys: Vec<String>,
    /// When the puts attaching the keys returned.
    pub attached: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyRead {
    pub key: String,
    pub call: f64,
    pub ret: f64,
    pub present: bool,
}

impl LeaseLife {
    fn acks(&self) -> impl Iterator<Item = f64> + '_ {
        std::iter::once(self.granted).chain(self.keepalives.iter().copied())
    }

    /// Surely alive throughout `[from, to]`.
    fn alive_throughout(&self, from: f64, to: f64) -> bool {
        let revoked_before = self.revoke_called.is_some_and(|r| r <= to);
        !revoked_before && self.acks().any(|a| a <= from && to < a + self.ttl)
    }

    /// The time by which the keys must be gone, given `bound`.
    fn deadline(&self, bound: f64) -> f64 {
        let last_ack = self.acks().fold(f64::NEG_INFINITY, f64::max);
        (last_ack + self.ttl).min(self.revoke_called.unwrap_or(f64::INFINITY)) + bound
    }
}

/// Checks lease keep-alive and expiry.
pub fn check(history: &LeaseHistory) -> SafetyVerdict {
    let mut findings: Vec<Finding> = Vec::new();
    for (l, lease) in history.leases.iter().enumerate() {
        for (r, read) in history.reads.iter().enumerate() {
            if !lease.keys.contains(&read.key) || read.call < lease.attached {
                continue;
            }
            if !read.present && lease.alive_throughout(read.call, read.ret) {
                findings.push(finding(
                    "vanished",
                    vec![l, r],
                    format!(
                        "key {} of lease {} was absent in a read at t={}..{} while the lease was kept alive",
                        read.key, lease.id, read.call, read.ret
                    ),
                ));
            }
            let deadline = lease.deadline(history.bound);
            if read.present && read.call > deadline {
                findings.push(finding(
                    "outlived",
                    vec![l, r],
                    format!(
                        "key {} of lease {} was still present at t={}, after its deadline t={deadline} (TTL {} + bound {})",
                        read.key, lease.id, read.call, lease.ttl, history.bound
                    ),
                ));
            }
        }
    }
    SafetyVerdict::from_findings(findings)
}
