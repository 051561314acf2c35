//! Bad input through gRPC gets a clear error, never a panic or a hang: an empty lock prefix, a
//! double barrier for 0 participants, a session whose lease was revoked behind its back, and a
//! dequeue whose wait fell behind a compaction (etcd's own compaction message).

use super::support::*;
use crate::servers::Servers;
use detcd_core::api::{CompactionRequest, LeaseRevokeRequest};
use detcd_core::client::ops;
use detcd_core::recipes::priority_queue::MAX_PRIORITY;
use detcd_core::recipes::{DoubleBarrier, Mutex, PriorityQueue, RecipeError, Session};
use detcd_proto::client::GrpcClient;
use std::time::Duration;

pub async fn empty_prefixes_and_zero_counts_are_refused(client: GrpcClient) {
    let session = session(&client).await;
    let empty = Mutex::new(&session, "").err().expect("an empty lock prefix is refused");
    assert_eq!(empty.to_string(), "invalid mutex prefix: must not be empty");
    let zero = DoubleBarrier::new(&session, "suite-bad-db", 0).err().expect("count 0 refused");
    assert_eq!(zero.to_string(), "invalid double barrier count: must be at least 1");
    let queue = PriorityQueue::new(&client, "suite-bad-pq").expect("valid prefix");
    let too_low = queue.enqueue("v", MAX_PRIORITY + 1).await.expect_err("priority too large");
    assert!(too_low.to_string().contains("priority"), "{too_low}");
    let _ = session.close().await;
}

pub async fn a_session_revoked_behind_its_back_is_expired(client: GrpcClient) {
    let doomed = Session::with_ttl(client.clone(), 3).await.expect("session");
    client.lease_revoke(LeaseRevokeRequest { id: doomed.lease() }).await.expect("revoke");
    let mut mutex = Mutex::new(&doomed, "suite-revoked").expect("valid prefix");
    let error = mutex.lock().await.expect_err("a lock on a revoked lease");
    assert_eq!(error, RecipeError::SessionExpired { lease: doomed.lease() });
    assert!(error.to_string().starts_with("session expired"), "{error}");
    // The keep-alive loop learns the lease is gone and ends the session.
    let done = tokio::time::timeout(Duration::from_secs(10), doomed.done()).await;
    assert!(done.is_ok(), "the session did not notice its lease was revoked");
    assert_eq!(keys_under(&client, "suite-revoked/").await, Vec::<String>::new());
}

/// A dequeuer waits on an empty queue through member 0 only; member 0 is killed while the
/// others write and compact, then restarted: the waiter's resumed watch starts below the
/// compaction and the dequeue must fail with etcd's compaction error. Returns that error.
pub async fn dequeue_behind_a_compaction_fails_with_etcds_error(
    servers: &mut dyn Servers,
) -> String {
    let endpoints = servers.endpoints();
    assert!(endpoints.len() >= 3, "needs a member to kill and a quorum without it");
    let waiter_client = client(&endpoints[..1]);
    let others = client(&endpoints[1..]);
    let queue = detcd_core::recipes::Queue::new(&waiter_client, "suite-compacted").unwrap();
    let waiting = spawn(async move { queue.dequeue().await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    tokio::task::block_in_place(|| servers.kill(0));
    let revision = write_elsewhere(&others).await;
    let compact = CompactionRequest { revision, physical: true };
    others.compact(compact).await.expect("compact");
    tokio::task::block_in_place(|| servers.restart(0));
    // The restarted member may first have to catch up: allow more than a plain hand-over.
    let limit = Duration::from_secs(30);
    let error = finishes_within(waiting, limit, "the dequeue behind a compaction").await;
    error.expect_err("nothing was enqueued, yet the dequeue returned").to_string()
}

/// Writes a few keys outside the queue (retrying while the cluster elects a new leader) and
/// returns the revision of the last.
async fn write_elsewhere(client: &GrpcClient) -> i64 {
    let mut revision = 0;
    for i in 0..5 {
        let put = ops::put(format!("suite-elsewhere/{i}").as_bytes(), b"x", 0);
        for _ in 0..100 {
            match client.put(put.clone()).await {
                Ok(response) => {
                    revision = response.header.revision;
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    assert!(revision > 0, "no write went through on the remaining members");
    revision
}
