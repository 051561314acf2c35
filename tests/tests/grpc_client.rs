//! detcd's own gRPC client (`detcd_proto::client::GrpcClient`) against a real `detcd` process:
//! KV, txn, errors by etcd message, watch, leases, cluster and maintenance calls.

use detcd_core::api::*;
use detcd_core::kv::EventType;
use detcd_core::watch::{WatchCreateRequest, WatchRequest};
use detcd_core::Error;
use detcd_proto::client::{GrpcClient, GrpcError};
use detcd_tests::cluster::Cluster;

fn put(key: &str, value: &str) -> PutRequest {
    PutRequest { key: key.into(), value: value.into(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_txn_watch_lease_and_status_over_grpc() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(1)).await.expect("cluster");
    let endpoint = cluster.nodes[0].endpoint();
    let client = GrpcClient::new(&[endpoint.as_str()]).expect("client");

    let first = client.put(put("a", "1")).await.expect("put");
    let second = client.put(PutRequest { prev_kv: true, ..put("a", "2") }).await.expect("put");
    assert_eq!(second.header.revision, first.header.revision + 1);
    assert_eq!(second.prev_kv.expect("prev kv").value, b"1");
    let read =
        client.range(RangeRequest { key: "a".into(), ..Default::default() }).await.expect("get");
    assert_eq!((read.count, read.kvs[0].version), (1, 2));

    let txn = TxnRequest {
        compare: vec![Compare {
            key: "a".into(),
            range_end: Vec::new(),
            target: CompareTarget::Value("2".into()),
            result: CompareResult::Equal,
        }],
        success: vec![RequestOp::Put(put("b", "x"))],
        failure: vec![],
    };
    assert!(client.txn(txn).await.expect("txn").succeeded);

    let mut watcher = client.watch().await.expect("watch");
    watcher.send(WatchRequest::Create(WatchCreateRequest::key("a", 1))).await.expect("create");
    let mut events = Vec::new();
    while events.len() < 2 {
        events.extend(watcher.recv().await.expect("watch response").events);
    }
    assert_eq!(events[0].kind, EventType::Put);
    assert_eq!(events[1].kv.value, b"2");

    let compacted =
        client.compact(CompactionRequest { revision: second.header.revision, physical: false });
    compacted.await.expect("compact");
    let old =
        RangeRequest { key: "a".into(), revision: first.header.revision, ..Default::default() };
    assert_eq!(
        client.range(old).await,
        Err(GrpcError::Etcd(Error::Compacted { compact_revision: 0 }))
    );

    let lease = client.lease_grant(LeaseGrantRequest { ttl: 60, id: 0 }).await.expect("grant");
    let leases = client.lease_leases().await.expect("leases");
    assert_eq!(leases.leases, vec![lease.id]);
    client.lease_revoke(LeaseRevokeRequest { id: lease.id }).await.expect("revoke");
    let gone = client.lease_revoke(LeaseRevokeRequest { id: lease.id }).await;
    assert_eq!(gone, Err(GrpcError::Etcd(Error::LeaseNotFound)));

    let members = client.member_list().await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].info.name, "infra1");
    let status = client.status().await.expect("status");
    assert!(status.is_leader);
    let hash = client.hash_kv(0).await.expect("hash");
    assert_eq!(hash.compact_revision, second.header.revision);
    drop(cluster);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    let client = GrpcClient::new(&["127.0.0.1:1"]).expect("client");
    let result = client.range(RangeRequest { key: "a".into(), ..Default::default() }).await;
    assert!(matches!(result, Err(GrpcError::Unavailable(_))), "{result:?}");
}
