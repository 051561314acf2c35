//! etcd's `Maintenance.Downgrade` (etcd 3.5's `downgradeValidate`, `downgradeEnable`,
//! `downgradeCancel`), on any member.
//!
//! detcd serves one API level, so its cluster version is fixed (`version::ClusterVersion::
//! served`): a downgrade can be validated, enabled and cancelled exactly as etcd does it, and
//! the enabled state is replicated (`apply::downgrade`: through raft, in snapshots, across
//! restarts) and shown in `Status.downgradeInfo`; members do not change the API they serve.
//!
//! As etcd, in etcd's order:
//! - VALIDATE: the target must read as a version (`WrongDowngradeVersionFormat`); then a read
//!   index through the leader (`read_index`), so the check sees the latest state; the target
//!   must be exactly one minor version below the cluster version
//!   (`InvalidDowngradeTargetVersion`) and no downgrade may be enabled (`DowngradeInProcess`).
//!   Answers the cluster version (`3.4.0`).
//! - ENABLE: VALIDATE, then proposes the enabled state with the target (`3.3.0`).
//! - CANCEL: a read index, then `NoInflightDowngrade` unless a downgrade is enabled; proposes
//!   the disabled state. The version is ignored.
//! - any other action: `UnknownMethod`.
//!
//! While auth is on, only root may call it (`CallerRequest`).

use super::auth::CallerRequest;
use super::propose;
use super::request::MemberRequest;
use super::route::LeaderRequest;
use super::Member;
use crate::apply::{Command, DowngradeAction, DowngradeInfo, DowngradeInfoSet, Proposal};
use crate::apply::{DowngradeInfoSetResponse, DowngradeRequest, DowngradeResponse, Response};
use crate::auth::AuthInfo;
use crate::client::outcome::Rpc;
use crate::error::{Error, Result};
use crate::version::ClusterVersion;

impl MemberRequest for DowngradeRequest {
    type Answer = DowngradeResponse;

    fn rpc(&self) -> Rpc<'_> {
        Rpc::Downgrade(&self.action)
    }

    async fn serve(self, member: &Member) -> Result<DowngradeResponse> {
        match self.action {
            DowngradeAction::Validate => member.downgrade_validate(&self.version).await,
            DowngradeAction::Enable => member.downgrade_enable(&self.version).await,
            DowngradeAction::Cancel => member.downgrade_cancel().await,
            DowngradeAction::Unknown(_) => Err(Error::UnknownMethod),
        }
    }
}

/// Root only while auth is on (etcd's admin check, as for the other Maintenance calls here).
impl CallerRequest for DowngradeRequest {
    async fn serve_as(self, member: &Member, info: Option<AuthInfo>) -> Result<DowngradeResponse> {
        if let Some(info) = info {
            member.node().replica.lock().machine.auth().check_admin(&info)?;
        }
        self.serve(member).await
    }
}

/// Enabling or cancelling goes through the log, on the leader.
impl LeaderRequest for DowngradeInfoSet {
    type Answer = DowngradeInfoSetResponse;

    async fn serve_on_leader(self, member: &Member) -> Result<DowngradeInfoSetResponse> {
        propose::typed(member.node(), self).await
    }

    type Wire = Command;

    fn into_wire(self) -> Command {
        self.into_command()
    }

    fn from_wire(response: Response, member: &Member) -> Result<DowngradeInfoSetResponse> {
        propose::forwarded::<DowngradeInfoSet>(member, response)
    }

    fn may_repeat(&self) -> bool {
        false
    }
}

impl Member {
    /// The cluster's downgrade state as this member has applied it.
    pub fn downgrade_info(&self) -> DowngradeInfo {
        self.node().replica.lock().machine.downgrade().clone()
    }

    /// etcd's `downgradeValidate`: the target (major.minor) a downgrade to `version` would
    /// enable, and the answer.
    async fn downgrade_validate(&self, version: &str) -> Result<DowngradeResponse> {
        let target = ClusterVersion::parse(version).ok_or(Error::WrongDowngradeVersionFormat)?;
        self.linearizable_read_notify().await?;
        let cluster = ClusterVersion::served();
        if target != cluster.allowed_downgrade() {
            return Err(Error::InvalidDowngradeTargetVersion);
        }
        if self.downgrade_info().enabled {
            return Err(Error::DowngradeInProcess);
        }
        Ok(self.downgrade_answer())
    }

    /// etcd's `downgradeEnable`: validates, then enables the downgrade to `version`'s
    /// major.minor through the log.
    async fn downgrade_enable(&self, version: &str) -> Result<DowngradeResponse> {
        self.downgrade_validate(version).await?;
        let target = ClusterVersion::parse(version).ok_or(Error::WrongDowngradeVersionFormat)?;
        let set = DowngradeInfoSet { enabled: true, version: target.to_string() };
        self.route(set).await?;
        Ok(self.downgrade_answer())
    }

    /// etcd's `downgradeCancel`: cancels the enabled downgrade through the log.
    async fn downgrade_cancel(&self) -> Result<DowngradeResponse> {
        self.linearizable_read_notify().await?;
        if !self.downgrade_info().enabled {
            return Err(Error::NoInflightDowngrade);
        }
        self.route(DowngradeInfoSet { enabled: false, version: String::new() }).await?;
        Ok(self.downgrade_answer())
    }

    /// The cluster version under this member's header now.
    fn downgrade_answer(&self) -> DowngradeResponse {
        DowngradeResponse {
            header: self.header_now(),
            version: ClusterVersion::served().to_string(),
        }
    }
}
