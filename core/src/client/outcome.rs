//! The one outcome classification: what a failed request means, for every transport.
//!
//! A checker's verdict rests on it. A history records a write as *failed* only when it certainly
//! did not take effect; everything else that went wrong is *unknown*, and the checker must allow
//! both fates. So every client — the simulator's (`detcd_sim::client`, `detcd_sim::etcd_client`),
//! the member calling itself (`member::local_client`) and gRPC (`detcd_proto::client`) — turns
//! its own failure into a transport-neutral [`Failure`] and asks [`classify`], instead of
//! deciding for itself.
//!
//! The classes follow etcd's clientv3 retry policy (`clientv3/retry_interceptor.go`):
//! - a read (`isSafeRetryImmutableRPC`) is retried after any failure with gRPC code
//!   `Unavailable`: no leader, leader changed, timed out, stopped, a lost connection. Losing a
//!   read's answer loses nothing, so its open outcome is no outcome (`ClientError::of` makes it
//!   `Unavailable`): a read that got no answer goes on to the next member ([`resend`]), one a
//!   member answered with `request timed out` goes back to its caller, who retries after a pause.
//! - a write (`isSafeRetryMutableRPC`) is resent only when it certainly was not delivered (no
//!   connection could be made). Anything after delivery leaves its fate open: *unknown*.
//! - every other etcd error is a definite answer: *refused*, resending gets the same answer.
//!
//! detcd's own members say three `Unavailable` things only before anything was proposed: `no
//! leader` (this member neither leads nor reached a leader), `not a primary lessor` (a keep-alive
//! on a member that does not count leases down) and `server stopped` (raft had stopped before
//! the request came; `member::kv` answers `leader changed` when it stops under a pending write).
//! Those are *retry elsewhere*: certainly not applied, and another member may take it.
//!
//! Invariant: only [`Class::Unknown`] may cover a write that could have applied; `Refused` and
//! `RetryElsewhere` are promises that nothing changed. When in doubt, a kind is `Unknown`.

use crate::api::{RequestOp, TxnRequest};
use crate::apply::{AlarmAction, AlarmRequest, DowngradeAction};
use crate::Error;

/// What one failed attempt was, in terms every transport can state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A member answered with this error.
    Answered(Error),
    /// The request never left the client: no connection to the member could be made.
    NotDelivered(String),
    /// The request was sent (or may have been) and no usable answer came back: a timeout, a
    /// broken connection, an answer that could not be decoded.
    NoAnswer(String),
}

/// What a failure means for the request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Certainly not applied, and sending it again gets the same answer.
    Refused,
    /// Certainly not applied; another member (or this one, later) may take it.
    RetryElsewhere,
    /// It may have applied, and may still apply later.
    Unknown,
}

/// The class of `failure`: the one place that decides it.
pub fn classify(failure: &Failure) -> Class {
    match failure {
        Failure::Answered(error) => class_of(error),
        Failure::NotDelivered(_) => Class::RetryElsewhere,
        Failure::NoAnswer(_) => Class::Unknown,
    }
}

/// Whether a client sends the request on to its next member after `failure`: when it certainly
/// did not apply and the member could not take it, or when a read got no answer at all. A member
/// that answered a read with an open outcome (`request timed out`: it could not confirm its
/// leadership in time) is reachable; the read goes back to the caller as `Unavailable` and the
/// caller asks again after a pause (`recipes::retry`), as clientv3's retry interceptor backs off
/// before its next attempt, instead of this call moving through members that may be cut off too.
pub fn resend(failure: &Failure, read: bool) -> bool {
    match failure {
        Failure::Answered(_) => classify(failure) == Class::RetryElsewhere,
        Failure::NotDelivered(_) => true,
        Failure::NoAnswer(_) => read,
    }
}

/// The class of a member's answer (`classify` of `Failure::Answered`). Exhaustive on purpose: a
/// new variant does not compile until it is classified here.
pub(super) fn class_of(error: &Error) -> Class {
    match error {
        Error::NoLeader | Error::NotPrimary | Error::Stopped | Error::NotLeader => {
            Class::RetryElsewhere
        }
        Error::Timeout
        | Error::LeaderChanged
        | Error::LeaderTransferTimeout
        | Error::Internal(_) => Class::Unknown,
        Error::Compacted { .. }
        | Error::FutureRevision
        | Error::LeaseNotFound
        | Error::LeaseExists
        | Error::EmptyKey
        | Error::DuplicateKey
        | Error::TooManyOps
        | Error::RequestTooLarge
        | Error::ValueProvided
        | Error::LeaseProvided
        | Error::KeyNotFound
        | Error::LeaseTtlTooLarge
        | Error::MemberNotFound
        | Error::MemberExists
        | Error::MemberBadUrls
        | Error::MemberNotLearner
        | Error::NoSpace
        | Error::BadLeaderTransferee
        | Error::RootUserNotExist
        | Error::RootRoleNotExist
        | Error::UserAlreadyExist
        | Error::UserEmpty
        | Error::UserNotFound
        | Error::RoleAlreadyExist
        | Error::RoleNotFound
        | Error::RoleEmpty
        | Error::AuthFailed
        | Error::PermissionDenied
        | Error::RoleNotGranted
        | Error::PermissionNotGranted
        | Error::AuthNotEnabled
        | Error::InvalidAuthToken
        | Error::InvalidAuthMgmt
        | Error::AuthOldRevision
        | Error::WrongDowngradeVersionFormat
        | Error::InvalidDowngradeTargetVersion
        | Error::DowngradeInProcess
        | Error::NoInflightDowngrade
        | Error::UnknownMethod
        | Error::Other(_) => Class::Refused,
    }
}

/// One of etcd's unary calls, by name (a txn with its body, which decides whether it writes).
#[derive(Debug, Clone, Copy)]
pub enum Rpc<'a> {
    Range,
    Put,
    DeleteRange,
    Txn(&'a TxnRequest),
    Compact,
    LeaseGrant,
    LeaseRevoke,
    LeaseKeepAlive,
    LeaseTimeToLive,
    LeaseLeases,
    MemberList,
    Status,
    HashKv,
    Alarm(&'a AlarmRequest),
    MoveLeader,
    Downgrade(&'a DowngradeAction),
    /// One of the Auth service's calls (every one goes through the log).
    Auth,
}

/// Whether `rpc` changes nothing, so its unknown outcome may simply be retried.
///
/// A txn whose branches only read is a read. A keep-alive is not: it moves the lease's deadline
/// on the leader, so an unknown keep-alive may have renewed the lease. A lease grant is not
/// either (etcd's clientv3 resends it; detcd's histories would then hold a grant twice).
pub fn is_read(rpc: Rpc<'_>) -> bool {
    match rpc {
        Rpc::Range
        | Rpc::LeaseTimeToLive
        | Rpc::LeaseLeases
        | Rpc::MemberList
        | Rpc::Status
        | Rpc::HashKv => true,
        Rpc::Txn(txn) => txn_only_reads(txn),
        Rpc::Alarm(alarm) => alarm.action == AlarmAction::Get,
        Rpc::MoveLeader => false,
        Rpc::Downgrade(action) => {
            matches!(action, DowngradeAction::Validate | DowngradeAction::Unknown(_))
        }
        Rpc::Put
        | Rpc::DeleteRange
        | Rpc::Compact
        | Rpc::LeaseGrant
        | Rpc::LeaseRevoke
        | Rpc::LeaseKeepAlive
        | Rpc::Auth => false,
    }
}

fn txn_only_reads(txn: &TxnRequest) -> bool {
    let reads = |ops: &[RequestOp]| {
        ops.iter().all(|op| match op {
            RequestOp::Range(_) => true,
            RequestOp::Txn(inner) => txn_only_reads(inner),
            RequestOp::Put(_) | RequestOp::DeleteRange(_) => false,
        })
    };
    reads(&txn.success) && reads(&txn.failure)
}
