//! Catching up before serving clients (the first step of `ready`).
//!
//! A member that restarts comes back with the state it had when it went down; until it applies
//! what the cluster committed meanwhile, its serializable reads and its watches would show the
//! past (a watch could even start below a compaction the cluster already made and never be told).
//! etcd holds clients off until its own publish entry has gone through raft and been applied; the
//! same effect here: a linearizable read (through the leader's read index) names the revision the
//! cluster has reached, and the member waits until its own replica has applied that far.
//! Invariant: once `catch_up` returns, the local replica is at least as new as the cluster was
//! when it was called.

use super::Member;
use crate::api::RangeRequest;
use crate::runtime::DetRuntime;
use openraft_rt::AsyncRuntime;
use std::time::Duration;

/// Between attempts to reach a leader, and between looks at the local replica.
const RETRY: Duration = Duration::from_millis(50);

impl Member {
    /// Waits until this member has applied everything the cluster had committed when asked.
    /// Retries until a leader answers: like etcd, a member without a quorum does not serve.
    pub(super) async fn catch_up(&self) {
        let probe = RangeRequest { key: vec![0], limit: 1, keys_only: true, ..Default::default() };
        let target = loop {
            match self.route(probe.clone()).await {
                Ok(response) => break response.header.revision,
                Err(_) => DetRuntime::sleep(RETRY).await,
            }
        };
        while self.node().replica.lock().machine.revision() < target {
            DetRuntime::sleep(RETRY).await;
        }
    }
}
