//! etcd errors back from gRPC statuses. Clients recognise etcd's errors by their message text, as
//! etcd's own clients do (`rpctypes.Error`): the wire carries nothing else. The status code
//! decides what an etcd message detcd has no variant for means.

use detcd_core::Error;
use tonic::Code;

/// Every error whose etcd message is fixed, so its text names it on the wire.
const KNOWN: [Error; 45] = [
    Error::FutureRevision,
    Error::LeaseNotFound,
    Error::LeaseExists,
    Error::EmptyKey,
    Error::DuplicateKey,
    Error::TooManyOps,
    Error::RequestTooLarge,
    Error::ValueProvided,
    Error::LeaseProvided,
    Error::KeyNotFound,
    Error::LeaseTtlTooLarge,
    Error::NotPrimary,
    Error::Stopped,
    Error::NoLeader,
    Error::LeaderChanged,
    Error::Timeout,
    Error::MemberNotFound,
    Error::MemberExists,
    Error::MemberBadUrls,
    Error::MemberNotLearner,
    Error::NoSpace,
    Error::NotLeader,
    Error::BadLeaderTransferee,
    Error::LeaderTransferTimeout,
    Error::RootUserNotExist,
    Error::RootRoleNotExist,
    Error::UserAlreadyExist,
    Error::UserEmpty,
    Error::UserNotFound,
    Error::RoleAlreadyExist,
    Error::RoleNotFound,
    Error::RoleEmpty,
    Error::AuthFailed,
    Error::PermissionDenied,
    Error::RoleNotGranted,
    Error::PermissionNotGranted,
    Error::AuthNotEnabled,
    Error::InvalidAuthToken,
    Error::InvalidAuthMgmt,
    Error::AuthOldRevision,
    Error::WrongDowngradeVersionFormat,
    Error::InvalidDowngradeTargetVersion,
    Error::DowngradeInProcess,
    Error::NoInflightDowngrade,
    Error::UnknownMethod,
];

/// The core error a status with this code and message stands for, or `None` when it is no etcd
/// error at all (a transport failure). A compaction error carries no revision on the wire, so
/// `compact_revision` is 0. An etcd message detcd has no variant for is a refusal (`Other`)
/// when its code refuses, and `Internal` (outcome open) when the code says nothing (`Unknown`,
/// `Internal`); with any other code it is no answer (`None`): `Unavailable`, deadlines and
/// cancellations leave the request's fate open.
pub fn error_from_status(code: Code, message: &str) -> Option<Error> {
    let compacted = Error::Compacted { compact_revision: 0 };
    if message == compacted.to_string() {
        return Some(compacted);
    }
    if let Some(error) = KNOWN.into_iter().find(|e| e.to_string() == message) {
        return Some(error);
    }
    let rest = message.strip_prefix("etcdserver: ")?;
    match code {
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Unauthenticated
        | Code::ResourceExhausted => Some(Error::Other(rest.to_string())),
        Code::Unknown | Code::Internal | Code::DataLoss => Some(Error::Internal(rest.to_string())),
        Code::Ok | Code::Cancelled | Code::DeadlineExceeded | Code::Aborted | Code::Unavailable => {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A variant per position, so a new fixed-message variant is noticed here.
    fn fixed_message(error: &Error) -> bool {
        match error {
            Error::Compacted { .. } | Error::Other(_) | Error::Internal(_) => false,
            Error::FutureRevision
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
            | Error::NotPrimary
            | Error::Stopped
            | Error::NoLeader
            | Error::LeaderChanged
            | Error::Timeout
            | Error::MemberNotFound
            | Error::MemberExists
            | Error::MemberBadUrls
            | Error::MemberNotLearner
            | Error::NoSpace
            | Error::NotLeader
            | Error::BadLeaderTransferee
            | Error::LeaderTransferTimeout
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
            | Error::UnknownMethod => true,
        }
    }

    #[test]
    fn every_known_message_maps_back() {
        for error in KNOWN {
            assert!(fixed_message(&error));
            assert_eq!(error_from_status(Code::Unknown, &error.to_string()), Some(error));
        }
        assert_eq!(
            error_from_status(
                Code::OutOfRange,
                "etcdserver: mvcc: required revision has been compacted"
            ),
            Some(Error::Compacted { compact_revision: 0 })
        );
        assert_eq!(
            error_from_status(Code::FailedPrecondition, "etcdserver: odd"),
            Some(Error::Other("odd".into()))
        );
        assert_eq!(
            error_from_status(Code::Unknown, "etcdserver: odd"),
            Some(Error::Internal("odd".into()))
        );
        assert_eq!(error_from_status(Code::Unavailable, "etcdserver: odd"), None);
        assert_eq!(error_from_status(Code::Unavailable, "transport error"), None);
    }
}
