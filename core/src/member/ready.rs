//! A member's start-up, from `Member::start` to serving clients: one path for every transport.
//!
//! A started member has recovered its own disk, but what it holds may be far behind the cluster
//! (it was down, or cut off, while the others went on), and the others may not yet know how to
//! reach it. So before it answers any client, `Member::until_ready`:
//! 1. catches up: waits until its replica has applied everything the cluster had committed
//!    (`catch_up`), so no read or watch it serves shows state older than what the cluster — and
//!    this member itself, before a crash — already acknowledged;
//! 2. publishes its name and client URLs through raft (`MembershipChange::Publish`), over the
//!    ordinary forwarding path: a follower sends it to the leader like any other proposal. It is
//!    retried until the membership this member sees shows them, because leaders change and
//!    members start at different times (etcd retries its publish the same way);
//! 3. reports ready (`Member::is_ready`, `Member::ready`).
//!
//! Transports serve clients only once the member is ready, as etcd listens for clients only then:
//! the server binds its client listeners but accepts nothing before; the simulator answers
//! `Stopped` (nothing done, ask another member) to every unary call (`Member::call`) and opens no
//! watch stream. Peers are served from the start: without them there is nothing to catch up with.
//!
//! Invariants: ready never goes back to not ready for the life of a `Member` (a restart is a new
//! `Member`); once ready, the replica is at least as new as the cluster was when `until_ready` was
//! called, and the replicated membership shows this member's published name and client URLs.
//! Until then the member waits: like etcd, a member that cannot reach a quorum does not serve.

use super::Member;
use crate::peer::MembershipChange;
use crate::runtime::DetRuntime;
use openraft_rt::AsyncRuntime;
use std::time::Duration;
use tokio::sync::watch;

/// Between publish attempts, and between looks at whether a publish has arrived here.
const RETRY: Duration = Duration::from_millis(100);

/// Whether start-up is done: set once, never cleared (see the invariants above).
pub(super) struct Readiness {
    ready: watch::Sender<bool>,
}

impl Readiness {
    pub(super) fn new() -> Self {
        Readiness { ready: watch::Sender::new(false) }
    }

    fn set(&self) {
        self.ready.send_replace(true);
    }

    fn is_set(&self) -> bool {
        *self.ready.borrow()
    }

    async fn wait(&self) {
        let mut ready = self.ready.subscribe();
        // The sender lives as long as the member, so the wait ends only when it is ready.
        let _ = ready.wait_for(|ready| *ready).await;
    }
}

impl Member {
    /// Brings this started member to serving: catches up with the cluster, publishes its name
    /// and `client_urls`, then reports ready. Returns at once if the member is ready already;
    /// otherwise waits as long as it takes (no quorum, no readiness).
    pub async fn until_ready(&self, client_urls: Vec<String>) {
        if self.is_ready() {
            return;
        }
        self.catch_up().await;
        self.publish_until_done(client_urls).await;
        self.inner.ready.set();
    }

    /// Whether this member has finished `until_ready` and may serve clients (and was not
    /// removed from the cluster since: `removal`).
    pub fn is_ready(&self) -> bool {
        self.inner.ready.is_set() && !self.is_removed()
    }

    /// Resolves once this member is ready.
    pub async fn ready(&self) {
        self.inner.ready.wait().await
    }

    /// Returns once the membership this member sees shows its name and `client_urls`.
    async fn publish_until_done(&self, client_urls: Vec<String>) {
        let id = self.id();
        let name = self.node().config.name.clone();
        let timeout = self.node().config.request_timeout;
        while !self.is_published(id, &name, &client_urls) {
            let publish = MembershipChange::Publish {
                id,
                name: name.clone(),
                client_urls: client_urls.clone(),
            };
            // Any failure (no leader yet, a leader change, a timeout) is tried again: the change
            // is idempotent, and the loop ends only on what this member itself sees replicated.
            let attempt = Box::pin(self.change_membership(publish));
            let _ = DetRuntime::timeout(timeout, attempt).await;
            if !self.is_published(id, &name, &client_urls) {
                DetRuntime::sleep(RETRY).await;
            }
        }
    }
}
