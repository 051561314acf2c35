//! KV messages: key-values, headers, Range, Put, DeleteRange, Compact.

use super::{ConvertError, ConvertResult};
use crate::etcdserverpb as pb;
use crate::etcdserverpb::range_request::{SortOrder as PbSortOrder, SortTarget as PbSortTarget};
use crate::mvccpb;
use detcd_core::api::*;
use detcd_core::kv::{KeyValue, ResponseHeader};

pub fn header_to_proto(header: ResponseHeader) -> Option<pb::ResponseHeader> {
    Some(pb::ResponseHeader {
        cluster_id: header.cluster_id,
        member_id: header.member_id,
        revision: header.revision,
        raft_term: header.raft_term,
    })
}

pub fn header_from_proto(header: Option<pb::ResponseHeader>) -> ResponseHeader {
    let header = header.unwrap_or_default();
    ResponseHeader {
        cluster_id: header.cluster_id,
        member_id: header.member_id,
        revision: header.revision,
        raft_term: header.raft_term,
    }
}

pub fn key_value_to_proto(kv: KeyValue) -> mvccpb::KeyValue {
    mvccpb::KeyValue {
        key: kv.key,
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        value: kv.value,
        lease: kv.lease,
    }
}

pub fn key_value_from_proto(kv: mvccpb::KeyValue) -> KeyValue {
    KeyValue {
        key: kv.key,
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        value: kv.value,
        lease: kv.lease,
    }
}

fn sort_order_from_proto(value: i32) -> ConvertResult<SortOrder> {
    match PbSortOrder::try_from(value) {
        Ok(PbSortOrder::None) => Ok(SortOrder::None),
        Ok(PbSortOrder::Ascend) => Ok(SortOrder::Ascend),
        Ok(PbSortOrder::Descend) => Ok(SortOrder::Descend),
        Err(_) => Err(ConvertError::unknown_enum("sort_order", value)),
    }
}

fn sort_order_to_proto(order: SortOrder) -> i32 {
    match order {
        SortOrder::None => PbSortOrder::None as i32,
        SortOrder::Ascend => PbSortOrder::Ascend as i32,
        SortOrder::Descend => PbSortOrder::Descend as i32,
    }
}

fn sort_target_from_proto(value: i32) -> ConvertResult<SortTarget> {
    match PbSortTarget::try_from(value) {
        Ok(PbSortTarget::Key) => Ok(SortTarget::Key),
        Ok(PbSortTarget::Version) => Ok(SortTarget::Version),
        Ok(PbSortTarget::Create) => Ok(SortTarget::Create),
        Ok(PbSortTarget::Mod) => Ok(SortTarget::Mod),
        Ok(PbSortTarget::Value) => Ok(SortTarget::Value),
        Err(_) => Err(ConvertError::unknown_enum("sort_target", value)),
    }
}

fn sort_target_to_proto(target: SortTarget) -> i32 {
    match target {
        SortTarget::Key => PbSortTarget::Key as i32,
        SortTarget::Version => PbSortTarget::Version as i32,
        SortTarget::Create => PbSortTarget::Create as i32,
        SortTarget::Mod => PbSortTarget::Mod as i32,
        SortTarget::Value => PbSortTarget::Value as i32,
    }
}

pub fn range_request_from_proto(r: pb::RangeRequest) -> ConvertResult<RangeRequest> {
    Ok(RangeRequest {
        key: r.key,
        range_end: r.range_end,
        limit: r.limit,
        revision: r.revision,
        sort_order: sort_order_from_proto(r.sort_order)?,
        sort_target: sort_target_from_proto(r.sort_target)?,
        serializable: r.serializable,
        keys_only: r.keys_only,
        count_only: r.count_only,
        min_mod_revision: r.min_mod_revision,
        max_mod_revision: r.max_mod_revision,
        min_create_revision: r.min_create_revision,
        max_create_revision: r.max_create_revision,
    })
}

pub fn range_request_to_proto(r: RangeRequest) -> pb::RangeRequest {
    pb::RangeRequest {
        key: r.key,
        range_end: r.range_end,
        limit: r.limit,
        revision: r.revision,
        sort_order: sort_order_to_proto(r.sort_order),
        sort_target: sort_target_to_proto(r.sort_target),
        serializable: r.serializable,
        keys_only: r.keys_only,
        count_only: r.count_only,
        min_mod_revision: r.min_mod_revision,
        max_mod_revision: r.max_mod_revision,
        min_create_revision: r.min_create_revision,
        max_create_revision: r.max_create_revision,
    }
}

pub fn range_response_to_proto(r: RangeResponse) -> pb::RangeResponse {
    pb::RangeResponse {
        header: header_to_proto(r.header),
        kvs: r.kvs.into_iter().map(key_value_to_proto).collect(),
        more: r.more,
        count: r.count,
    }
}

/// One chunk of a range stream as etcd's `RangeStreamResponse`.
pub fn range_chunk_to_proto(chunk: detcd_core::member::RangeChunk) -> pb::RangeStreamResponse {
    let range_response = pb::RangeResponse {
        header: chunk.header.and_then(header_to_proto),
        kvs: chunk.kvs.into_iter().map(key_value_to_proto).collect(),
        more: chunk.more,
        count: chunk.count,
    };
    pb::RangeStreamResponse { range_response: Some(range_response) }
}

pub fn range_response_from_proto(r: pb::RangeResponse) -> RangeResponse {
    RangeResponse {
        header: header_from_proto(r.header),
        kvs: r.kvs.into_iter().map(key_value_from_proto).collect(),
        more: r.more,
        count: r.count,
    }
}

pub fn put_request_from_proto(r: pb::PutRequest) -> PutRequest {
    PutRequest {
        key: r.key,
        value: r.value,
        lease: r.lease,
        prev_kv: r.prev_kv,
        ignore_value: r.ignore_value,
        ignore_lease: r.ignore_lease,
    }
}

pub fn put_request_to_proto(r: PutRequest) -> pb::PutRequest {
    pb::PutRequest {
        key: r.key,
        value: r.value,
        lease: r.lease,
        prev_kv: r.prev_kv,
        ignore_value: r.ignore_value,
        ignore_lease: r.ignore_lease,
    }
}

pub fn put_response_to_proto(r: PutResponse) -> pb::PutResponse {
    pb::PutResponse {
        header: header_to_proto(r.header),
        prev_kv: r.prev_kv.map(key_value_to_proto),
    }
}

pub fn put_response_from_proto(r: pb::PutResponse) -> PutResponse {
    PutResponse {
        header: header_from_proto(r.header),
        prev_kv: r.prev_kv.map(key_value_from_proto),
    }
}

pub fn delete_range_request_from_proto(r: pb::DeleteRangeRequest) -> DeleteRangeRequest {
    DeleteRangeRequest { key: r.key, range_end: r.range_end, prev_kv: r.prev_kv }
}

pub fn delete_range_request_to_proto(r: DeleteRangeRequest) -> pb::DeleteRangeRequest {
    pb::DeleteRangeRequest { key: r.key, range_end: r.range_end, prev_kv: r.prev_kv }
}

pub fn delete_range_response_to_proto(r: DeleteRangeResponse) -> pb::DeleteRangeResponse {
    pb::DeleteRangeResponse {
        header: header_to_proto(r.header),
        deleted: r.deleted,
        prev_kvs: r.prev_kvs.into_iter().map(key_value_to_proto).collect(),
    }
}

pub fn delete_range_response_from_proto(r: pb::DeleteRangeResponse) -> DeleteRangeResponse {
    DeleteRangeResponse {
        header: header_from_proto(r.header),
        deleted: r.deleted,
        prev_kvs: r.prev_kvs.into_iter().map(key_value_from_proto).collect(),
    }
}

pub fn compaction_request_from_proto(r: pb::CompactionRequest) -> CompactionRequest {
    CompactionRequest { revision: r.revision, physical: r.physical }
}

pub fn compaction_request_to_proto(r: CompactionRequest) -> pb::CompactionRequest {
    pb::CompactionRequest { revision: r.revision, physical: r.physical }
}

pub fn compaction_response_to_proto(r: CompactionResponse) -> pb::CompactionResponse {
    pb::CompactionResponse { header: header_to_proto(r.header) }
}

pub fn compaction_response_from_proto(r: pb::CompactionResponse) -> CompactionResponse {
    CompactionResponse { header: header_from_proto(r.header) }
}
