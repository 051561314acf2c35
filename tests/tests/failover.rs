//! Recipes over gRPC keep working when the member their client talks to dies, on real etcd 3.4
//! and on detcd (three members each).

use detcd_tests::cluster::Cluster;
use detcd_tests::real_etcd::EtcdCluster;
use detcd_tests::suite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_survives_the_death_of_its_member_on_real_etcd() {
    let mut etcd = tokio::task::spawn_blocking(|| EtcdCluster::start(3)).await.expect("etcd");
    suite::a_wait_survives_the_death_of_its_member(&mut etcd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_survives_the_death_of_its_member_on_detcd() {
    let mut detcd = tokio::task::spawn_blocking(|| Cluster::start(3)).await.expect("detcd");
    suite::a_wait_survives_the_death_of_its_member(&mut detcd).await;
}

/// A member that hangs (SIGSTOP) makes a call time out with an unknown outcome; the client must
/// not stay on it: the next call goes to another member and succeeds. (Real etcd only: the
/// detcd harness does not expose its members' processes.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_member_is_left_after_a_timeout_on_real_etcd() {
    use detcd_core::client::{ops, Client};
    let etcd = tokio::task::spawn_blocking(|| EtcdCluster::start(3)).await.expect("etcd");
    let client = suite::support::client(&etcd.endpoints()); // Talks to member 0 first.
    Client::put(&client, ops::put(b"hung/k", b"before", 0)).await.expect("put before the hang");
    etcd.members[0].pause();
    let hung = Client::put(&client, ops::put(b"hung/k", b"maybe", 0)).await;
    assert!(hung.as_ref().is_err_and(|e| e.is_unknown()), "{hung:?}");
    let after = Client::range(&client, ops::get(b"hung/k")).await;
    etcd.members[0].resume();
    let after = after.expect("the next call reaches a live member");
    assert_eq!(after.kvs.len(), 1);
}
