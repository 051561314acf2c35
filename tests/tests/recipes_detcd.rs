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

/// A restarted member catches up before it serves (as etcd's publish-through-raft makes it), so
/// the waiter's resumed watch meets the compaction and fails with etcd's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dequeue_behind_a_compaction_fails_with_etcds_error_on_detcd() {
    let mut detcd = start(3).await;
    let error = suite::dequeue_behind_a_compaction_fails_with_etcds_error(&mut detcd).await;
    assert_eq!(error, "etcdserver: mvcc: required revision has been compacted");
}
