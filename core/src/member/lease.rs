//! Leases on a member: grants and revokes go through the log; deadlines live on the leader.
//!
//! Only the leader counts down, on its own clock: when it takes over it gives every lease its
//! full TTL again (`promote`), so a failover never expires a lease early. A lease whose deadline
//! passed is revoked by proposing a `LeaseRevoke` — followers never delete keys on their own
//! clocks. Keep-alives and time-to-live questions are about deadlines, so they go to the leader.

use super::forward::{PeerAnswer, PeerRequest};
use super::Member;
use crate::api::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
    LeaseRevokeRequest, LeaseRevokeResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use crate::apply::{Command, Response};
use crate::buggify::{self, Site};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::kv::LeaseId;
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use crate::runtime::{DetRuntime, NodeClock};
use openraft::ReadPolicy;
use openraft_rt::AsyncRuntime;
use std::time::Duration;

/// How often the leader looks for expired leases (etcd checks every 500 ms).
const EXPIRY_CHECK: Duration = Duration::from_millis(500);

impl Member {
    pub async fn lease_grant(&self, request: LeaseGrantRequest) -> Result<LeaseGrantResponse> {
        match self.propose(Command::LeaseGrant(request)).await? {
            Response::LeaseGrant(response) => Ok(response),
            _ => Err(Error::Internal("unexpected answer to a lease grant".into())),
        }
    }

    pub async fn lease_revoke(&self, request: LeaseRevokeRequest) -> Result<LeaseRevokeResponse> {
        match self.propose(Command::LeaseRevoke(request)).await? {
            Response::LeaseRevoke(response) => Ok(response),
            _ => Err(Error::Internal("unexpected answer to a lease revoke".into())),
        }
    }

    /// Resets the lease's countdown on the leader and returns its TTL; TTL 0 when the lease is
    /// gone (expired or revoked), as etcd answers.
    pub async fn lease_keep_alive(&self, id: LeaseId) -> Result<LeaseKeepAliveResponse> {
        match self.keep_alive_here(id).await {
            Err(Error::NoLeader) => {
                match self.forward_to_leader(PeerRequest::LeaseKeepAlive(id)).await? {
                    PeerAnswer::KeepAlive(response) => Ok(response),
                    _ => Err(Error::Internal("unexpected answer to a keep-alive".into())),
                }
            }
            other => other,
        }
    }

    pub async fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse> {
        match self.time_to_live_here(&request).await {
            Err(Error::NoLeader) => {
                match self.forward_to_leader(PeerRequest::LeaseTimeToLive(request)).await? {
                    PeerAnswer::TimeToLive(response) => Ok(response),
                    _ => Err(Error::Internal("unexpected answer to time-to-live".into())),
                }
            }
            other => other,
        }
    }

    pub async fn lease_leases(&self) -> Result<LeaseLeasesResponse> {
        match self.leases_here().await {
            Err(Error::NoLeader) => match self.forward_to_leader(PeerRequest::LeaseLeases).await? {
                PeerAnswer::Leases(response) => Ok(response),
                _ => Err(Error::Internal("unexpected answer to leases".into())),
            },
            other => other,
        }
    }

    async fn forward_to_leader(&self, request: PeerRequest) -> Result<PeerAnswer> {
        match self.leader() {
            Some(leader) if leader != self.id() => self.forward(leader, request).await,
            _ => Err(Error::NoLeader),
        }
    }

    /// Confirms this member leads with a current view (read index), else `NoLeader`.
    async fn confirm_leadership(&self) -> Result<()> {
        let read = self.inner.raft.ensure_linearizable(ReadPolicy::ReadIndex);
        match DetRuntime::timeout(self.inner.config.request_timeout, read).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) if error.forward_to_leader().is_some() => Err(Error::NoLeader),
            _ => Err(Error::Timeout),
        }
    }

    pub(super) async fn keep_alive_here(&self, id: LeaseId) -> Result<LeaseKeepAliveResponse> {
        let trusts_itself = self.leader() == Some(self.id());
        if !(plant::active(Bug::UnconfirmedKeepAlive) && trusts_itself) {
            let confirmed = self.confirm_leadership().await;
            if trusts_itself && confirmed.is_err() {
                probes::hit(Probe::DeposedLeaderKeepAlive);
            }
            confirmed?;
        }
        let state = self.inner.replica.lock();
        let mut expiry = self.inner.expiry.lock().unwrap_or_else(|p| p.into_inner());
        if !expiry.is_primary() {
            // Leadership was just confirmed, but the countdown loop has not noticed yet: take over
            // now (every lease gets its full TTL), so a keep-alive right after an election works.
            expiry.promote(state.machine.lessor(), NodeClock.now());
        }
        let ttl = match expiry.renew(state.machine.lessor(), id, NodeClock.now()) {
            // etcd's answer for a lease that is gone is TTL 0, not an error (clients print
            // "expired or revoked"); decided here, so every transport carries the same answer.
            Err(Error::LeaseNotFound) => {
                probes::hit(Probe::KeepAliveForMissingLease);
                0
            }
            renewed => renewed?,
        };
        Ok(LeaseKeepAliveResponse { header: self.header(state.machine.revision()), id, ttl })
    }

    pub(super) async fn time_to_live_here(
        &self,
        request: &LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse> {
        self.confirm_leadership().await?;
        let state = self.inner.replica.lock();
        let expiry = self.inner.expiry.lock().unwrap_or_else(|p| p.into_inner());
        let mut response = state.machine.lease_time_to_live(request, &expiry, NodeClock.now());
        response.header = self.header(state.machine.revision());
        Ok(response)
    }

    pub(super) async fn leases_here(&self) -> Result<LeaseLeasesResponse> {
        self.confirm_leadership().await?;
        let state = self.inner.replica.lock();
        let mut response = state.machine.lease_leases();
        response.header = self.header(state.machine.revision());
        Ok(response)
    }

    /// The leader's countdown: promote on taking over, demote on losing it, revoke what expired.
    pub(super) async fn run_lease_expiry(&self) {
        while self.is_running() {
            DetRuntime::sleep(EXPIRY_CHECK).await;
            if buggify::fires(Site::ForceSnapshot) {
                let _ = self.inner.raft.trigger().snapshot().await;
            }
            let expired = self.expired_leases();
            for id in expired {
                // A failed revoke (leadership lost, lease already gone) is retried by whoever leads.
                let revoke = Command::LeaseRevoke(LeaseRevokeRequest { id });
                if plant::active(Bug::FollowerLeaseExpiry) {
                    let _ = self.propose(revoke).await;
                } else if let Err(Error::NoLeader | Error::LeaderChanged | Error::Timeout) =
                    self.propose_here(revoke).await
                {
                    probes::hit(Probe::LeaseExpiryLostLeadership);
                }
            }
        }
    }

    fn expired_leases(&self) -> Vec<LeaseId> {
        let leads = self.leader() == Some(self.id()) || plant::active(Bug::FollowerLeaseExpiry);
        let state = self.inner.replica.lock();
        let mut expiry = self.inner.expiry.lock().unwrap_or_else(|p| p.into_inner());
        let now = NodeClock.now();
        match (leads, expiry.is_primary()) {
            (true, false) => expiry.promote(state.machine.lessor(), now),
            (false, true) => expiry.demote(),
            (true, true) => expiry.sync(state.machine.lessor(), now),
            (false, false) => {}
        }
        if leads {
            expiry.expired(now)
        } else {
            Vec::new()
        }
    }

    /// Whether raft stopped for good (a poisoned WAL, a fatal storage error): only a restart helps.
    pub fn is_stopped(&self) -> bool {
        !self.is_running()
    }

    pub(super) fn is_running(&self) -> bool {
        self.with_metrics(|m| m.running_state.is_ok())
    }
}
