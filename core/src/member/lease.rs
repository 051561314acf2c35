//! Lease expiry on a member (the `Leases` component): grants and revokes go through the log;
//! deadlines live on the leader, in this component's `ExpiryTracker`.
//!
//! Only the leader counts down, on its own clock: when it takes over it gives every lease its
//! full TTL again (`promote`), so a failover never expires a lease early. A lease whose deadline
//! passed is revoked by proposing a `LeaseRevoke` — followers never delete keys on their own
//! clocks. Keep-alives and time-to-live questions are about deadlines, so they go to the leader.
//!
//! `Leases` owns the deadlines and answers about them through the shared `Node` handle; the
//! member's countdown task (`Member::run_lease_expiry`) asks it what expired and proposes the
//! revokes. Invariant: the tracker is primary only while this member leads (or has just confirmed
//! it leads), and nothing but this component touches it.

use super::node::Node;
use super::request::MemberRequest;
use super::route::LeaderRequest;
use super::Member;
use crate::api::{
    LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse,
    LeaseRevokeRequest, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use crate::buggify::{self, Site};
use crate::client::outcome::Rpc;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::kv::LeaseId;
use crate::lease::ExpiryTracker;
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use crate::runtime::{DetRuntime, NodeClock};
use openraft_rt::AsyncRuntime;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How often `Member::stopped` looks whether raft has stopped.
const STOPPED_POLL: Duration = Duration::from_millis(100);

/// How often the leader looks for expired leases (etcd checks every 500 ms).
const EXPIRY_CHECK: Duration = Duration::from_millis(500);

macro_rules! on_leader {
    ($($request:ty => $rpc:ident, $response:ty, $here:ident,)*) => {$(
        impl MemberRequest for $request {
            type Answer = $response;

            fn rpc(&self) -> Rpc<'_> {
                Rpc::$rpc
            }

            async fn serve(self, member: &Member) -> Result<$response> {
                member.route(self).await
            }
        }

        impl LeaderRequest for $request {
            type Answer = $response;

            async fn serve_on_leader(self, member: &Member) -> Result<$response> {
                member.inner.leases.$here(member.node(), &self).await
            }

            type Wire = $request;

            fn into_wire(self) -> $request {
                self
            }

            fn from_wire(response: $response, _member: &Member) -> Result<$response> {
                Ok(response)
            }

            /// A keep-alive or a question about deadlines may go again: renewing twice is
            /// renewing.
            fn may_repeat(&self) -> bool {
                true
            }
        }
    )*};
}

on_leader! {
    LeaseKeepAliveRequest => LeaseKeepAlive, LeaseKeepAliveResponse, keep_alive_here,
    LeaseTimeToLiveRequest => LeaseTimeToLive, LeaseTimeToLiveResponse, time_to_live_here,
    LeaseLeasesRequest => LeaseLeases, LeaseLeasesResponse, leases_here,
}

/// The leader-local lease deadlines of one member; empty (and ignored) while it does not lead.
pub(super) struct Leases {
    expiry: Mutex<ExpiryTracker>,
}

impl Leases {
    pub(super) fn new() -> Self {
        Leases { expiry: Mutex::new(ExpiryTracker::new()) }
    }

    fn expiry(&self) -> MutexGuard<'_, ExpiryTracker> {
        self.expiry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resets the lease's countdown on the leader and returns its TTL; TTL 0 when the lease is
    /// gone (expired or revoked), as etcd answers.
    async fn keep_alive_here(
        &self,
        node: &Node,
        request: &LeaseKeepAliveRequest,
    ) -> Result<LeaseKeepAliveResponse> {
        let id = request.id;
        let trusts_itself = node.leads();
        if !(plant::active(Bug::UnconfirmedKeepAlive) && trusts_itself) {
            let confirmed = node.confirm_leadership().await;
            if trusts_itself && confirmed.is_err() {
                probes::hit(Probe::DeposedLeaderKeepAlive);
            }
            confirmed?;
        }
        let state = node.replica.lock();
        let mut expiry = self.expiry();
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
        Ok(LeaseKeepAliveResponse { header: node.header(state.machine.revision()), id, ttl })
    }

    async fn time_to_live_here(
        &self,
        node: &Node,
        request: &LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse> {
        node.confirm_leadership().await?;
        let state = node.replica.lock();
        let expiry = self.expiry();
        let mut response = state.machine.lease_time_to_live(request, &expiry, NodeClock.now());
        response.header = node.header(state.machine.revision());
        Ok(response)
    }

    async fn leases_here(
        &self,
        node: &Node,
        _request: &LeaseLeasesRequest,
    ) -> Result<LeaseLeasesResponse> {
        node.confirm_leadership().await?;
        let state = node.replica.lock();
        let mut response = state.machine.lease_leases();
        response.header = node.header(state.machine.revision());
        Ok(response)
    }

    /// What expired, with the tracker promoted or demoted as this member leads or not.
    fn expired(&self, node: &Node) -> Vec<LeaseId> {
        let leads = node.leads() || plant::active(Bug::FollowerLeaseExpiry);
        let state = node.replica.lock();
        let mut expiry = self.expiry();
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
}

impl Member {
    /// The leader's countdown: promote on taking over, demote on losing it, revoke what expired.
    pub(super) async fn run_lease_expiry(&self) {
        while self.node().is_running() {
            DetRuntime::sleep(EXPIRY_CHECK).await;
            if buggify::fires(Site::ForceSnapshot) {
                let _ = self.node().raft.trigger().snapshot().await;
            }
            let expired = self.inner.leases.expired(self.node());
            for id in expired {
                // A failed revoke (leadership lost, lease already gone) is retried by whoever leads.
                let revoke = LeaseRevokeRequest { id };
                if plant::active(Bug::FollowerLeaseExpiry) {
                    let _ = self.route(revoke).await;
                } else if let Err(Error::NoLeader | Error::LeaderChanged | Error::Timeout) =
                    revoke.serve_on_leader(self).await
                {
                    probes::hit(Probe::LeaseExpiryLostLeadership);
                }
            }
        }
    }

    /// Whether raft stopped for good (a poisoned WAL, a fatal storage error): only a restart helps.
    pub fn is_stopped(&self) -> bool {
        !self.node().is_running()
    }

    /// Resolves once raft has stopped for good (`is_stopped`), or at once if it has. A server
    /// then exits, as etcd exits on a failed fsync, so that its supervisor starts it again from
    /// what its disk holds (the simulator restarts such a member when it heals).
    ///
    /// It looks every [`STOPPED_POLL`] rather than at every change of raft's metrics: those
    /// change with every commit, and waking a task for each one cost the server's put rate.
    pub async fn stopped(&self) {
        while !self.is_stopped() {
            DetRuntime::sleep(STOPPED_POLL).await;
        }
    }
}
