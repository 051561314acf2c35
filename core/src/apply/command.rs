//! What goes through the raft log, and what applying it answers.
//!
//! Reads normally do not go through the log (a member serves them after a read index), but
//! `Command::Range` exists so a client can ask for a read ordered by the log itself.
//!
//! Checks before anything changes, in etcd's order: first the stateless request checks etcd's
//! gRPC layer makes ([`Command::validate`]: empty keys, op counts, duplicate keys, ...), then the
//! size limit: etcd refuses a request whose encoding exceeds `--max-request-bytes` (1.5 MiB by
//! default) with `RequestTooLarge`. [`Command::encoded_len`] measures a command the way protobuf
//! would, roughly: every byte string with a few bytes of framing, every number as 8 bytes. It is
//! cheap (no encoding) and deterministic, which is what the check needs. Validating first also
//! bounds txn nesting (each level spends op budget) before anything else recurses into it.
//! A node may call `validate` and `check_size` before proposing; `apply` calls them again.

use super::alarm::{AlarmRequest, AlarmResponse};
use super::downgrade::{DowngradeInfoSet, DowngradeInfoSetResponse};
use crate::api::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    LeaseGrantRequest, LeaseGrantResponse, LeaseRevokeRequest, LeaseRevokeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, RequestOp, TxnRequest, TxnResponse,
};
use crate::auth::{AuthAnswer, AuthCommand, AuthInfo};
use crate::error::{Error, Result};
use crate::kv::ResponseHeader;
use crate::mvcc::check::{check_delete, check_put, check_range, check_txn};
use serde::{Deserialize, Serialize};

/// etcd's default `--max-request-bytes`: 1.5 MiB.
pub const MAX_REQUEST_BYTES: usize = 3 * 512 * 1024;

/// Framing bytes counted per field (tag + length).
const FIELD: usize = 4;

/// One entry of the replicated log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Command {
    /// Changes nothing (a new leader's first entry).
    Noop,
    Range(RangeRequest),
    Put(PutRequest),
    DeleteRange(DeleteRangeRequest),
    Txn(TxnRequest),
    Compact(CompactionRequest),
    LeaseGrant(LeaseGrantRequest),
    LeaseRevoke(LeaseRevokeRequest),
    /// Raise, lower or list alarms (`alarm`): replicated, so every member agrees which are on.
    Alarm(AlarmRequest),
    /// A change to (or read of) the auth store.
    Auth(AuthCommand),
    /// A client's command with who sent it: apply checks the caller's permission first
    /// (`crate::auth::guard`) and answers with the inner command's response.
    As(AuthInfo, Box<Command>),
    /// Enable or cancel a downgrade (`downgrade`): replicated, so every member agrees on it.
    DowngradeInfoSet(DowngradeInfoSet),
}

/// What applying a command answers; the variant matches the command's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Response {
    Noop(ResponseHeader),
    Range(RangeResponse),
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
    Compact(CompactionResponse),
    LeaseGrant(LeaseGrantResponse),
    LeaseRevoke(LeaseRevokeResponse),
    Alarm(AlarmResponse),
    Auth(ResponseHeader, AuthAnswer),
    DowngradeInfoSet(DowngradeInfoSetResponse),
}

impl Response {
    pub fn header(&self) -> &ResponseHeader {
        match self {
            Response::Noop(h) => h,
            Response::Range(r) => &r.header,
            Response::Put(r) => &r.header,
            Response::DeleteRange(r) => &r.header,
            Response::Txn(r) => &r.header,
            Response::Compact(r) => &r.header,
            Response::LeaseGrant(r) => &r.header,
            Response::LeaseRevoke(r) => &r.header,
            Response::Alarm(r) => &r.header,
            Response::Auth(h, _) => h,
            Response::DowngradeInfoSet(r) => &r.header,
        }
    }
}

impl Response {
    pub fn header_mut(&mut self) -> &mut ResponseHeader {
        match self {
            Response::Noop(h) => h,
            Response::Range(r) => &mut r.header,
            Response::Put(r) => &mut r.header,
            Response::DeleteRange(r) => &mut r.header,
            Response::Txn(r) => &mut r.header,
            Response::Compact(r) => &mut r.header,
            Response::LeaseGrant(r) => &mut r.header,
            Response::LeaseRevoke(r) => &mut r.header,
            Response::Alarm(r) => &mut r.header,
            Response::Auth(h, _) => h,
            Response::DowngradeInfoSet(r) => &mut r.header,
        }
    }
}

impl Command {
    /// The stateless checks etcd makes before a request reaches raft.
    pub fn validate(&self) -> Result<()> {
        match self {
            Command::Range(r) => check_range(r),
            Command::Put(r) => check_put(r),
            Command::DeleteRange(r) => check_delete(r),
            Command::Txn(t) => check_txn(t),
            Command::Noop | Command::Compact(_) => Ok(()),
            Command::LeaseGrant(_) | Command::LeaseRevoke(_) | Command::Alarm(_) => Ok(()),
            Command::Auth(_) | Command::DowngradeInfoSet(_) => Ok(()),
            Command::As(_, inner) => inner.validate(),
        }
    }

    /// Refuses a command larger than [`MAX_REQUEST_BYTES`]. Call after [`Command::validate`].
    pub fn check_size(&self) -> Result<()> {
        if self.encoded_len() > MAX_REQUEST_BYTES {
            return Err(Error::RequestTooLarge);
        }
        Ok(())
    }

    /// About how many bytes this command's request takes on the wire.
    pub fn encoded_len(&self) -> usize {
        match self {
            Command::Noop => 0,
            Command::Range(r) => range_len(r),
            Command::Put(r) => put_len(r),
            Command::DeleteRange(r) => bytes_len(&r.key) + bytes_len(&r.range_end) + FIELD,
            Command::Txn(t) => txn_len(t),
            Command::Compact(_) | Command::LeaseGrant(_) | Command::LeaseRevoke(_) => 2 * 8,
            Command::Alarm(_) => 3 * 8,
            Command::DowngradeInfoSet(set) => 8 + bytes_len(set.version.as_bytes()),
            Command::Auth(a) => a.encoded_len(),
            Command::As(info, inner) => bytes_len(info.user.as_bytes()) + 8 + inner.encoded_len(),
        }
    }

    /// The command itself, without the caller a client's command carries (`As`).
    pub fn unwrapped(&self) -> &Command {
        match self {
            Command::As(_, inner) => inner.unwrapped(),
            other => other,
        }
    }

    /// Whether this command may change state (everything but `Noop`, `Range` and auth reads).
    pub fn is_write(&self) -> bool {
        match self {
            Command::Noop | Command::Range(_) => false,
            Command::Auth(a) => !matches!(
                a,
                AuthCommand::Status
                    | AuthCommand::UserGet { .. }
                    | AuthCommand::UserList
                    | AuthCommand::RoleGet { .. }
                    | AuthCommand::RoleList
            ),
            Command::As(_, inner) => inner.is_write(),
            _ => true,
        }
    }
}

fn bytes_len(bytes: &[u8]) -> usize {
    bytes.len() + FIELD
}

fn range_len(r: &RangeRequest) -> usize {
    bytes_len(&r.key) + bytes_len(&r.range_end) + 8 * 8
}

fn put_len(r: &PutRequest) -> usize {
    bytes_len(&r.key) + bytes_len(&r.value) + 8 + 3 * FIELD
}

fn txn_len(t: &TxnRequest) -> usize {
    let compares: usize = t
        .compare
        .iter()
        .map(|c| bytes_len(&c.key) + bytes_len(&c.range_end) + target_len(&c.target))
        .sum();
    let ops: usize = t.success.iter().chain(&t.failure).map(op_len).sum();
    compares + ops + FIELD
}

fn target_len(target: &crate::api::CompareTarget) -> usize {
    match target {
        crate::api::CompareTarget::Value(v) => bytes_len(v),
        _ => 8 + FIELD,
    }
}

fn op_len(op: &RequestOp) -> usize {
    FIELD
        + match op {
            RequestOp::Range(r) => range_len(r),
            RequestOp::Put(r) => put_len(r),
            RequestOp::DeleteRange(r) => bytes_len(&r.key) + bytes_len(&r.range_end) + FIELD,
            RequestOp::Txn(t) => txn_len(t),
        }
}
