//! `Maintenance.Hash` (etcd's hash of its whole backend): members that applied the same entries
//! answer the same hash at the same revision, and a write changes it.

use detcd_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use detcd_proto::etcdserverpb::HashRequest;
use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl::ok;
use std::time::Duration;

/// (revision, hash) as `endpoint` answers `Maintenance.Hash`.
async fn hash(endpoint: &str) -> (i64, u32) {
    let mut client =
        MaintenanceClient::connect(format!("http://{endpoint}")).await.expect("connects");
    let answer = client.hash(HashRequest {}).await.expect("hash").into_inner();
    (answer.header.expect("header").revision, answer.hash)
}

/// Every member's (revision, hash), once all of them have applied up to the same revision.
async fn agreed(endpoints: &[String]) -> Vec<(i64, u32)> {
    for _ in 0..50 {
        let mut answers = Vec::new();
        for endpoint in endpoints {
            answers.push(hash(endpoint).await);
        }
        if answers.iter().all(|(revision, _)| *revision == answers[0].0) {
            return answers;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the members never reached the same revision");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_at_the_same_revision_answer_the_same_hash_and_a_write_changes_it() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(3)).await.expect("cluster");
    let endpoints: Vec<String> = cluster.nodes.iter().map(|node| node.endpoint()).collect();
    let all = endpoints.join(",");
    let setup = all.clone();
    tokio::task::spawn_blocking(move || {
        ok(&setup, &["put", "a", "1"]);
        ok(&setup, &["put", "b", "2"]);
        ok(&setup, &["del", "a"]);
        ok(&setup, &["lease", "grant", "600"]);
    })
    .await
    .expect("writes");
    let before = agreed(&endpoints).await;
    assert!(before.iter().all(|answer| *answer == before[0]), "{before:?}");

    tokio::task::spawn_blocking(move || ok(&all, &["put", "b", "3"])).await.expect("put");
    let after = agreed(&endpoints).await;
    assert!(after.iter().all(|answer| *answer == after[0]), "{after:?}");
    assert_eq!(after[0].0, before[0].0 + 1);
    assert_ne!(after[0].1, before[0].1, "a write changes the hash");
    drop(cluster);
}
