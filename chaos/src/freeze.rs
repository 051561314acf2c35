//! A client that can be frozen, as a client process stalls in a GC pause or a stopped VM: the
//! real-process twin of the simulator's `pause_this_client`.
//!
//! While frozen, no call of this client (nor of its clones: a recipe session's keep-alives go
//! through a clone) leaves it, and an answer that arrives is not seen until the thaw. So a
//! session's lease is not kept alive and expires at the cluster, while its holder believes it
//! still holds the lock: a write it sends after the thaw is the stale write a fencing token
//! exists to stop. The cluster sees only a silent client, exactly as with a paused process.

use detcd_core::api::*;
use detcd_core::client::{Client, ClientResult, HashKvResponse};
use detcd_core::member::{MemberStatus, MemberSummary};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// `C`, freezable; clones share the freeze.
#[derive(Clone)]
pub struct Freezable<C> {
    inner: C,
    until: Arc<Mutex<Option<Instant>>>,
}

impl<C: Client> Freezable<C> {
    pub fn new(inner: C) -> Freezable<C> {
        Freezable { inner, until: Arc::default() }
    }

    /// Freezes every clone for `duration` from now (extending a freeze in progress).
    pub fn freeze(&self, duration: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        let end = Instant::now() + duration;
        *until = Some(until.map_or(end, |current| current.max(end)));
    }

    /// Waits out a freeze in progress.
    async fn thawed(&self) {
        loop {
            let until = *self.until.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(end) if end > Instant::now() => tokio::time::sleep_until(end).await,
                _ => return,
            }
        }
    }

    /// `call`, sent only when not frozen and answered only when not frozen (also for calls
    /// outside the `Client` trait, such as the Lock service's).
    pub async fn gated<T>(&self, call: impl Future<Output = T>) -> T {
        self.thawed().await;
        let answer = call.await;
        self.thawed().await;
        answer
    }
}

impl<C: Client> Client for Freezable<C> {
    type Watcher = C::Watcher;

    async fn range(&self, request: RangeRequest) -> ClientResult<RangeResponse> {
        self.gated(self.inner.range(request)).await
    }

    async fn put(&self, request: PutRequest) -> ClientResult<PutResponse> {
        self.gated(self.inner.put(request)).await
    }

    async fn delete_range(&self, request: DeleteRangeRequest) -> ClientResult<DeleteRangeResponse> {
        self.gated(self.inner.delete_range(request)).await
    }

    async fn txn(&self, request: TxnRequest) -> ClientResult<TxnResponse> {
        self.gated(self.inner.txn(request)).await
    }

    async fn compact(&self, request: CompactionRequest) -> ClientResult<CompactionResponse> {
        self.gated(self.inner.compact(request)).await
    }

    async fn watch(&self) -> ClientResult<C::Watcher> {
        self.gated(self.inner.watch()).await
    }

    async fn lease_grant(&self, request: LeaseGrantRequest) -> ClientResult<LeaseGrantResponse> {
        self.gated(self.inner.lease_grant(request)).await
    }

    async fn lease_revoke(&self, request: LeaseRevokeRequest) -> ClientResult<LeaseRevokeResponse> {
        self.gated(self.inner.lease_revoke(request)).await
    }

    async fn lease_keep_alive(
        &self,
        request: LeaseKeepAliveRequest,
    ) -> ClientResult<LeaseKeepAliveResponse> {
        self.gated(self.inner.lease_keep_alive(request)).await
    }

    async fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> ClientResult<LeaseTimeToLiveResponse> {
        self.gated(self.inner.lease_time_to_live(request)).await
    }

    async fn lease_leases(&self) -> ClientResult<LeaseLeasesResponse> {
        self.gated(self.inner.lease_leases()).await
    }

    async fn member_list(&self) -> ClientResult<Vec<MemberSummary>> {
        self.gated(self.inner.member_list()).await
    }

    async fn status(&self) -> ClientResult<MemberStatus> {
        self.gated(self.inner.status()).await
    }

    async fn hash_kv(&self, revision: i64) -> ClientResult<HashKvResponse> {
        self.gated(self.inner.hash_kv(revision)).await
    }
}
