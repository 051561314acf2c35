//! detcd errors as the gRPC statuses etcd answers with.
//!
//! etcd's clients recognise an error by its gRPC code *and* its message text (etcdctl prints the
//! text), so the code for each error is the one etcd's `rpctypes` gives it and the message is the
//! core error's `Display`, which is etcd's wording.

use detcd_core::client::ClientError;
use detcd_core::recipes::RecipeError;
use detcd_core::Error;
use detcd_proto::convert::ConvertError;
use tonic::{Code, Status};

pub fn status_of(error: Error) -> Status {
    let code = match &error {
        Error::Compacted { .. } | Error::FutureRevision | Error::LeaseTtlTooLarge => {
            Code::OutOfRange
        }
        Error::LeaseNotFound | Error::MemberNotFound => Code::NotFound,
        Error::LeaseExists | Error::NotPrimary | Error::MemberExists | Error::MemberNotLearner => {
            Code::FailedPrecondition
        }
        Error::EmptyKey
        | Error::DuplicateKey
        | Error::TooManyOps
        | Error::RequestTooLarge
        | Error::ValueProvided
        | Error::LeaseProvided
        | Error::KeyNotFound
        | Error::MemberBadUrls => Code::InvalidArgument,
        Error::NoLeader | Error::LeaderChanged | Error::Timeout | Error::Stopped => {
            Code::Unavailable
        }
        Error::NoSpace => Code::ResourceExhausted,
        Error::NotLeader | Error::BadLeaderTransferee => Code::FailedPrecondition,
        Error::LeaderTransferTimeout => Code::Unavailable,
        // etcd's rpctypes codes for the auth store's errors.
        Error::RootUserNotExist
        | Error::RootRoleNotExist
        | Error::UserAlreadyExist
        | Error::UserNotFound
        | Error::RoleAlreadyExist
        | Error::RoleNotFound
        | Error::RoleNotGranted
        | Error::PermissionNotGranted
        | Error::AuthNotEnabled => Code::FailedPrecondition,
        Error::UserEmpty
        | Error::RoleEmpty
        | Error::AuthFailed
        | Error::InvalidAuthMgmt
        | Error::AuthOldRevision => Code::InvalidArgument,
        Error::WrongDowngradeVersionFormat | Error::InvalidDowngradeTargetVersion => {
            Code::InvalidArgument
        }
        Error::DowngradeInProcess | Error::NoInflightDowngrade => Code::FailedPrecondition,
        // etcd has no code for it (`togRPCError`'s default).
        Error::UnknownMethod => Code::Unknown,
        Error::PermissionDenied => Code::PermissionDenied,
        Error::InvalidAuthToken => Code::Unauthenticated,
        // A refusal with no code of its own: the cluster does not accept it as it stands.
        Error::Other(_) => Code::FailedPrecondition,
        // etcd's code for an error it cannot place (`togRPCError`): the client cannot tell
        // whether anything happened.
        Error::Internal(_) => Code::Unknown,
    };
    Status::new(code, error.to_string())
}

pub fn invalid(error: ConvertError) -> Status {
    Status::invalid_argument(error.to_string())
}

/// A server-side recipe's failure (Lock, Election) as the status etcd 3.4 answers with: etcd's
/// text, under gRPC's `Unknown`. etcd's Lock and Election servers return the errors of their
/// in-process client as they get them, and that client has turned every cluster error into an
/// `rpctypes.EtcdError` (clientv3/client.go `toErr`), which carries no gRPC status, so gRPC
/// answers `Unknown` (HTTP 500 on the gateway); etcd's clients map the text back to the error.
/// A member that could not be reached stays `Unavailable`, so a client tries another.
pub fn recipe_status(error: RecipeError) -> Status {
    let unknown = |error: Error| Status::unknown(status_of(error).message());
    match error {
        RecipeError::Client(ClientError::Etcd(error)) => unknown(error),
        RecipeError::Client(ClientError::Unknown(_)) => unknown(Error::Timeout),
        RecipeError::Client(ClientError::Unavailable(why)) => Status::unavailable(why),
        RecipeError::SessionExpired { .. } => unknown(Error::LeaseNotFound),
        RecipeError::InvalidArgument { why, .. } => Status::invalid_argument(why),
        other => Status::unknown(other.to_string()),
    }
}
