//! etcd errors back from gRPC statuses: clients recognise them by message text, as etcd's do.

use detcd_core::Error;

/// The core error whose etcd message is `message`, if it is one of them. A compaction error
/// carries no revision on the wire, so `compact_revision` is 0.
pub fn error_from_message(message: &str) -> Option<Error> {
    let known = [
        Error::Compacted { compact_revision: 0 },
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
        Error::NoLeader,
        Error::LeaderChanged,
        Error::Timeout,
    ];
    if let Some(error) = known.into_iter().find(|e| e.to_string() == message) {
        return Some(error);
    }
    message.strip_prefix("etcdserver: ").map(|rest| Error::Other(rest.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_message_maps_back() {
        for error in [Error::FutureRevision, Error::NoLeader, Error::LeaseNotFound] {
            assert_eq!(error_from_message(&error.to_string()), Some(error));
        }
        assert_eq!(
            error_from_message("etcdserver: mvcc: required revision has been compacted"),
            Some(Error::Compacted { compact_revision: 0 })
        );
        assert_eq!(error_from_message("etcdserver: odd"), Some(Error::Other("odd".into())));
        assert_eq!(error_from_message("transport error"), None);
    }
}
