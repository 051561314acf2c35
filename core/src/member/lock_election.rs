//! etcd's server-side Lock and Election (v3lock, v3election), served by running the client
//! recipes on the member itself (`local_client`).
//!
//! As in etcd, a request names the lease its keys belong to: the lock or campaign key lives and
//! dies with the caller's lease, which the caller keeps alive; the member never renews it. A lock
//! or campaign request with no lease (0) gets a fresh lease of etcd's default session TTL that
//! nobody renews, as etcd's `NewSession` + `Orphan` does. Waiting calls (lock, campaign) are
//! cancel-safe: a caller that goes away before it wins leaves no key behind.
//!
//! Every call runs for its caller (`local_client_as`): each key-space request a recipe makes is
//! checked as that client's own request would be, in apply for writes and where a read is
//! served. As in etcd 3.4 (whose v3lock and v3election servers run the client recipes over an
//! in-process client with the caller's context), locking needs write permission on the lock's
//! own key and read permission on the name's prefix, and a caller without them gets
//! `PermissionDenied`; cleaning up after an abandoned wait runs with the caller's credentials
//! too.

use super::local_client::LocalClient;
use super::Member;
use crate::api::DeleteRangeRequest;
use crate::auth::Caller;
use crate::client::outcome::Failure;
use crate::client::ClientError;
use crate::kv::{KeyValue, LeaseId, ResponseHeader};
use crate::recipes::{Election, Mutex, Observer, RecipeError, RecipeResult, Session, DEFAULT_TTL};

/// What identifies a won election: enough to proclaim or resign in a later call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderKey {
    /// The election's name (its key prefix, without the trailing `/`).
    pub name: Vec<u8>,
    /// The leader's own key, `name/<lease hex>`.
    pub key: Vec<u8>,
    /// The key's create revision: this leadership's identity.
    pub rev: i64,
    pub lease: LeaseId,
}

impl Member {
    /// Waits until the lock `name` is held under `lease` for `caller`; returns the owner key.
    pub async fn lock(
        &self,
        caller: &Caller,
        name: &[u8],
        lease: LeaseId,
    ) -> RecipeResult<(ResponseHeader, Vec<u8>)> {
        let session = self.request_session(caller, lease).await?;
        let mut mutex = Mutex::new(&session, name)?;
        mutex.lock().await?;
        Ok((mutex.header(), mutex.key().to_vec()))
    }

    /// Releases a lock by deleting its owner key (etcd's Unlock is a plain delete), for
    /// `caller`; a failure is classified as the recipes' calls are.
    pub async fn unlock(&self, caller: &Caller, key: &[u8]) -> RecipeResult<ResponseHeader> {
        let request = DeleteRangeRequest { key: key.to_vec(), ..Default::default() };
        let deleted = self.serve_for(caller, request).await;
        Ok(deleted.map_err(|error| ClientError::of(Failure::Answered(error), false))?.header)
    }

    /// Waits until `lease` leads the election `name` with `value`.
    pub async fn campaign(
        &self,
        caller: &Caller,
        name: &[u8],
        lease: LeaseId,
        value: &[u8],
    ) -> RecipeResult<(ResponseHeader, LeaderKey)> {
        let session = self.request_session(caller, lease).await?;
        let mut election = Election::new(&session, name)?;
        let rev = election.campaign(value).await?;
        let key = election.key().map(<[u8]>::to_vec).unwrap_or_default();
        let leader = LeaderKey { name: name.to_vec(), key, rev, lease: session.lease() };
        Ok((election.header(), leader))
    }

    /// Sets the leader's value; `election: not leader` unless `leader` still leads.
    pub async fn proclaim(
        &self,
        caller: &Caller,
        leader: &LeaderKey,
        value: &[u8],
    ) -> RecipeResult<ResponseHeader> {
        let mut election = self.resume(caller, leader)?;
        election.proclaim(value).await?;
        Ok(election.header())
    }

    /// Gives up leadership if `leader` still holds it; a no-op otherwise.
    pub async fn resign(
        &self,
        caller: &Caller,
        leader: &LeaderKey,
    ) -> RecipeResult<ResponseHeader> {
        let mut election = self.resume(caller, leader)?;
        election.resign().await?;
        Ok(self.header_now())
    }

    /// The current leader's key of election `name`; `election: no leader` when nobody leads.
    pub async fn election_leader(
        &self,
        caller: &Caller,
        name: &[u8],
    ) -> RecipeResult<(ResponseHeader, KeyValue)> {
        let session = Session::over_lease_unchecked(self.local_client_as(caller.clone()), 0);
        let leader = Election::new(&session, name)?.leader().await?;
        Ok((self.header_now(), leader))
    }

    /// Successive leaders of election `name`, starting with the current one.
    pub fn observe(&self, caller: &Caller, name: &[u8]) -> RecipeResult<Observer<LocalClient>> {
        let session = Session::over_lease_unchecked(self.local_client_as(caller.clone()), 0);
        Ok(Election::new(&session, name)?.observe())
    }

    fn resume(&self, caller: &Caller, leader: &LeaderKey) -> RecipeResult<Election<LocalClient>> {
        if leader.key.is_empty() {
            return Err(RecipeError::InvalidArgument {
                what: "leader",
                why: "\"leader\" field must be provided",
            });
        }
        let client = self.local_client_as(caller.clone());
        let session = Session::over_lease_unchecked(client, leader.lease);
        Election::resume(&session, &leader.name, leader.key.clone(), leader.rev)
    }

    /// The session a lock or campaign request runs under: the caller's lease, or a fresh one
    /// granted for the caller.
    async fn request_session(
        &self,
        caller: &Caller,
        lease: LeaseId,
    ) -> RecipeResult<Session<LocalClient>> {
        let client = self.local_client_as(caller.clone());
        if lease == 0 {
            // Dropping the session stops its keep-alives: the lease then runs out on its own.
            return Session::with_ttl(client, DEFAULT_TTL).await;
        }
        Session::over_lease(client, lease).await
    }
}
