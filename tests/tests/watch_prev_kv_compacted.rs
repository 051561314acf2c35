//! A watch with `prev_kv` that starts in a compacted past, on real etcd: etcd sends the event
//! whose previous revision is compacted without its previous pair (its API: "If the previous KV
//! is already compacted, nothing will be returned"), and the next one with it. The watch
//! checker passes that answer once it knows the compaction (`WatchHistory::compacted_to`), and
//! flags it when it does not: the rule the real-process `watch` scenario needs on etcd.

use detcd_check::watch::{self, WatchHistory};
use detcd_core::api::{CompactionRequest, PutRequest};
use detcd_core::watch::{WatchCreateRequest, WatchRequest};
use detcd_proto::client::GrpcClient;
use detcd_tests::real_etcd::EtcdCluster;
use serde_json::{json, Value};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_leaves_out_a_compacted_previous_pair_and_the_checker_accepts_it_knowing_the_compaction(
) {
    let cluster = tokio::task::spawn_blocking(|| EtcdCluster::start(1)).await.expect("etcd");
    let endpoint = cluster.endpoints()[0].clone();
    let client = GrpcClient::new(&[endpoint.as_str()]).expect("client");
    let mut revisions = Vec::new();
    for value in ["v1", "v2", "v3"] {
        let put = PutRequest { key: "k".into(), value: value.into(), ..Default::default() };
        revisions.push(client.put(put).await.expect("put").header.revision);
    }
    let (v1, v2, v3) = (revisions[0], revisions[1], revisions[2]);
    let compact = CompactionRequest { revision: v2, physical: true };
    client.compact(compact).await.expect("compact");

    let mut watcher = client.watch().await.expect("watch");
    let create = WatchCreateRequest { prev_kv: true, ..WatchCreateRequest::key("k", v2) };
    watcher.send(WatchRequest::Create(create)).await.expect("create");
    let mut events = Vec::new();
    while events.len() < 2 {
        events.extend(watcher.recv().await.expect("watch response").events);
    }
    assert_eq!(events[0].kv.mod_revision, v2);
    assert_eq!(events[0].prev_kv, None, "the pair before {v2} is compacted: etcd sends none");
    let second_prev = events[1].prev_kv.as_ref().map(|kv| text(&kv.value));
    assert_eq!(second_prev.as_deref(), Some("v2"), "the pair before {v3} is not compacted");

    let received: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "revision": e.kv.mod_revision, "key": text(&e.kv.key), "kind": "put",
                "value": text(&e.kv.value), "prev_value": e.prev_kv.as_ref().map(|kv| text(&kv.value)),
            })
        })
        .collect();
    let history = |compacted_to: Option<i64>| -> WatchHistory {
        serde_json::from_value(json!({
            "committed": [
                {"revision": v1, "key": "k", "kind": "put", "value": "v1"},
                {"revision": v2, "key": "k", "kind": "put", "value": "v2", "prev_value": "v1"},
                {"revision": v3, "key": "k", "kind": "put", "value": "v3", "prev_value": "v2"},
            ],
            "watchers": [{
                "key": "k", "start_revision": v2, "prev_kv": true,
                "received": [{"type": "events", "events": received}],
            }],
            "compacted_to": compacted_to,
        }))
        .expect("a watch history")
    };
    let told = watch::check(&history(Some(v2)));
    assert!(told.is_ok(), "{told:#?}");
    let untold = watch::check(&history(None));
    let rules: Vec<&str> = untold.findings().iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["prev_kv"], "{untold:#?}");
}
