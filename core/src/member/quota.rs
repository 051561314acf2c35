//! The backend quota (etcd's `--quota-backend-bytes`) and the NOSPACE alarm it raises.
//!
//! As etcd's quota check: before the leader proposes a write that adds data, it compares the
//! backend size (`mvcc::size`, a function of the replicated state) plus what the write will add
//! with the quota. When the write would reach the quota, the leader raises NOSPACE through the log
//! (under its own member id, once) and refuses the write with `NoSpace`: nothing was proposed.
//! From the moment the alarm is applied, every member's state machine refuses what adds data
//! (`apply::alarm`), so the cap holds whoever leads next. The check runs on the leader, the one
//! member that proposes, against its own applied state: the state every member reaches.
//!
//! A member that does not lead skips the check: raft refuses its proposal anyway (`NoLeader`),
//! and the request goes to the leader, which checks it.

use super::node::Node;
use super::{propose, Member};
use crate::apply::{AlarmAction, AlarmMember, AlarmRequest, AlarmType, Command};
use crate::error::{Error, Result};
use crate::mvcc::size;
use tracing::warn;

/// etcd's default quota when `--quota-backend-bytes` is 0: 2 GiB.
pub const DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// What `command` adds to the backend at most, or `None` when it adds nothing (deletes,
/// compaction, lease revokes, reads, alarms, auth changes). A lease grant adds no version: it costs nothing but
/// is still checked, as etcd refuses grants over quota.
fn cost(command: &Command) -> Option<u64> {
    match command {
        Command::Put(put) => Some(size::put_cost(put)),
        Command::Txn(txn) => Some(size::txn_cost(txn)).filter(|&cost| cost > 0),
        Command::LeaseGrant(_) => Some(0),
        // A client's command with its caller costs what the command costs.
        Command::As(_, inner) => cost(inner),
        Command::Auth(_)
        | Command::Noop
        | Command::Range(_)
        | Command::DeleteRange(_)
        | Command::Compact(_)
        | Command::LeaseRevoke(_)
        | Command::Alarm(_)
        | Command::DowngradeInfoSet(_) => None,
    }
}

impl Member {
    /// The alarms raised in this member's replica (what `/health` and `Status` report).
    pub fn alarms(&self) -> Vec<AlarmMember> {
        self.node().replica.lock().machine.alarms().get(AlarmType::None)
    }
}

/// Refuses `command` with `NoSpace` when this member leads and it would take the backend
/// to the quota, raising NOSPACE through the log first.
pub(super) async fn check(node: &Node, command: &Command) -> Result<()> {
    let (Some(quota), Some(cost)) = (node.config.quota_backend_bytes, cost(command)) else {
        return Ok(());
    };
    if !node.leads() {
        return Ok(());
    }
    let (used, raised) = {
        let state = node.replica.lock();
        let alarms = state.machine.alarms();
        (state.machine.store().backend_bytes(), alarms.raised_by(node.id(), AlarmType::NoSpace))
    };
    if used.saturating_add(cost) < quota {
        return Ok(());
    }
    if !raised {
        let raise = AlarmRequest {
            action: AlarmAction::Activate,
            member_id: node.id(),
            alarm: AlarmType::NoSpace,
        };
        if let Err(error) = propose::write(node, Command::Alarm(raise)).await {
            // The write is refused all the same; the next one over quota raises it again.
            warn!(%error, used, quota, "could not raise the NOSPACE alarm");
        }
    }
    Err(Error::NoSpace)
}
