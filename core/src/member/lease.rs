//! Leases on a member: grants and revokes go through the log; deadlines live on the leader.
//!
//! Only the leader counts down, on its own clock: when it takes over it gives every lease its
//! full TTL again (`promote`), so a failover never expires a lease early. A lease whose deadline
//! passed is revoked by proposing a `LeaseRevoke` — followers never delete keys on their own
//! clocks. Keep-alives and time-to-live questions are about deadlines, so they go to the leader.

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
use crate::peer::{PeerAnswer, PeerRequest};
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use crate::runtime::{DetRuntime, NodeClock};
use openraft_rt::AsyncRuntime;
use std::time::Duration;

/// How often the leader looks for expired leases (etcd checks every 500 ms).
const EXPIRY_CHECK: Duration = Duration::from_millis(500);

macro_rules! on_leader {
    ($($request:ty => $rpc:ident, $peer:expr, $answer:ident($response:ty), $here:ident,)*) => {$(
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
                member.$here(&self).await
            }

            fn into_peer(self) -> PeerRequest {
                let peer: fn($request) -> PeerRequest = $peer;
                peer(self)
            }

            fn from_peer(answer: PeerAnswer, _member: &Member) -> Option<$response> {
                match answer {
                    PeerAnswer::$answer(response) => Some(response),
                    _ => None,
                }
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
    LeaseKeepAliveRequest => LeaseKeepAlive, |r| PeerRequest::LeaseKeepAlive(r.id),
        KeepAlive(LeaseKeepAliveResponse), keep_alive_here,
    LeaseTimeToLiveRequest => LeaseTimeToLive, PeerRequest::LeaseTimeToLive,
        TimeToLive(LeaseTimeToLiveResponse), time_to_live_here,
    LeaseLeasesRequest => LeaseLeases, |_| PeerRequest::LeaseLeases,
        Leases(LeaseLeasesResponse), leases_here,
}

impl Member {
    /// Resets the lease's countdown on the leader and returns its TTL; TTL 0 when the lease is
    /// gone (expired or revoked), as etcd answers.
    async fn keep_alive_here(
        &self,
        request: &LeaseKeepAliveRequest,
    ) -> Result<LeaseKeepAliveResponse> {
        let id = request.id;
        let trusts_itself = self.node().leads();
        if !(plant::active(Bug::UnconfirmedKeepAlive) && trusts_itself) {
            let confirmed = self.node().confirm_leadership().await;
            if trusts_itself && confirmed.is_err() {
                probes::hit(Probe::DeposedLeaderKeepAlive);
            }
            confirmed?;
        }
        let state = self.node().replica.lock();
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
        Ok(LeaseKeepAliveResponse { header: self.node().header(state.machine.revision()), id, ttl })
    }

    async fn time_to_live_here(
        &self,
        request: &LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse> {
        self.node().confirm_leadership().await?;
        let state = self.node().replica.lock();
        let expiry = self.inner.expiry.lock().unwrap_or_else(|p| p.into_inner());
        let mut response = state.machine.lease_time_to_live(request, &expiry, NodeClock.now());
        response.header = self.node().header(state.machine.revision());
        Ok(response)
    }

    async fn leases_here(&self, _request: &LeaseLeasesRequest) -> Result<LeaseLeasesResponse> {
        self.node().confirm_leadership().await?;
        let state = self.node().replica.lock();
        let mut response = state.machine.lease_leases();
        response.header = self.node().header(state.machine.revision());
        Ok(response)
    }

    /// The leader's countdown: promote on taking over, demote on losing it, revoke what expired.
    pub(super) async fn run_lease_expiry(&self) {
        while self.node().is_running() {
            DetRuntime::sleep(EXPIRY_CHECK).await;
            if buggify::fires(Site::ForceSnapshot) {
                let _ = self.node().raft.trigger().snapshot().await;
            }
            let expired = self.expired_leases();
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

    fn expired_leases(&self) -> Vec<LeaseId> {
        let leads = self.node().leads() || plant::active(Bug::FollowerLeaseExpiry);
        let state = self.node().replica.lock();
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
        !self.node().is_running()
    }
}
