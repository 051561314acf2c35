//! etcd's Lock and Election gRPC services on a real `detcd`, driven with the generated tonic
//! clients. etcdctl 3.4 runs its `lock` and `elect` recipes over KV instead, so it checks that
//! the services lay keys out as etcd does: a lock held through the service blocks `etcdctl lock`,
//! and `etcdctl elect -l` names the leader elected through the service.

use detcd_core::api::{LeaseGrantRequest, LeaseRevokeRequest};
use detcd_proto::client::GrpcClient;
use detcd_proto::v3electionpb as epb;
use detcd_proto::v3electionpb::election_client::ElectionClient;
use detcd_proto::v3lockpb as lpb;
use detcd_proto::v3lockpb::lock_client::LockClient;
use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl;
use std::process::Command;
use std::time::Duration;

async fn lease(client: &GrpcClient) -> i64 {
    client.lease_grant(LeaseGrantRequest { ttl: 60, id: 0 }).await.expect("grant").id
}

async fn start() -> (Cluster, GrpcClient, String) {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(1)).await.expect("cluster");
    let endpoint = cluster.nodes[0].endpoint();
    let client = GrpcClient::new(&[endpoint.as_str()]).expect("client");
    (cluster, client, format!("http://{endpoint}"))
}

/// `etcdctl <args>` cut off after `seconds`; returns (exited by itself, stdout).
async fn etcdctl_for(endpoints: String, seconds: u32, args: &[&str]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = Command::new("timeout")
            .arg(seconds.to_string())
            .arg(etcdctl::path())
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .args(&args)
            .output()
            .expect("etcdctl runs");
        (output.status.code() != Some(124), String::from_utf8_lossy(&output.stdout).into_owned())
    })
    .await
    .expect("etcdctl task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_waits_for_unlock_and_names_its_owner_key() {
    let (cluster, client, url) = start().await;
    let mut locks = LockClient::connect(url).await.expect("lock client");
    let (first, second) = (lease(&client).await, lease(&client).await);

    let request = |lease| lpb::LockRequest { name: b"job".to_vec(), lease };
    let held = locks.lock(request(first)).await.expect("lock").into_inner();
    assert_eq!(held.key, format!("job/{first:x}").into_bytes());

    let mut waiter = locks.clone();
    let waiting = tokio::spawn(async move { waiter.lock(request(second)).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiting.is_finished(), "a second lock must wait while the first is held");
    let (finished, printed) =
        etcdctl_for(cluster.endpoints(), 2, &["lock", "job", "echo", "got-it"]).await;
    assert!(!finished && !printed.contains("got-it"), "etcdctl lock ran while held: {printed}");

    let unlocked = locks.unlock(lpb::UnlockRequest { key: held.key.clone() }).await;
    assert!(unlocked.expect("unlock").into_inner().header.expect("header").revision > 0);
    let next = tokio::time::timeout(Duration::from_secs(10), waiting).await;
    let next = next.expect("second lock granted").expect("task").expect("lock").into_inner();
    assert_eq!(next.key, format!("job/{second:x}").into_bytes());

    // Revoking the owner's lease releases its lock too; then etcdctl gets it.
    client.lease_revoke(LeaseRevokeRequest { id: second }).await.expect("revoke");
    let (finished, printed) =
        etcdctl_for(cluster.endpoints(), 10, &["lock", "job", "echo", "got-it"]).await;
    assert!(finished && printed.contains("got-it"), "etcdctl lock after release: {printed}");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_under_a_missing_lease_is_refused_with_etcds_error() {
    let (cluster, _client, url) = start().await;
    let mut locks = LockClient::connect(url).await.expect("lock client");
    let refused = locks.lock(lpb::LockRequest { name: b"job".to_vec(), lease: 0x1234 }).await;
    let status = refused.expect_err("no such lease");
    assert_eq!(status.message(), "etcdserver: requested lease not found");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_proclaim_observe_resign_and_leader() {
    let (cluster, client, url) = start().await;
    let mut elections = ElectionClient::connect(url).await.expect("election client");
    let name = b"pilot".to_vec();
    let (first, second) = (lease(&client).await, lease(&client).await);

    let nobody = elections.leader(epb::LeaderRequest { name: name.clone() }).await;
    assert_eq!(nobody.expect_err("no leader yet").message(), "election: no leader");

    let campaign = |lease, value: &str| epb::CampaignRequest {
        name: name.clone(),
        lease,
        value: value.as_bytes().to_vec(),
    };
    let won = elections.campaign(campaign(first, "a")).await.expect("campaign").into_inner();
    let leader = won.leader.expect("leader key");
    assert_eq!(leader.key, format!("pilot/{first:x}").into_bytes());
    assert_eq!((leader.lease, leader.name.as_slice()), (first, name.as_slice()));

    let mut observed = elections
        .observe(epb::LeaderRequest { name: name.clone() })
        .await
        .expect("observe")
        .into_inner();
    let value_of = |response: epb::LeaderResponse| response.kv.expect("kv").value;
    assert_eq!(value_of(observed.message().await.expect("observe").expect("leader")), b"a");

    let proclaim = epb::ProclaimRequest { leader: Some(leader.clone()), value: b"b".to_vec() };
    elections.proclaim(proclaim).await.expect("proclaim");
    assert_eq!(value_of(observed.message().await.expect("observe").expect("leader")), b"b");
    let (_, listed) = etcdctl_for(cluster.endpoints(), 2, &["elect", "-l", "pilot"]).await;
    assert!(listed.contains(&format!("pilot/{first:x}\nb")), "etcdctl elect -l: {listed}");

    let mut rival = elections.clone();
    let second_campaign = campaign(second, "c");
    let waiting = tokio::spawn(async move { rival.campaign(second_campaign).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiting.is_finished(), "a second campaign must wait while the first leads");

    elections.resign(epb::ResignRequest { leader: Some(leader.clone()) }).await.expect("resign");
    let next = tokio::time::timeout(Duration::from_secs(10), waiting).await;
    let next = next.expect("second campaign won").expect("task").expect("campaign");
    assert_eq!(next.into_inner().leader.expect("leader").lease, second);
    assert_eq!(value_of(observed.message().await.expect("observe").expect("leader")), b"c");
    let now = elections.leader(epb::LeaderRequest { name: name.clone() }).await.expect("leader");
    assert_eq!(value_of(now.into_inner()), b"c");

    let stale = epb::ProclaimRequest { leader: Some(leader), value: b"late".to_vec() };
    let refused = elections.proclaim(stale).await.expect_err("the resigned leader cannot speak");
    assert_eq!(refused.message(), "election: not leader");
    let missing = elections.proclaim(epb::ProclaimRequest { leader: None, value: vec![] }).await;
    assert_eq!(missing.expect_err("no leader key").message(), "\"leader\" field must be provided");
    drop(cluster);
}
