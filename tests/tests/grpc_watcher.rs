//! `GrpcWatcher` opening lazily: a watch whose call cannot open fails on every `recv` with the
//! same error (and never polls the finished call again, which would panic).

use detcd_core::watch::{WatchCreateRequest, WatchRequest};
use detcd_proto::client::GrpcClient;

#[tokio::test]
async fn a_watch_that_cannot_open_keeps_failing_without_panicking() {
    let client = GrpcClient::new(&["127.0.0.1:1"]).expect("client");
    let mut watcher = client.watch().await.expect("opening is lazy");
    let create = WatchRequest::Create(WatchCreateRequest::key("a", 0));
    watcher.send(create).await.expect("queued");
    let first = watcher.recv().await;
    assert!(first.is_err(), "{first:?}");
    assert_eq!(watcher.recv().await, first, "the same error again");
}
