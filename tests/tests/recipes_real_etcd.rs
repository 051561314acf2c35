//! Every client recipe over gRPC against real etcd 3.4 (Debian's `etcd-server`), single-member
//! and three-member, plus bad input and a dequeue that falls behind a compaction.
//! `recipes_detcd.rs` runs the identical suite against detcd.

use detcd_tests::real_etcd::EtcdCluster;
use detcd_tests::suite;

async fn start(size: usize) -> EtcdCluster {
    tokio::task::spawn_blocking(move || EtcdCluster::start(size)).await.expect("etcd starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recipe_works_against_a_single_real_etcd() {
    let etcd = start(1).await;
    suite::assert_all_pass(&etcd, suite::scenarios()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recipe_works_against_three_real_etcds() {
    let etcd = start(3).await;
    suite::assert_all_pass(&etcd, suite::scenarios()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dequeue_behind_a_compaction_fails_with_etcds_error_on_real_etcd() {
    let mut etcd = start(3).await;
    let error = suite::dequeue_behind_a_compaction_fails_with_etcds_error(&mut etcd).await;
    assert_eq!(error, "etcdserver: mvcc: required revision has been compacted");
}
