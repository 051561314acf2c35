//! Session: its lease outlives its TTL while the session lives (keep-alives over gRPC), keys
//! attached to it live as long, and `close` revokes the lease and with it the keys.

use super::support::value_of;
use detcd_core::api::LeaseTimeToLiveRequest;
use detcd_core::client::ops;
use detcd_core::recipes::Session;
use detcd_proto::client::GrpcClient;
use std::time::Duration;

/// A short TTL, so the test can outlive it; etcd may raise it to its minimum.
const TTL: i64 = 2;

pub async fn keeps_its_lease_alive_and_close_revokes_it(client: GrpcClient) {
    let session = Session::with_ttl(client.clone(), TTL).await.expect("session");
    assert!(session.ttl() >= TTL, "granted TTL {} below the {TTL} asked for", session.ttl());
    let key = b"suite-session/owned";
    client.put(ops::put(key, b"v", session.lease())).await.expect("put with the lease");

    // Two TTLs later the lease still lives only if keep-alives renewed it.
    tokio::time::sleep(Duration::from_secs(2 * session.ttl() as u64)).await;
    assert!(!session.is_done(), "the session gave up while the cluster was reachable");
    let alive = time_to_live(&client, session.lease()).await;
    assert!(alive.ttl > 0, "lease expired despite keep-alives: {alive:?}");
    assert_eq!(alive.keys, vec![key.to_vec()]);

    session.close().await.expect("close");
    assert!(session.is_done());
    assert_eq!(value_of(&client, "suite-session/owned").await, None, "close leaves keys");
    assert_eq!(time_to_live(&client, session.lease()).await.ttl, -1, "lease still exists");
}

async fn time_to_live(client: &GrpcClient, id: i64) -> detcd_core::api::LeaseTimeToLiveResponse {
    let request = LeaseTimeToLiveRequest { id, keys: true };
    client.lease_time_to_live(request).await.expect("time to live")
}
