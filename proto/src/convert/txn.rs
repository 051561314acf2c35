//! Txn messages: compares, request and response ops, nested txns.
//!
//! A compare's operand lives in a protobuf oneof whose variant should match `target`; etcd reads
//! the operand the target names and takes the zero value when that variant is absent, and so do we.

use super::kv::*;
use super::{ConvertError, ConvertResult};
use crate::etcdserverpb as pb;
use crate::etcdserverpb::compare::{
    CompareResult as PbResult, CompareTarget as PbTarget, TargetUnion,
};
use crate::etcdserverpb::request_op::Request as PbRequest;
use crate::etcdserverpb::response_op::Response as PbResponse;
use detcd_core::api::*;

fn compare_result_from_proto(value: i32) -> ConvertResult<CompareResult> {
    match PbResult::try_from(value) {
        Ok(PbResult::Equal) => Ok(CompareResult::Equal),
        Ok(PbResult::NotEqual) => Ok(CompareResult::NotEqual),
        Ok(PbResult::Greater) => Ok(CompareResult::Greater),
        Ok(PbResult::Less) => Ok(CompareResult::Less),
        Err(_) => Err(ConvertError::unknown_enum("compare.result", value)),
    }
}

fn compare_result_to_proto(result: CompareResult) -> i32 {
    match result {
        CompareResult::Equal => PbResult::Equal as i32,
        CompareResult::NotEqual => PbResult::NotEqual as i32,
        CompareResult::Greater => PbResult::Greater as i32,
        CompareResult::Less => PbResult::Less as i32,
    }
}

fn compare_target_from_proto(
    target: i32,
    operand: Option<TargetUnion>,
) -> ConvertResult<CompareTarget> {
    let number = |operand: &Option<TargetUnion>| match operand {
        Some(TargetUnion::Version(n))
        | Some(TargetUnion::CreateRevision(n))
        | Some(TargetUnion::ModRevision(n))
        | Some(TargetUnion::Lease(n)) => *n,
        _ => 0,
    };
    match PbTarget::try_from(target) {
        Ok(PbTarget::Version) => Ok(CompareTarget::Version(number(&operand))),
        Ok(PbTarget::Create) => Ok(CompareTarget::Create(number(&operand))),
        Ok(PbTarget::Mod) => Ok(CompareTarget::Mod(number(&operand))),
        Ok(PbTarget::Lease) => Ok(CompareTarget::Lease(number(&operand))),
        Ok(PbTarget::Value) => match operand {
            Some(TargetUnion::Value(value)) => Ok(CompareTarget::Value(value)),
            _ => Ok(CompareTarget::Value(Vec::new())),
        },
        Err(_) => Err(ConvertError::unknown_enum("compare.target", target)),
    }
}

fn compare_target_to_proto(target: CompareTarget) -> (i32, TargetUnion) {
    match target {
        CompareTarget::Version(n) => (PbTarget::Version as i32, TargetUnion::Version(n)),
        CompareTarget::Create(n) => (PbTarget::Create as i32, TargetUnion::CreateRevision(n)),
        CompareTarget::Mod(n) => (PbTarget::Mod as i32, TargetUnion::ModRevision(n)),
        CompareTarget::Value(v) => (PbTarget::Value as i32, TargetUnion::Value(v)),
        CompareTarget::Lease(n) => (PbTarget::Lease as i32, TargetUnion::Lease(n)),
    }
}

pub fn compare_from_proto(c: pb::Compare) -> ConvertResult<Compare> {
    Ok(Compare {
        key: c.key,
        range_end: c.range_end,
        target: compare_target_from_proto(c.target, c.target_union)?,
        result: compare_result_from_proto(c.result)?,
    })
}

pub fn compare_to_proto(c: Compare) -> pb::Compare {
    let (target, operand) = compare_target_to_proto(c.target);
    pb::Compare {
        result: compare_result_to_proto(c.result),
        target,
        key: c.key,
        target_union: Some(operand),
        range_end: c.range_end,
    }
}

pub fn request_op_from_proto(op: pb::RequestOp) -> ConvertResult<RequestOp> {
    match op.request.ok_or(ConvertError::missing("request_op.request"))? {
        PbRequest::RequestRange(r) => Ok(RequestOp::Range(range_request_from_proto(r)?)),
        PbRequest::RequestPut(r) => Ok(RequestOp::Put(put_request_from_proto(r))),
        PbRequest::RequestDeleteRange(r) => {
            Ok(RequestOp::DeleteRange(delete_range_request_from_proto(r)))
        }
        PbRequest::RequestTxn(r) => Ok(RequestOp::Txn(txn_request_from_proto(r)?)),
    }
}

pub fn request_op_to_proto(op: RequestOp) -> pb::RequestOp {
    let request = match op {
        RequestOp::Range(r) => PbRequest::RequestRange(range_request_to_proto(r)),
        RequestOp::Put(r) => PbRequest::RequestPut(put_request_to_proto(r)),
        RequestOp::DeleteRange(r) => {
            PbRequest::RequestDeleteRange(delete_range_request_to_proto(r))
        }
        RequestOp::Txn(r) => PbRequest::RequestTxn(txn_request_to_proto(r)),
    };
    pb::RequestOp { request: Some(request) }
}

pub fn response_op_to_proto(op: ResponseOp) -> pb::ResponseOp {
    let response = match op {
        ResponseOp::Range(r) => PbResponse::ResponseRange(range_response_to_proto(r)),
        ResponseOp::Put(r) => PbResponse::ResponsePut(put_response_to_proto(r)),
        ResponseOp::DeleteRange(r) => {
            PbResponse::ResponseDeleteRange(delete_range_response_to_proto(r))
        }
        ResponseOp::Txn(r) => PbResponse::ResponseTxn(txn_response_to_proto(r)),
    };
    pb::ResponseOp { response: Some(response) }
}

pub fn response_op_from_proto(op: pb::ResponseOp) -> ConvertResult<ResponseOp> {
    match op.response.ok_or(ConvertError::missing("response_op.response"))? {
        PbResponse::ResponseRange(r) => Ok(ResponseOp::Range(range_response_from_proto(r))),
        PbResponse::ResponsePut(r) => Ok(ResponseOp::Put(put_response_from_proto(r))),
        PbResponse::ResponseDeleteRange(r) => {
            Ok(ResponseOp::DeleteRange(delete_range_response_from_proto(r)))
        }
        PbResponse::ResponseTxn(r) => Ok(ResponseOp::Txn(txn_response_from_proto(r)?)),
    }
}

pub fn txn_request_from_proto(r: pb::TxnRequest) -> ConvertResult<TxnRequest> {
    Ok(TxnRequest {
        compare: r.compare.into_iter().map(compare_from_proto).collect::<Result<_, _>>()?,
        success: r.success.into_iter().map(request_op_from_proto).collect::<Result<_, _>>()?,
        failure: r.failure.into_iter().map(request_op_from_proto).collect::<Result<_, _>>()?,
    })
}

pub fn txn_request_to_proto(r: TxnRequest) -> pb::TxnRequest {
    pb::TxnRequest {
        compare: r.compare.into_iter().map(compare_to_proto).collect(),
        success: r.success.into_iter().map(request_op_to_proto).collect(),
        failure: r.failure.into_iter().map(request_op_to_proto).collect(),
    }
}

pub fn txn_response_to_proto(r: TxnResponse) -> pb::TxnResponse {
    pb::TxnResponse {
        header: header_to_proto(r.header),
        succeeded: r.succeeded,
        responses: r.responses.into_iter().map(response_op_to_proto).collect(),
    }
}

pub fn txn_response_from_proto(r: pb::TxnResponse) -> ConvertResult<TxnResponse> {
    Ok(TxnResponse {
        header: header_from_proto(r.header),
        succeeded: r.succeeded,
        responses: r.responses.into_iter().map(response_op_from_proto).collect::<Result<_, _>>()?,
    })
}
