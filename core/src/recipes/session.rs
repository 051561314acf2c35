//! Session: a lease kept alive in the background, the lifetime of every key a recipe owns.
//!
//! Recipes attach their keys (lock keys, election keys, barrier participants) to the session's
//! lease, so whatever happens to the client — it crashes, it is cut off, it is paused past the
//! TTL, a future is dropped mid-wait — its keys disappear when the lease does and never block
//! others forever.
//!
//! Invariants:
//! - The lease id is chosen here (a random positive id) so that granting it is idempotent: a
//!   grant whose outcome is unknown is sent again with the same id, and `lease already exists`
//!   then means the first one applied.
//! - Keep-alives go out every TTL/3 on this node's clock. The session is *done* once the cluster
//!   says the lease is gone, or once a whole TTL has passed without a successful keep-alive (the
//!   lease may have expired; nobody may act as its owner any more). Done never becomes undone.
//! - `close` stops the keep-alives and revokes the lease; dropping a session only stops the
//!   keep-alives, so its keys live until the lease expires (etcd's orphaned session).

use super::error::{RecipeError, RecipeResult};
use super::own_key::AbandonedKeys;
use super::retry;
use crate::api::{LeaseGrantRequest, LeaseKeepAliveRequest, LeaseRevokeRequest};
use crate::client::{Client, ClientError};
use crate::kv::LeaseId;
use crate::runtime::DetRuntime;
use openraft_rt::{AsyncRuntime, Instant as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

mod existing_lease;

/// etcd's default session TTL, in seconds.
pub const DEFAULT_TTL: i64 = 60;

type Instant = <DetRuntime as AsyncRuntime>::Instant;

/// Whether the session's lease is gone, and who waits for it.
#[derive(Default)]
struct Liveness {
    done: AtomicBool,
    notify: Notify,
}

impl Liveness {
    fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

/// A lease with a background keep-alive. Cheap to clone; clones share the lease.
#[derive(Clone)]
pub struct Session<C: Client> {
    inner: Arc<Inner<C>>,
}

struct Inner<C: Client> {
    client: C,
    lease: LeaseId,
    ttl: i64,
    liveness: Arc<Liveness>,
    keep_alive: madsim::task::JoinHandle<()>,
    /// Own keys whose waits were abandoned and whose deletes may still be in flight.
    abandoned: AbandonedKeys,
}

impl<C: Client> Session<C> {
    /// A session with etcd's default TTL (60 s).
    pub async fn new(client: C) -> RecipeResult<Self> {
        Self::with_ttl(client, DEFAULT_TTL).await
    }

    /// A session whose lease has this TTL in seconds (the cluster may raise it to its minimum).
    pub async fn with_ttl(client: C, ttl: i64) -> RecipeResult<Self> {
        if ttl <= 0 {
            return Err(RecipeError::InvalidArgument { what: "session TTL", why: "must be > 0" });
        }
        let (lease, ttl) = grant(&client, ttl).await?;
        let liveness = Arc::new(Liveness::default());
        let keep_alive =
            madsim::task::spawn(keep_alive(client.clone(), lease, ttl, liveness.clone()));
        Ok(Self::assemble(client, lease, ttl, liveness, keep_alive))
    }

    /// A session from its parts, with nothing abandoned yet.
    fn assemble(
        client: C,
        lease: LeaseId,
        ttl: i64,
        liveness: Arc<Liveness>,
        keep_alive: madsim::task::JoinHandle<()>,
    ) -> Self {
        let abandoned = AbandonedKeys::default();
        let inner = Inner { client, lease, ttl, liveness, keep_alive, abandoned };
        Session { inner: Arc::new(inner) }
    }

    pub fn client(&self) -> &C {
        &self.inner.client
    }

    pub fn lease(&self) -> LeaseId {
        self.inner.lease
    }

    /// The own keys this session gave up on (see `own_key`).
    pub(crate) fn abandoned(&self) -> &AbandonedKeys {
        &self.inner.abandoned
    }

    /// The TTL the cluster granted, in seconds.
    pub fn ttl(&self) -> i64 {
        self.inner.ttl
    }

    /// True once the lease is known or presumed gone.
    pub fn is_done(&self) -> bool {
        self.inner.liveness.done.load(Ordering::SeqCst)
    }

    /// Resolves when the lease is lost (etcd's `Session.Done()`).
    pub async fn done(&self) {
        loop {
            let notified = self.inner.liveness.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.is_done() {
                return;
            }
            notified.await;
        }
    }

    /// An error when the session can no longer own anything.
    pub fn check_alive(&self) -> RecipeResult<()> {
        if self.is_done() {
            return Err(RecipeError::SessionExpired { lease: self.inner.lease });
        }
        Ok(())
    }

    /// Stops the keep-alives and revokes the lease, deleting every key attached to it. Dropping
    /// the last clone without closing leaves the lease to expire on its own.
    pub async fn close(&self) -> RecipeResult<()> {
        self.inner.keep_alive.abort();
        self.inner.liveness.finish();
        let request = LeaseRevokeRequest { id: self.inner.lease };
        match retry::idempotent(|| self.inner.client.lease_revoke(request.clone())).await {
            Ok(_) | Err(ClientError::Etcd(crate::Error::LeaseNotFound)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

impl<C: Client> Drop for Inner<C> {
    fn drop(&mut self) {
        self.keep_alive.abort();
    }
}

/// Grants a lease under an id chosen here, so a resend after an unknown outcome is harmless.
async fn grant<C: Client>(client: &C, ttl: i64) -> RecipeResult<(LeaseId, i64)> {
    let id = (madsim::rand::random::<u64>() >> 1).max(1) as LeaseId;
    let request = LeaseGrantRequest { ttl, id };
    let mut resent = false;
    let answer = retry::idempotent(|| {
        let first = !resent;
        resent = true;
        let request = request.clone();
        async move {
            match client.lease_grant(request).await {
                Err(ClientError::Etcd(crate::Error::LeaseExists)) if !first => Ok(None),
                other => other.map(Some),
            }
        }
    })
    .await?;
    match answer {
        Some(granted) => Ok((granted.id, granted.ttl)),
        // An earlier copy of this grant applied; its TTL is at least the one asked for.
        None => Ok((id, ttl)),
    }
}

/// Keeps `lease` alive every TTL/3 until it is gone or a whole TTL passed without an answer.
async fn keep_alive<C: Client>(client: C, lease: LeaseId, ttl: i64, liveness: Arc<Liveness>) {
    let ttl = Duration::from_secs(ttl.max(1) as u64);
    let mut last_renewed = Instant::now();
    loop {
        DetRuntime::sleep(ttl / 3).await;
        match client.lease_keep_alive(LeaseKeepAliveRequest { id: lease }).await {
            Ok(answer) if answer.ttl > 0 => last_renewed = Instant::now(),
            // TTL 0: the lease is gone (every transport answers a missing lease so).
            Ok(_) => break,
            Err(_) if Instant::now() - last_renewed >= ttl => break,
            Err(_) => {}
        }
    }
    liveness.finish();
}
