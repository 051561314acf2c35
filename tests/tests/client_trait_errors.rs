//! `GrpcClient` through detcd-core's `Client` trait (generic code, as the recipes use it): etcd's
//! refusals arrive as typed `ClientError::Etcd` values that print etcd's own messages, against
//! real etcd 3.4 and against detcd alike.

use detcd_core::api::*;
use detcd_core::client::{ops, Client, ClientError, Watcher};
use detcd_core::watch::{WatchCreateRequest, WatchRequest};
use detcd_core::Error;
use detcd_tests::cluster::Cluster;
use detcd_tests::real_etcd::EtcdCluster;
use detcd_tests::servers::Servers;
use detcd_tests::suite::support;

/// The etcd error of `result`, failing the test with what came instead.
fn etcd_error<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Error {
    match result {
        Err(ClientError::Etcd(error)) => error,
        other => panic!("expected an etcd refusal, got {other:?}"),
    }
}

async fn refusals_are_typed_with_etcds_messages<C: Client>(client: &C) {
    let mut revisions = Vec::new();
    for value in ["v1", "v2", "v3"] {
        revisions.push(client.put(ops::put(b"errors/k", value.as_bytes(), 0)).await.unwrap());
    }
    let newest = revisions[2].header.revision;
    client.compact(CompactionRequest { revision: newest, physical: true }).await.unwrap();

    let old = RangeRequest { revision: revisions[0].header.revision, ..ops::get(b"errors/k") };
    let compacted = etcd_error(client.range(old).await);
    assert_eq!(compacted, Error::Compacted { compact_revision: 0 });
    assert_eq!(compacted.to_string(), "etcdserver: mvcc: required revision has been compacted");

    let future = RangeRequest { revision: newest + 1000, ..ops::get(b"errors/k") };
    let future = etcd_error(client.range(future).await);
    assert_eq!(future.to_string(), "etcdserver: mvcc: required revision is a future revision");

    let gone = etcd_error(client.lease_revoke(LeaseRevokeRequest { id: 0x1234 }).await);
    assert_eq!(gone.to_string(), "etcdserver: requested lease not found");

    let empty = etcd_error(client.put(ops::put(b"", b"v", 0)).await);
    assert_eq!(empty.to_string(), "etcdserver: key is not provided");

    let twice = TxnRequest {
        compare: vec![],
        success: vec![
            RequestOp::Put(ops::put(b"errors/d", b"1", 0)),
            RequestOp::Put(ops::put(b"errors/d", b"2", 0)),
        ],
        failure: vec![],
    };
    let duplicate = etcd_error(client.txn(twice).await);
    assert_eq!(duplicate.to_string(), "etcdserver: duplicate key given in txn request");

    // A watch from a compacted revision is canceled with the compaction point.
    let mut watcher = client.watch().await.unwrap();
    let from = revisions[0].header.revision;
    watcher.send(WatchRequest::Create(WatchCreateRequest::key("errors/k", from))).await.unwrap();
    let mut canceled = None;
    for _ in 0..3 {
        let response = watcher.recv().await.expect("watch response");
        if response.canceled {
            canceled = Some(response);
            break;
        }
    }
    let canceled = canceled.expect("the watch was canceled");
    assert_eq!(canceled.compact_revision, newest);
}

async fn check(servers: &dyn Servers) {
    let client = support::client(&servers.endpoints());
    refusals_are_typed_with_etcds_messages(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_etcds_refusals_are_typed_client_errors() {
    let etcd = tokio::task::spawn_blocking(|| EtcdCluster::start(1)).await.expect("etcd");
    check(&etcd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detcds_refusals_are_the_same_typed_client_errors() {
    let detcd = tokio::task::spawn_blocking(|| Cluster::start(1)).await.expect("detcd");
    check(&detcd).await;
}
