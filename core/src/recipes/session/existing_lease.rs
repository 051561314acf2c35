//! A session over a lease the caller already holds and keeps alive itself (etcd's
//! `NewSession(client, WithLease(id))` followed by `Orphan()`), as etcd's server-side Lock and
//! Election services use: the keys a recipe creates belong to the caller's lease, so they vanish
//! when the caller stops keeping it alive, and nothing on the server renews it.
//!
//! Invariant: the lease exists when the session is made (checked with a time-to-live question);
//! the session never renews or revokes it on its own.

use super::{Liveness, Session};
use crate::api::LeaseTimeToLiveRequest;
use crate::client::Client;
use crate::kv::LeaseId;
use crate::recipes::error::RecipeResult;
use crate::recipes::retry;
use std::sync::Arc;

impl<C: Client> Session<C> {
    /// A session on the existing `lease`; `etcdserver: requested lease not found` if it is gone.
    pub async fn over_lease(client: C, lease: LeaseId) -> RecipeResult<Self> {
        let request = LeaseTimeToLiveRequest { id: lease, keys: false };
        let answer = retry::idempotent(|| client.lease_time_to_live(request.clone())).await?;
        if answer.ttl < 0 {
            return Err(crate::Error::LeaseNotFound.into());
        }
        Ok(Self::orphaned(client, lease, answer.granted_ttl))
    }

    /// A session on `lease` that is not checked: for resuming what an earlier call created under
    /// it (a guarded write then fails if the lease is gone), or for recipes that only read
    /// (lease 0: an election's `leader` and `observe`).
    pub fn over_lease_unchecked(client: C, lease: LeaseId) -> Self {
        Self::orphaned(client, lease, 0)
    }

    fn orphaned(client: C, lease: LeaseId, ttl: i64) -> Self {
        // No keep-alive loop: the lease's owner renews it. The handle only satisfies `Inner`.
        let keep_alive = madsim::task::spawn(async {});
        let liveness = Arc::new(Liveness::default());
        Self::assemble(client, lease, ttl, liveness, keep_alive)
    }
}
