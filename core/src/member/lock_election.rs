//! etcd's server-side Lock and Election (v3lock, v3election), served by running the client
//! recipes on the member itself (`local_client`).
//!
//! As in etcd, a request names the lease its keys belong to: the lock or campaign key lives and
//! dies with the caller's lease, which the caller keeps alive; the member never renews it. A lock
//! or campaign request with no lease (0) gets a fresh lease of etcd's default session TTL that
//! nobody renews, as etcd's `NewSession` + `Orphan` does. Waiting calls (lock, campaign) are
//! cancel-safe: a caller that goes away before it wins leaves no key behind.

use super::local_client::LocalClient;
use super::request::MemberRequest;
use super::Member;
use crate::api::DeleteRangeRequest;
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
    /// Waits until the lock `name` is held under `lease`; returns the owner key.
    pub async fn lock(
        &self,
        name: &[u8],
        lease: LeaseId,
    ) -> RecipeResult<(ResponseHeader, Vec<u8>)> {
        let session = self.request_session(lease).await?;
        let mut mutex = Mutex::new(&session, name)?;
        mutex.lock().await?;
        Ok((mutex.header(), mutex.key().to_vec()))
    }

    /// Releases a lock by deleting its owner key (etcd's Unlock is a plain delete).
    pub async fn unlock(&self, key: &[u8]) -> crate::error::Result<ResponseHeader> {
        let request = DeleteRangeRequest { key: key.to_vec(), ..Default::default() };
        Ok(request.serve(self).await?.header)
    }

    /// Waits until `lease` leads the election `name` with `value`.
    pub async fn campaign(
        &self,
        name: &[u8],
        lease: LeaseId,
        value: &[u8],
    ) -> RecipeResult<(ResponseHeader, LeaderKey)> {
        let session = self.request_session(lease).await?;
        let mut election = Election::new(&session, name)?;
        let rev = election.campaign(value).await?;
        let key = election.key().map(<[u8]>::to_vec).unwrap_or_default();
        let leader = LeaderKey { name: name.to_vec(), key, rev, lease: session.lease() };
        Ok((election.header(), leader))
    }

    /// Sets the leader's value; `election: not leader` unless `leader` still leads.
    pub async fn proclaim(&self, leader: &LeaderKey, value: &[u8]) -> RecipeResult<ResponseHeader> {
        let mut election = self.resume(leader)?;
        election.proclaim(value).await?;
        Ok(election.header())
    }

    /// Gives up leadership if `leader` still holds it; a no-op otherwise.
    pub async fn resign(&self, leader: &LeaderKey) -> RecipeResult<ResponseHeader> {
        let mut election = self.resume(leader)?;
        election.resign().await?;
        Ok(self.header_now())
    }

    /// The current leader's key of election `name`; `election: no leader` when nobody leads.
    pub async fn election_leader(&self, name: &[u8]) -> RecipeResult<(ResponseHeader, KeyValue)> {
        let session = Session::over_lease_unchecked(self.local_client(), 0);
        let leader = Election::new(&session, name)?.leader().await?;
        Ok((self.header_now(), leader))
    }

    /// Successive leaders of election `name`, starting with the current one.
    pub fn observe(&self, name: &[u8]) -> RecipeResult<Observer<LocalClient>> {
        let session = Session::over_lease_unchecked(self.local_client(), 0);
        Ok(Election::new(&session, name)?.observe())
    }

    fn resume(&self, leader: &LeaderKey) -> RecipeResult<Election<LocalClient>> {
        if leader.key.is_empty() {
            return Err(RecipeError::InvalidArgument {
                what: "leader",
                why: "\"leader\" field must be provided",
            });
        }
        let session = Session::over_lease_unchecked(self.local_client(), leader.lease);
        Election::resume(&session, &leader.name, leader.key.clone(), leader.rev)
    }

    /// The session a lock or campaign request runs under: the caller's lease, or a fresh one.
    async fn request_session(&self, lease: LeaseId) -> RecipeResult<Session<LocalClient>> {
        if lease == 0 {
            // Dropping the session stops its keep-alives: the lease then runs out on its own.
            return Session::with_ttl(self.local_client(), DEFAULT_TTL).await;
        }
        Session::over_lease(self.local_client(), lease).await
    }
}
