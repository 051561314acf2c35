//! gRPC statuses as the outcomes a caller must tell apart: the `Client` trait's `ClientError`
//! itself, decided by the one classification (`detcd_core::client::outcome`).
//!
//! A status becomes a transport-neutral `Failure`: a status carrying one of etcd's errors is the
//! member's answer; a status for a connection that was never made (tonic's `ConnectError` in its
//! source chain) was not delivered; anything else — a deadline, a reset stream, an etcd message
//! detcd does not know with code `Unavailable` — leaves the outcome open.

use crate::convert::{error_from_status, ConvertError};
use detcd_core::client::{ClientError, ClientResult, Failure};
use tonic::Status;

/// `GrpcClient`'s errors are the `Client` trait's, so both say the same thing about a request.
pub type GrpcError = ClientError;
pub type GrpcResult<T> = ClientResult<T>;

/// What a status says about the request's fate.
pub(super) fn failure_of(status: &Status) -> Failure {
    if let Some(error) = error_from_status(status.code(), status.message()) {
        return Failure::Answered(error);
    }
    let text = format!("{:?}: {}", status.code(), status.message());
    // A connection that was never made is the only transport failure known not to have
    // delivered the request.
    if never_connected(status) {
        Failure::NotDelivered(text)
    } else {
        Failure::NoAnswer(text)
    }
}

fn never_connected(status: &Status) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::ConnectError>() {
            return true;
        }
        source = error.source();
    }
    false
}

pub(super) fn convert_failed(error: ConvertError) -> GrpcError {
    Failure::NoAnswer(format!("undecodable response: {error}")).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use detcd_core::client::outcome::{classify, Class};
    use detcd_core::Error;

    fn connect_refused() -> Status {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        Status::from_error(Box::new(tonic::ConnectError(Box::new(refused))))
    }

    /// Every kind of status a call can end in, and its class.
    #[test]
    fn every_status_kind_has_its_class() {
        let table = [
            (Status::out_of_range(Error::FutureRevision.to_string()), Class::Refused),
            (Status::not_found(Error::MemberNotFound.to_string()), Class::Refused),
            (Status::failed_precondition("etcdserver: not capable"), Class::Refused),
            (Status::unavailable(Error::NoLeader.to_string()), Class::RetryElsewhere),
            (Status::unavailable(Error::Stopped.to_string()), Class::RetryElsewhere),
            (Status::unavailable(Error::Timeout.to_string()), Class::Unknown),
            (Status::unavailable(Error::LeaderChanged.to_string()), Class::Unknown),
            (
                Status::unavailable(
                    "etcdserver: request timed out, possibly due to previous leader failure",
                ),
                Class::Unknown,
            ),
            (Status::unknown("etcdserver: raft stopped"), Class::Unknown),
            (Status::deadline_exceeded("timeout expired"), Class::Unknown),
            (Status::unavailable("error reading a body from connection"), Class::Unknown),
            (Status::cancelled("Timeout expired"), Class::Unknown),
            (connect_refused(), Class::RetryElsewhere),
        ];
        for (status, class) in table {
            assert_eq!(classify(&failure_of(&status)), class, "{status:?}");
        }
    }

    #[test]
    fn an_open_outcome_is_unknown_and_a_refusal_is_typed() {
        let of = |status: Status, read| ClientError::of(failure_of(&status), read);
        assert!(of(Status::unavailable(Error::Timeout.to_string()), false).is_unknown());
        let timed_out_read = of(Status::unavailable(Error::Timeout.to_string()), true);
        assert_eq!(timed_out_read, ClientError::Unavailable(Error::Timeout.to_string()));
        assert_eq!(
            of(Status::not_found(Error::LeaseNotFound.to_string()), false),
            ClientError::Etcd(Error::LeaseNotFound)
        );
        assert!(matches!(of(connect_refused(), false), ClientError::Unavailable(_)));
    }
}
