//! The outcome classification as a table: every error a member can answer with, every transport
//! failure and every client error, with the class a checker's verdict rests on. A new `Error`
//! variant does not compile until `listed` (and `outcome::classify`) name it, and then fails here
//! until the table gives it a class.

use detcd_core::api::*;
use detcd_core::apply::{AlarmAction, AlarmRequest, AlarmType, DowngradeAction};
use detcd_core::client::outcome::{classify, is_read, resend, Class, Failure, Rpc};
use detcd_core::client::ClientError;
use detcd_core::Error;

/// Every error a member can answer with, and its class.
fn table() -> Vec<(Error, Class)> {
    use Class::*;
    vec![
        (Error::Compacted { compact_revision: 3 }, Refused),
        (Error::FutureRevision, Refused),
        (Error::LeaseNotFound, Refused),
        (Error::LeaseExists, Refused),
        (Error::EmptyKey, Refused),
        (Error::DuplicateKey, Refused),
        (Error::TooManyOps, Refused),
        (Error::RequestTooLarge, Refused),
        (Error::ValueProvided, Refused),
        (Error::LeaseProvided, Refused),
        (Error::KeyNotFound, Refused),
        (Error::LeaseTtlTooLarge, Refused),
        (Error::MemberNotFound, Refused),
        (Error::MemberExists, Refused),
        (Error::MemberBadUrls, Refused),
        (Error::MemberNotLearner, Refused),
        (Error::Other("lease id must be positive".into()), Refused),
        // Said only before anything was proposed: another member may take it.
        (Error::NoLeader, RetryElsewhere),
        (Error::NotPrimary, RetryElsewhere),
        (Error::Stopped, RetryElsewhere),
        // May have been appended, and a later leader may commit it.
        (Error::Timeout, Unknown),
        (Error::LeaderChanged, Unknown),
        (Error::Internal("raft stopped mid-change".into()), Unknown),
        // Refused before anything was written (the quota check, or the raised alarm at apply).
        (Error::NoSpace, Refused),
        // MoveLeader: asked of a member that does not lead (nothing done), a target that is no
        // voter, and a transfer not seen in time (it may still complete).
        (Error::NotLeader, RetryElsewhere),
        (Error::BadLeaderTransferee, Refused),
        (Error::LeaderTransferTimeout, Unknown),
        // The auth store's refusals: nothing was done (a client whose token went stale
        // authenticates again and retries).
        (Error::RootUserNotExist, Refused),
        (Error::RootRoleNotExist, Refused),
        (Error::UserAlreadyExist, Refused),
        (Error::UserEmpty, Refused),
        (Error::UserNotFound, Refused),
        (Error::RoleAlreadyExist, Refused),
        (Error::RoleNotFound, Refused),
        (Error::RoleEmpty, Refused),
        (Error::AuthFailed, Refused),
        (Error::PermissionDenied, Refused),
        (Error::RoleNotGranted, Refused),
        (Error::PermissionNotGranted, Refused),
        (Error::AuthNotEnabled, Refused),
        (Error::InvalidAuthToken, Refused),
        (Error::InvalidAuthMgmt, Refused),
        (Error::AuthOldRevision, Refused),
        // Downgrade's refusals: checked before anything was proposed.
        (Error::WrongDowngradeVersionFormat, Refused),
        (Error::InvalidDowngradeTargetVersion, Refused),
        (Error::DowngradeInProcess, Refused),
        (Error::NoInflightDowngrade, Refused),
        (Error::UnknownMethod, Refused),
    ]
}

/// A position per variant, so a variant missing from the table is noticed (and a new one does
/// not compile without an arm here).
fn listed(error: &Error) -> usize {
    match error {
        Error::Compacted { .. } => 0,
        Error::FutureRevision => 1,
        Error::LeaseNotFound => 2,
        Error::LeaseExists => 3,
        Error::EmptyKey => 4,
        Error::DuplicateKey => 5,
        Error::TooManyOps => 6,
        Error::RequestTooLarge => 7,
        Error::ValueProvided => 8,
        Error::LeaseProvided => 9,
        Error::KeyNotFound => 10,
        Error::LeaseTtlTooLarge => 11,
        Error::MemberNotFound => 12,
        Error::MemberExists => 13,
        Error::MemberBadUrls => 14,
        Error::MemberNotLearner => 15,
        Error::Other(_) => 16,
        Error::NoLeader => 17,
        Error::NotPrimary => 18,
        Error::Stopped => 19,
        Error::Timeout => 20,
        Error::LeaderChanged => 21,
        Error::Internal(_) => 22,
        Error::NoSpace => 23,
        Error::NotLeader => 24,
        Error::BadLeaderTransferee => 25,
        Error::LeaderTransferTimeout => 26,
        Error::RootUserNotExist => 27,
        Error::RootRoleNotExist => 28,
        Error::UserAlreadyExist => 29,
        Error::UserEmpty => 30,
        Error::UserNotFound => 31,
        Error::RoleAlreadyExist => 32,
        Error::RoleNotFound => 33,
        Error::RoleEmpty => 34,
        Error::AuthFailed => 35,
        Error::PermissionDenied => 36,
        Error::RoleNotGranted => 37,
        Error::PermissionNotGranted => 38,
        Error::AuthNotEnabled => 39,
        Error::InvalidAuthToken => 40,
        Error::InvalidAuthMgmt => 41,
        Error::AuthOldRevision => 42,
        Error::WrongDowngradeVersionFormat => 43,
        Error::InvalidDowngradeTargetVersion => 44,
        Error::DowngradeInProcess => 45,
        Error::NoInflightDowngrade => 46,
        Error::UnknownMethod => 47,
    }
}

#[test]
fn every_member_error_has_its_class() {
    let table = table();
    let mut seen: Vec<usize> = table.iter().map(|(error, _)| listed(error)).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..=47).collect::<Vec<_>>(), "each variant exactly once");
    for (error, class) in table {
        assert_eq!(classify(&Failure::Answered(error.clone())), class, "{error:?}");
    }
}

#[test]
fn transport_failures_have_their_class() {
    assert_eq!(
        classify(&Failure::NotDelivered("connection refused".into())),
        Class::RetryElsewhere
    );
    assert_eq!(classify(&Failure::NoAnswer("RPC timeout".into())), Class::Unknown);
}

#[test]
fn a_client_error_keeps_its_class_and_never_calls_an_open_outcome_a_refusal() {
    for (error, class) in table() {
        let client = ClientError::from(error.clone());
        assert_eq!(client.class(), class, "{error:?}");
        match class {
            Class::Unknown => assert_eq!(client, ClientError::Unknown(error.to_string())),
            _ => assert_eq!(client, ClientError::Etcd(error)),
        }
    }
    let lost = ClientError::from(Failure::NoAnswer("RPC timeout".into()));
    assert_eq!(lost, ClientError::Unknown("RPC timeout".into()));
    assert!(lost.is_unknown() && lost.is_transient() && !lost.certainly_not_applied());
    let refused = ClientError::from(Failure::NotDelivered("refused".into()));
    assert_eq!(refused, ClientError::Unavailable("refused".into()));
    assert!(refused.certainly_not_applied() && !refused.is_unknown());
    let compacted = ClientError::from(Error::Compacted { compact_revision: 1 });
    assert!(!compacted.is_transient() && !compacted.is_unknown());
}

#[test]
fn a_client_moves_on_only_when_nothing_applied_or_a_read_got_no_answer() {
    for (error, class) in table() {
        for read in [false, true] {
            let moves = resend(&Failure::Answered(error.clone()), read);
            assert_eq!(moves, class == Class::RetryElsewhere, "{error:?} read={read}");
        }
    }
    let refused = Failure::NotDelivered("connection refused".into());
    assert!(resend(&refused, false) && resend(&refused, true));
    let lost = Failure::NoAnswer("RPC timeout".into());
    assert!(!resend(&lost, false) && resend(&lost, true));
}

#[test]
fn reads_are_the_calls_that_change_nothing() {
    let get = RangeRequest { key: b"k".to_vec(), ..Default::default() };
    let put = PutRequest { key: b"k".to_vec(), ..Default::default() };
    let reading = TxnRequest {
        compare: vec![],
        success: vec![RequestOp::Range(get.clone())],
        failure: vec![RequestOp::Txn(TxnRequest {
            compare: vec![],
            success: vec![RequestOp::Range(get.clone())],
            failure: vec![],
        })],
    };
    let nested_write = TxnRequest {
        compare: vec![],
        success: vec![RequestOp::Range(get)],
        failure: vec![RequestOp::Txn(TxnRequest {
            compare: vec![],
            success: vec![],
            failure: vec![RequestOp::Put(put)],
        })],
    };
    let list = AlarmRequest::default();
    let disarm =
        AlarmRequest { action: AlarmAction::Deactivate, member_id: 1, alarm: AlarmType::NoSpace };
    let table = [
        (Rpc::Range, true),
        (Rpc::Txn(&reading), true),
        (Rpc::Txn(&nested_write), false),
        (Rpc::LeaseTimeToLive, true),
        (Rpc::LeaseLeases, true),
        (Rpc::MemberList, true),
        (Rpc::Status, true),
        (Rpc::HashKv, true),
        (Rpc::Put, false),
        (Rpc::DeleteRange, false),
        (Rpc::Compact, false),
        (Rpc::LeaseGrant, false),
        (Rpc::LeaseRevoke, false),
        (Rpc::LeaseKeepAlive, false),
        (Rpc::Alarm(&list), true),
        (Rpc::Alarm(&disarm), false),
        (Rpc::MoveLeader, false),
        (Rpc::Downgrade(&DowngradeAction::Validate), true),
        (Rpc::Downgrade(&DowngradeAction::Enable), false),
        (Rpc::Downgrade(&DowngradeAction::Cancel), false),
        (Rpc::Downgrade(&DowngradeAction::Unknown(7)), true),
    ];
    for (rpc, read) in table {
        assert_eq!(is_read(rpc), read, "{rpc:?}");
    }
}

#[test]
fn a_reads_open_outcome_is_no_outcome() {
    for (error, class) in table() {
        let client = ClientError::of(Failure::Answered(error.clone()), true);
        assert!(!client.is_unknown(), "{error:?}");
        assert_eq!(client.class() == Class::Refused, class == Class::Refused, "{error:?}");
    }
    let lost = ClientError::of(Failure::NoAnswer("RPC timeout".into()), true);
    assert_eq!(lost, ClientError::Unavailable("RPC timeout".into()));
}
