//! Every client recipe over gRPC against detcd, single-member and three-member: the same suite
//! `recipes_real_etcd.rs` runs against real etcd 3.4, so both servers answer alike.

use detcd_tests::cluster::Cluster;
use detcd_tests::suite;

async fn start(size: usize) -> Cluster {
    tokio::task::spawn_blocking(move || Cluster::start(size)).await.expect("detcd starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recipe_works_against_a_single_detcd() {
    let detcd = start(1).await;
    suite::assert_all_pass(&detcd, suite::scenarios()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recipe_works_against_three_detcds() {
    let detcd = start(3).await;
    suite::assert_all_pass(&detcd, suite::scenarios()).await;
}

/// Passes on real etcd; fails on detcd today: a restarted detcd member says "ready to serve
/// client requests" and serves watches at its stale revision before it has applied what was
/// committed while it was down (etcd is ready only once its publish entry has gone through raft
/// and been applied). The waiter's resumed watch is then created below the member's own
/// compaction point and never learns of the compaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "detcd serves clients before catching up after a restart (server/ issue)"]
async fn a_dequeue_behind_a_compaction_fails_with_etcds_error_on_detcd() {
    let mut detcd = start(3).await;
    let error = suite::dequeue_behind_a_compaction_fails_with_etcds_error(&mut detcd).await;
    assert_eq!(error, "etcdserver: mvcc: required revision has been compacted");
}
