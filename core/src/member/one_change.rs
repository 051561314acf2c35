//! Raft membership changes, one at a time.
//!
//! raft takes one membership change at a time and refuses the next while one is uncommitted
//! (`InProgress`). Changes come from several places that do not know of each other — an operator's
//! `member add`, `promote`, `remove` or `update`, and every member publishing its client URLs when
//! it starts (`ready`) — so a refusal for that reason says nothing about the request: it waits for
//! the change ahead of it to commit and goes again.
//!
//! A change to one member's details (`set_node`: publish, `member update`) is made from the
//! membership as it was read, and is proposed only while that is still the effective membership
//! (raft's `LastMembershipLogId` precondition): raft's "set node" adds a member it does not find,
//! so without the guard a publish racing a `member remove` would bring the removed member back.
//!
//! Invariants: only `InProgress` and a membership that moved on are retried (nothing was appended,
//! so going again cannot apply a change twice), never for longer than the request timeout; every
//! other outcome is returned as it is. `set_node` never adds a member.

use super::cluster::membership_error;
use super::membership::Membership;
use crate::error::{Error, Result};
use crate::raft::types::{MemberInfo, NodeId, TypeConfig};
use crate::runtime::DetRuntime;
use openraft::errors::{ChangeMembershipError, ClientWriteError, PreconditionFailed, RaftError};
use openraft::raft::Precondition;
use openraft_rt::AsyncRuntime;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// Between looks at whether the change ahead has committed.
const STEP: Duration = Duration::from_millis(20);

pub(super) type ChangeResult<T> =
    std::result::Result<T, RaftError<TypeConfig, ClientWriteError<TypeConfig>>>;

/// Whether raft refused only because another membership change came first.
fn came_second<T>(outcome: &ChangeResult<T>) -> bool {
    matches!(
        outcome,
        Err(RaftError::APIError(
            ClientWriteError::ChangeMembershipError(ChangeMembershipError::InProgress(_))
                | ClientWriteError::PreconditionFailed(
                    PreconditionFailed::LastMembershipLogIdMismatch { .. }
                )
        ))
    )
}

impl Membership {
    /// Runs `change` (one raft membership change), waiting out a change still in progress.
    pub(super) async fn one_change<T, F, Fut>(&self, mut change: F) -> ChangeResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ChangeResult<T>>,
    {
        let limit = self.node.config.request_timeout;
        let mut waited = Duration::ZERO;
        loop {
            let outcome = change().await;
            if !came_second(&outcome) || waited >= limit {
                return outcome;
            }
            DetRuntime::sleep(STEP).await;
            waited += STEP;
        }
    }

    /// Changes member `id`'s details with `update` (which says whether it changed anything)
    /// through raft. `Ok` at once when nothing needs to change; otherwise leader only (elsewhere
    /// `NoLeader`); an error if `id` is not a member.
    pub(super) async fn set_node(
        &self,
        id: NodeId,
        update: impl Fn(&mut MemberInfo) -> bool,
    ) -> Result<()> {
        let attempt = || async {
            let (read_at, info) = self.node.with_metrics(|metrics| {
                let membership = &metrics.membership_config;
                (*membership.log_id(), membership.membership().get_node(&id).cloned())
            });
            let Some(mut info) = info else {
                return Ok(Err(Error::MemberNotFound));
            };
            if !update(&mut info) {
                return Ok(Ok(()));
            }
            if !self.node.leads() {
                return Ok(Err(Error::NoLeader));
            }
            let change = openraft::ChangeMembers::SetNodes(BTreeMap::from([(id, info)]));
            let unchanged = Precondition::LastMembershipLogId { last_membership_log_id: read_at };
            self.node.raft.change_membership_if(change, false, [unchanged]).await.map(|_| Ok(()))
        };
        self.one_change(attempt).await.unwrap_or_else(|error| Err(membership_error(error)))
    }
}
