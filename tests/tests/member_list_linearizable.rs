//! `Cluster.MemberList{linearizable}` (etcd 3.5): a member answers only after a read index
//! through the leader, so a member cut off from the leader answers etcd's error instead of a
//! membership that may be stale; without the flag it answers its own view, as before.

use detcd_proto::etcdserverpb::cluster_client::ClusterClient;
use detcd_proto::etcdserverpb::MemberListRequest;
use detcd_tests::cluster::Cluster;
use std::time::Duration;
use tonic::Code;

/// `endpoint`'s answer to MemberList: the member ids, or the error's code and message.
async fn member_list(endpoint: &str, linearizable: bool) -> Result<Vec<u64>, (Code, String)> {
    let mut client = ClusterClient::connect(format!("http://{endpoint}")).await.expect("connects");
    let asked = client.member_list(MemberListRequest { linearizable });
    match tokio::time::timeout(Duration::from_secs(60), asked).await {
        Err(_) => panic!("MemberList on {endpoint} never answered"),
        Ok(Ok(answer)) => {
            let mut ids: Vec<u64> = answer.into_inner().members.iter().map(|m| m.id).collect();
            ids.sort_unstable();
            Ok(ids)
        }
        Ok(Err(status)) => Err((status.code(), status.message().to_string())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cut_off_from_the_leader_refuses_a_linearizable_member_list() {
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start(3)).await.expect("cluster");
    let endpoints: Vec<String> = cluster.nodes.iter().map(|node| node.endpoint()).collect();

    // Every member, leader or follower, confirms the membership through the leader.
    let mut lists = Vec::new();
    for endpoint in &endpoints {
        lists.push(member_list(endpoint, true).await.expect("linearizable member list"));
    }
    assert_eq!(lists[0].len(), 3, "{lists:?}");
    assert!(lists.iter().all(|list| *list == lists[0]), "{lists:?}");

    // The last member alone has no quorum: no leader can confirm its membership any more.
    cluster.nodes[1].kill();
    cluster.nodes[2].kill();
    let survivor = &endpoints[0];
    assert_eq!(member_list(survivor, false).await, Ok(lists[0].clone()), "its own view");
    let refused = member_list(survivor, true).await;
    let (code, message) = refused.expect_err("a member without a leader cannot confirm");
    assert_eq!(code, Code::Unavailable, "{message}");
    let etcd_errors =
        ["etcdserver: no leader", "etcdserver: request timed out", "etcdserver: leader changed"];
    assert!(etcd_errors.contains(&message.as_str()), "{message}");
    drop(cluster);
}
