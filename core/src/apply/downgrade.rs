//! Downgrade: etcd's cluster-wide downgrade state (`membership.DowngradeInfo`), kept as
//! replicated state like the alarms, and the requests of etcd's `Maintenance.Downgrade`.
//!
//! The member validates a request (`member::downgrade`, as etcd's `downgradeValidate`) and
//! proposes [`DowngradeInfoSet`] for ENABLE and CANCEL; applying it sets the state, as etcd's
//! apply does, so every member agrees on it, a snapshot carries it and a restart keeps it.

use crate::kv::ResponseHeader;
use serde::{Deserialize, Serialize};

/// etcd's `DowngradeRequest.DowngradeAction`; `Unknown` keeps a number etcd does not define
/// (answered `UnknownMethod`, as etcd answers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DowngradeAction {
    Validate,
    Enable,
    Cancel,
    Unknown(i32),
}

/// etcd's `DowngradeRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DowngradeRequest {
    pub action: DowngradeAction,
    /// The target version (`X.Y.Z` or `X.Y`); CANCEL ignores it.
    pub version: String,
}

/// etcd's `DowngradeResponse`: the cluster version (`3.4.0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct DowngradeResponse {
    pub header: ResponseHeader,
    pub version: String,
}

/// etcd's `DowngradeInfo`: whether a downgrade is enabled, and to which version (`3.3.0`;
/// empty when none is).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct DowngradeInfo {
    pub enabled: bool,
    pub target_version: String,
}

/// The log entry of ENABLE and CANCEL (etcd's `DowngradeInfoSetRequest`): the state to set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct DowngradeInfoSet {
    pub enabled: bool,
    pub version: String,
}

/// What applying a [`DowngradeInfoSet`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct DowngradeInfoSetResponse {
    pub header: ResponseHeader,
}

impl DowngradeInfo {
    /// Applies a set: the state is exactly what it says.
    pub fn apply(&mut self, set: &DowngradeInfoSet) {
        *self = DowngradeInfo { enabled: set.enabled, target_version: set.version.clone() };
    }
}
