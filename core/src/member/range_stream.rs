//! etcd 3.7's `KV.RangeStream`: a range delivered in chunks, so no one message has to hold a
//! large result.
//!
//! The range is served exactly as a `Range` is (linearizable through the leader, or
//! serializable here; for an authenticated caller, checked as its range is), at one revision,
//! and its answer is cut into chunks (`chunks`): every chunk carries a part of the key-values in
//! order; only the last carries the header, `more` and `count`, so merging the chunks (etcd's
//! clients `proto.Merge` them) gives the plain `Range` answer at the same revision. An empty
//! result is one chunk. Errors are the range's (a compacted revision: `Compacted`), before any
//! chunk. The simulator's clients call it as the server's do (`RangeStreamRequest`).

use super::auth::CallerRequest;
use super::request::MemberRequest;
use super::Member;
use crate::api::{RangeRequest, RangeResponse};
use crate::auth::AuthInfo;
use crate::client::outcome::Rpc;
use crate::error::Result;
use crate::kv::{KeyValue, ResponseHeader};
use serde::{Deserialize, Serialize};

/// At most this many key-values in one chunk.
pub const CHUNK_KEYS: usize = 1000;
/// And at most about this many bytes of keys and values (one pair larger than this is a chunk
/// of its own).
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// etcd's `RangeStream` request: a `RangeRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RangeStreamRequest(pub RangeRequest);

/// One message of a range stream (etcd's `RangeStreamResponse.range_response`): the header,
/// `more` and `count` are on the last chunk only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RangeChunk {
    pub header: Option<ResponseHeader>,
    pub kvs: Vec<KeyValue>,
    pub more: bool,
    pub count: i64,
}

/// `response` cut into chunks of at most [`CHUNK_KEYS`] pairs and about [`CHUNK_BYTES`] bytes.
pub fn chunks(response: RangeResponse) -> Vec<RangeChunk> {
    let RangeResponse { header, kvs, more, count } = response;
    let mut chunks = Vec::new();
    let mut current: Vec<KeyValue> = Vec::new();
    let mut bytes = 0;
    for kv in kvs {
        let size = kv.key.len() + kv.value.len();
        if !current.is_empty() && (current.len() == CHUNK_KEYS || bytes + size > CHUNK_BYTES) {
            chunks.push(RangeChunk { kvs: std::mem::take(&mut current), ..RangeChunk::default() });
            bytes = 0;
        }
        bytes += size;
        current.push(kv);
    }
    chunks.push(RangeChunk { header: Some(header), kvs: current, more, count });
    chunks
}

impl MemberRequest for RangeStreamRequest {
    type Answer = Vec<RangeChunk>;

    fn rpc(&self) -> Rpc<'_> {
        Rpc::Range
    }

    async fn serve(self, member: &Member) -> Result<Vec<RangeChunk>> {
        self.0.serve(member).await.map(chunks)
    }
}

/// Checked for its caller as the same `Range` is.
impl CallerRequest for RangeStreamRequest {
    async fn serve_as(self, member: &Member, info: Option<AuthInfo>) -> Result<Vec<RangeChunk>> {
        self.0.serve_as(member, info).await.map(chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(i: usize, value_len: usize) -> KeyValue {
        KeyValue {
            key: format!("k{i:05}").into_bytes(),
            value: vec![b'v'; value_len],
            ..Default::default()
        }
    }

    fn merged(chunks: &[RangeChunk]) -> RangeResponse {
        let last = chunks.last().expect("at least one chunk");
        RangeResponse {
            header: last.header.expect("the last chunk has the header"),
            kvs: chunks.iter().flat_map(|c| c.kvs.clone()).collect(),
            more: last.more,
            count: last.count,
        }
    }

    #[test]
    fn chunks_merge_back_into_the_range_and_only_the_last_has_header_and_count() {
        // (keys, value bytes, chunks): 10 values of 100 kB fill a chunk's bytes.
        let cases =
            [(0, 1, 1), (1, 1, 1), (1000, 1, 1), (1001, 1, 2), (2500, 1, 3), (40, 100_000, 4)];
        for (keys, value_len, expected) in cases {
            let header = ResponseHeader { revision: 7, member_id: 3, ..Default::default() };
            let response = RangeResponse {
                header,
                kvs: (0..keys).map(|i| kv(i, value_len)).collect(),
                more: true,
                count: keys as i64 + 5,
            };
            let chunks = chunks(response.clone());
            assert_eq!(merged(&chunks), response, "{keys} keys");
            let (last, rest) = chunks.split_last().expect("a chunk");
            assert!(last.header.is_some());
            assert!(rest.iter().all(|c| c.header.is_none() && c.count == 0 && !c.more));
            assert!(rest.iter().all(|c| !c.kvs.is_empty() && c.kvs.len() <= CHUNK_KEYS));
            let bytes = |c: &RangeChunk| {
                c.kvs.iter().map(|kv| kv.key.len() + kv.value.len()).sum::<usize>()
            };
            assert!(chunks.iter().all(|c| c.kvs.len() == 1 || bytes(c) <= CHUNK_BYTES));
            assert_eq!(chunks.len(), expected, "{keys} keys of {value_len} bytes");
        }
    }
}
