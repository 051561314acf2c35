//! The liveness and readiness probes of etcd 3.6 (`/livez`, `/readyz`), decided in core.
//!
//! A probe is a fixed list of named checks; each check either passes or fails with a reason, and
//! the probe passes when every check it ran passed. The checks are etcd's:
//! - `data_corruption` (readyz): no CORRUPT alarm is raised;
//! - `serializable_read` (livez, readyz): a serializable range of one key is served from this
//!   member's replica, so its apply path is not wedged;
//! - `linearizable_read` (readyz): a linearizable range of one key is served, so this member
//!   reaches a leader that still holds a quorum;
//! - `non_learner` (readyz): this member votes (a learner serves no client reads in etcd).
//!
//! The transports only render the outcomes (the server as etcd's HTTP answers; the simulator asks
//! the same function), so "ready" means the same on both. Invariants: checks run in the fixed order
//! below, never in a map's order, so a report is the same for the same state; a check named in
//! `exclude` is skipped, and unknown names there are ignored, as etcd ignores them; reads are made
//! without a caller, so auth never fails a probe (etcd runs them as root).

use super::Member;
use crate::api::RangeRequest;
use crate::apply::alarm::AlarmType;
use crate::runtime::DetRuntime;
use openraft_rt::AsyncRuntime;
use std::collections::BTreeSet;

/// Which probe: etcd's `/livez` or `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthProbe {
    Livez,
    Readyz,
}

/// One check of a probe and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    pub name: &'static str,
    /// Why the check failed; `None` when it passed.
    pub failure: Option<String>,
}

impl HealthProbe {
    /// The checks this probe runs, in the order they are reported.
    pub fn checks(self) -> &'static [&'static str] {
        match self {
            HealthProbe::Livez => &["serializable_read"],
            HealthProbe::Readyz => {
                &["data_corruption", "serializable_read", "linearizable_read", "non_learner"]
            }
        }
    }
}

/// Whether every check passed.
pub fn all_passed(outcomes: &[CheckOutcome]) -> bool {
    outcomes.iter().all(|outcome| outcome.failure.is_none())
}

impl Member {
    /// Runs `probe`'s checks but those named in `exclude`, in the probe's order.
    pub async fn probe(&self, probe: HealthProbe, exclude: &BTreeSet<String>) -> Vec<CheckOutcome> {
        let mut outcomes = Vec::new();
        for &name in probe.checks().iter().filter(|name| !exclude.contains(**name)) {
            let failure = self.check(name).await.err();
            outcomes.push(CheckOutcome { name, failure });
        }
        outcomes
    }

    /// Runs one check by name: `Err(reason)` when it fails, `None` for a name no probe has.
    pub async fn probe_check(&self, name: &str) -> Option<CheckOutcome> {
        let name = *HealthProbe::Readyz.checks().iter().find(|known| **known == name)?;
        Some(CheckOutcome { name, failure: self.check(name).await.err() })
    }

    async fn check(&self, name: &str) -> Result<(), String> {
        let read = |serializable| RangeRequest {
            key: vec![0],
            limit: 1,
            keys_only: true,
            serializable,
            ..Default::default()
        };
        match name {
            "data_corruption" => {
                let corrupt = self.alarms().iter().any(|alarm| alarm.alarm == AlarmType::Corrupt);
                if corrupt {
                    Err("alarm activated: CORRUPT".to_string())
                } else {
                    Ok(())
                }
            }
            "serializable_read" => self.read_within_timeout(read(true)).await,
            "linearizable_read" => self.read_within_timeout(read(false)).await,
            "non_learner" => {
                if self.status().is_learner {
                    Err("not supported for learner".to_string())
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// A read as a probe makes it: bounded by the request timeout, as etcd bounds its own.
    async fn read_within_timeout(&self, request: RangeRequest) -> Result<(), String> {
        let timeout = self.node().config.request_timeout;
        match DetRuntime::timeout(timeout, self.call(request)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(crate::error::Error::Timeout.to_string()),
        }
    }
}
