//! Direct tests of the state machine's edges: limits, sizes, snapshots, lease ids, the expiry
//! tracker and the compaction contract of `events`.

use detcd_core::api::*;
use detcd_core::apply::{Command, Response, StateMachine, MAX_REQUEST_BYTES};
use detcd_core::error::Error;
use detcd_core::kv::{EventType, KeyRange};
use detcd_core::lease::{ExpiryTracker, REVOKE_RETRY};
use detcd_core::mvcc::MAX_TXN_OPS;
use std::time::Duration;

fn put(key: &str, value: &str) -> Command {
    Command::Put(PutRequest { key: key.into(), value: value.into(), ..Default::default() })
}

fn put_op(key: String) -> RequestOp {
    RequestOp::Put(PutRequest { key: key.into_bytes(), ..Default::default() })
}

/// Applies commands as consecutive log entries; panics on refusal.
fn apply_all(machine: &mut StateMachine, commands: &[Command]) -> Vec<Response> {
    commands
        .iter()
        .map(|command| {
            let index = machine.applied_index() + 1;
            machine.apply(index, command).0.unwrap_or_else(|e| panic!("{command:?}: {e}"))
        })
        .collect()
}

fn refused(machine: &mut StateMachine, command: &Command) -> Error {
    let before = machine.snapshot();
    let index = machine.applied_index() + 1;
    let (result, events) = machine.apply(index, command);
    assert!(events.is_empty());
    let mut expected = StateMachine::restore(&before).expect("restore");
    let _ = expected.apply(index, &Command::Noop);
    assert_eq!(*machine, expected, "a refused command changed state");
    result.expect_err("refused")
}

#[test]
fn a_fresh_store_is_at_revision_one_and_noop_changes_nothing() {
    let mut machine = StateMachine::new();
    assert_eq!(machine.revision(), 1);
    let responses = apply_all(&mut machine, &[Command::Noop]);
    assert_eq!(responses[0].header().revision, 1);
    assert_eq!(machine.applied_index(), 1);
}

#[test]
fn txns_with_more_than_128_ops_are_refused() {
    let mut machine = StateMachine::new();
    let ops = |n: usize| (0..n).map(|i| put_op(format!("k{i}"))).collect::<Vec<_>>();
    let txn = |success| Command::Txn(TxnRequest { success, ..Default::default() });
    assert_eq!(refused(&mut machine, &txn(ops(MAX_TXN_OPS + 1))), Error::TooManyOps);
    apply_all(&mut machine, &[txn(ops(MAX_TXN_OPS))]);
    assert_eq!(machine.revision(), 2, "128 puts land at one revision");
    // A nested txn gets what its parent left of the budget (etcd: maxTxnOps - opc).
    let mut outer = ops(100);
    let inner = (0..29).map(|i| put_op(format!("n{i}"))).collect();
    outer.push(RequestOp::Txn(TxnRequest { success: inner, ..Default::default() }));
    assert_eq!(refused(&mut machine, &txn(outer)), Error::TooManyOps);
}

#[test]
fn requests_over_one_and_a_half_mib_are_refused() {
    let mut machine = StateMachine::new();
    let value = "x".repeat(MAX_REQUEST_BYTES);
    assert_eq!(refused(&mut machine, &put("k", &value)), Error::RequestTooLarge);
    assert_eq!(machine.revision(), 1);
    apply_all(&mut machine, &[put("k", &value[..MAX_REQUEST_BYTES - 1024])]);
}

#[test]
fn corrupt_snapshots_are_refused() {
    assert!(StateMachine::restore(&[]).is_err());
    assert!(StateMachine::restore(b"not a snapshot at all").is_err());
    let mut bytes = StateMachine::new().snapshot();
    bytes[0] = 9; // the format number
    assert!(StateMachine::restore(&bytes).is_err());
}

#[test]
fn snapshots_round_trip_history_compaction_leases_and_index() {
    let mut machine = StateMachine::with_min_ttl(3);
    apply_all(
        &mut machine,
        &[
            Command::LeaseGrant(LeaseGrantRequest { ttl: 1, id: 0 }),
            put("a", "1"),
            put("a", "2"),
            put("b", "1"),
            Command::Compact(CompactionRequest { revision: 3, physical: true }),
            put("a", "3"),
        ],
    );
    let bytes = machine.snapshot();
    let restored = StateMachine::restore(&bytes).expect("restore");
    assert_eq!(restored, machine);
    assert_eq!(restored.snapshot(), bytes);
    assert_eq!(restored.applied_index(), 6);
    assert_eq!(restored.hash_kv(0), machine.hash_kv(0));
    // The id counter travels too: both choose the same next id.
    let grant = Command::LeaseGrant(LeaseGrantRequest { ttl: 5, id: 0 });
    let (mut a, mut b) = (machine.clone(), restored);
    assert_eq!(apply_all(&mut a, std::slice::from_ref(&grant)), apply_all(&mut b, &[grant]));
}

#[test]
fn server_chosen_lease_ids_are_positive_distinct_and_the_same_on_every_replica() {
    let grants: Vec<Command> =
        (0..200).map(|_| Command::LeaseGrant(LeaseGrantRequest { ttl: 10, id: 0 })).collect();
    let (mut a, mut b) = (StateMachine::new(), StateMachine::new());
    let ids = |responses: Vec<Response>| -> Vec<i64> {
        responses
            .into_iter()
            .map(|r| match r {
                Response::LeaseGrant(g) => g.id,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let (ids_a, ids_b) = (ids(apply_all(&mut a, &grants)), ids(apply_all(&mut b, &grants)));
    assert_eq!(ids_a, ids_b);
    assert!(ids_a.iter().all(|&id| id > 0));
    let mut distinct = ids_a.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), ids_a.len());
}

#[test]
fn lease_ttls_are_raised_to_the_configured_minimum() {
    let mut machine = StateMachine::with_min_ttl(7);
    let responses =
        apply_all(&mut machine, &[Command::LeaseGrant(LeaseGrantRequest { ttl: 1, id: 5 })]);
    let Response::LeaseGrant(grant) = &responses[0] else { panic!() };
    assert_eq!((grant.id, grant.ttl), (5, 7));
    let negative = Command::LeaseGrant(LeaseGrantRequest { ttl: 10, id: -1 });
    assert!(matches!(refused(&mut machine, &negative), Error::Other(_)));
}

#[test]
fn the_expiry_tracker_counts_only_on_the_leader_and_restarts_on_promotion() {
    let mut machine = StateMachine::new();
    apply_all(&mut machine, &[Command::LeaseGrant(LeaseGrantRequest { ttl: 10, id: 1 })]);
    let secs = Duration::from_secs;
    let mut tracker = ExpiryTracker::new();
    assert_eq!(tracker.renew(machine.lessor(), 1, secs(0)), Err(Error::NotPrimary));
    assert!(tracker.expired(secs(100)).is_empty());
    tracker.promote(machine.lessor(), secs(100));
    assert_eq!(tracker.remaining(1, secs(103)), Some(7));
    assert!(tracker.expired(secs(109)).is_empty());
    assert_eq!(tracker.renew(machine.lessor(), 1, secs(109)), Ok(10));
    assert!(tracker.expired(secs(118)).is_empty());
    assert_eq!(tracker.expired(secs(119)), vec![1]);
    // Reported once, then again only after the retry interval if the revoke did not land.
    assert!(tracker.expired(secs(120)).is_empty());
    assert_eq!(tracker.expired(secs(119) + REVOKE_RETRY), vec![1]);
    assert_eq!(tracker.renew(machine.lessor(), 1, secs(125)), Err(Error::LeaseNotFound));
    // The revoke applies; the tracker forgets the lease.
    apply_all(&mut machine, &[Command::LeaseRevoke(LeaseRevokeRequest { id: 1 })]);
    tracker.sync(machine.lessor(), secs(126));
    assert_eq!(tracker.remaining(1, secs(126)), None);
    assert_eq!(tracker.renew(machine.lessor(), 1, secs(126)), Err(Error::LeaseNotFound));
    tracker.demote();
    assert!(!tracker.is_primary());
}

#[test]
fn events_at_the_compaction_revision_keep_their_prev_kv() {
    let mut machine = StateMachine::new();
    apply_all(
        &mut machine,
        &[
            put("a", "1"),                                                                      // 2
            put("a", "2"),                                                                      // 3
            Command::DeleteRange(DeleteRangeRequest { key: "a".into(), ..Default::default() }), // 4
            put("b", "1"),                                                                      // 5
            Command::Compact(CompactionRequest { revision: 4, physical: false }),
        ],
    );
    let all = KeyRange { key: vec![0], range_end: vec![0] };
    let events = machine.events(&all, 4, i64::MAX).expect("events from the compaction point");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, EventType::Delete);
    assert_eq!(events[0].prev_kv.as_ref().map(|kv| kv.value.clone()), Some(b"2".to_vec()));
    assert_eq!(machine.events(&all, 3, 5), Err(Error::Compacted { compact_revision: 4 }));
    assert_eq!(machine.events(&all, 6, 9), Ok(Vec::new()));
    // A later compaction past the tombstone drops the key entirely.
    apply_all(
        &mut machine,
        &[Command::Compact(CompactionRequest { revision: 5, physical: false })],
    );
    assert_eq!(machine.events(&all, 5, 5).map(|e| e.len()), Ok(1));
    assert_eq!(machine.store().len(), 1);
}

#[test]
fn deeply_nested_txns_are_refused_without_recursing_deeply() {
    let mut txn = TxnRequest { success: vec![put_op("k".into())], ..Default::default() };
    for _ in 0..5_000 {
        txn = TxnRequest { success: vec![RequestOp::Txn(txn)], ..Default::default() };
    }
    let mut machine = StateMachine::new();
    assert_eq!(refused(&mut machine, &Command::Txn(txn)), Error::TooManyOps);
}
