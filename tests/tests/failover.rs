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
