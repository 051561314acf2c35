//! `KV.RangeStream` (etcd 3.7) over gRPC: a range over many keys comes in several chunks whose
//! concatenation is the plain `Range` at the same revision, with the header, `more` and `count`
//! on the last chunk only; a stream at a compacted revision gets etcd's error.

use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::kv_client::KvClient;
use detcd_tests::cluster::Cluster;
use tonic::transport::Channel;
use tonic::Code;

const KEYS: usize = 2500;

/// Every message of a RangeStream of `request`, or the error's code and message.
async fn stream(
    client: &mut KvClient<Channel>,
    request: pb::RangeRequest,
) -> Result<Vec<pb::RangeResponse>, (Code, String)> {
    let failed = |status: tonic::Status| (status.code(), status.message().to_string());
    let mut messages = client.range_stream(request).await.map_err(failed)?.into_inner();
    let mut chunks = Vec::new();
    while let Some(message) = messages.message().await.map_err(failed)? {
        chunks.push(message.range_response.expect("each message carries a range response"));
    }
    Ok(chunks)
}

/// Checks the chunks' layout and merges them, as etcd's clients do.
fn merged(chunks: &[pb::RangeResponse]) -> pb::RangeResponse {
    let (last, rest) = chunks.split_last().expect("at least one chunk");
    for chunk in rest {
        assert!(
            chunk.header.is_none() && chunk.count == 0 && !chunk.more,
            "only kvs before the end"
        );
        assert!(!chunk.kvs.is_empty(), "no empty chunk before the last");
    }
    assert!(last.header.is_some(), "the last chunk has the header");
    pb::RangeResponse {
        header: last.header,
        kvs: chunks.iter().flat_map(|chunk| chunk.kvs.clone()).collect(),
        more: last.more,
        count: last.count,
    }
}

fn all_keys(revision: i64, limit: i64) -> pb::RangeRequest {
    pb::RangeRequest {
        key: b"key/".to_vec(),
        range_end: b"key0".to_vec(),
        revision,
        limit,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_range_streams_in_chunks_that_merge_into_the_plain_range() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(1)).await.expect("cluster");
    let url = format!("http://{}", cluster.nodes[0].endpoint());
    let mut client = KvClient::connect(url).await.expect("connects");
    for batch in 0..KEYS / 100 {
        let puts = (0..100).map(|i| pb::RequestOp {
            request: Some(pb::request_op::Request::RequestPut(pb::PutRequest {
                key: format!("key/{:05}", batch * 100 + i).into_bytes(),
                value: format!("value {}", batch * 100 + i).into_bytes(),
                ..Default::default()
            })),
        });
        let txn = pb::TxnRequest { success: puts.collect(), ..Default::default() };
        client.txn(txn).await.expect("writes");
    }
    client.put(pb::PutRequest { key: b"other".to_vec(), ..Default::default() }).await.expect("put");

    let plain = client.range(all_keys(0, 0)).await.expect("range").into_inner();
    let revision = plain.header.expect("header").revision;
    assert_eq!((plain.kvs.len(), plain.count), (KEYS, KEYS as i64));
    let chunks = stream(&mut client, all_keys(revision, 0)).await.expect("stream");
    assert!(chunks.len() >= 3, "{KEYS} keys come in several chunks, not {}", chunks.len());
    let whole = merged(&chunks);
    assert_eq!(whole.header.expect("header").revision, revision);
    assert_eq!((whole.kvs, whole.more, whole.count), (plain.kvs, plain.more, plain.count));

    // A limit: the first 1500 keys, `more` and the full count on the last chunk.
    let limited = client.range(all_keys(revision, 1500)).await.expect("range").into_inner();
    let whole = merged(&stream(&mut client, all_keys(revision, 1500)).await.expect("stream"));
    assert_eq!((whole.kvs.len(), whole.more, whole.count), (1500, true, KEYS as i64));
    assert_eq!(whole.kvs, limited.kvs);

    // A revision that was compacted away: etcd's error, no chunk.
    client.put(pb::PutRequest { key: b"other".to_vec(), ..Default::default() }).await.expect("put");
    let compact = pb::CompactionRequest { revision: revision + 1, physical: false };
    client.compact(compact).await.expect("compacts");
    let compacted = stream(&mut client, all_keys(revision, 0)).await;
    let message = "etcdserver: mvcc: required revision has been compacted";
    assert_eq!(compacted, Err((Code::OutOfRange, message.to_string())));
    drop(cluster);
}
