//! Bad input never panics and changes nothing.
//!
//! Arbitrary commands - any bytes, any numbers (negative revisions, huge TTLs, inverted ranges),
//! deep txns - are applied to a state machine that already holds some history. Every command
//! must return without panicking; every refused one must leave the snapshot bytes, the hash and
//! the revision exactly as they were.

use detcd_core::api::*;
use detcd_core::apply::{Command, StateMachine};
use proptest::prelude::*;

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4),
        prop::sample::select(vec![vec![], vec![0], vec![0xff], b"k1".to_vec(), b"k2".to_vec()]),
    ]
}

fn number() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), -3i64..12, Just(i64::MAX), Just(i64::MIN)]
}

fn range() -> impl Strategy<Value = RangeRequest> {
    (bytes(), bytes(), number(), number(), any::<bool>(), any::<bool>(), number(), number())
        .prop_map(
            |(key, range_end, limit, revision, keys_only, count_only, min_mod, max_create)| {
                RangeRequest {
                    key,
                    range_end,
                    limit,
                    revision,
                    sort_order: SortOrder::Descend,
                    sort_target: SortTarget::Value,
                    serializable: false,
                    keys_only,
                    count_only,
                    min_mod_revision: min_mod,
                    max_mod_revision: 0,
                    min_create_revision: 0,
                    max_create_revision: max_create,
                }
            },
        )
}

fn put() -> impl Strategy<Value = PutRequest> {
    (
        bytes(),
        bytes(),
        prop_oneof![Just(0i64), Just(1), number()],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(key, value, lease, prev_kv, ignore_value, ignore_lease)| PutRequest {
            key,
            value,
            lease,
            prev_kv,
            ignore_value,
            ignore_lease,
        })
}

fn delete() -> impl Strategy<Value = DeleteRangeRequest> {
    (bytes(), bytes(), any::<bool>()).prop_map(|(key, range_end, prev_kv)| DeleteRangeRequest {
        key,
        range_end,
        prev_kv,
    })
}

fn compare() -> impl Strategy<Value = Compare> {
    let target = prop_oneof![
        number().prop_map(CompareTarget::Version),
        number().prop_map(CompareTarget::Create),
        number().prop_map(CompareTarget::Mod),
        bytes().prop_map(CompareTarget::Value),
        number().prop_map(CompareTarget::Lease),
    ];
    let result = prop::sample::select(vec![
        CompareResult::Equal,
        CompareResult::NotEqual,
        CompareResult::Greater,
        CompareResult::Less,
    ]);
    (bytes(), bytes(), target, result).prop_map(|(key, range_end, target, result)| Compare {
        key,
        range_end,
        target,
        result,
    })
}

fn txn() -> impl Strategy<Value = TxnRequest> {
    let flat = prop_oneof![
        range().prop_map(RequestOp::Range),
        put().prop_map(RequestOp::Put),
        delete().prop_map(RequestOp::DeleteRange),
    ];
    let leaf = (prop::collection::vec(compare(), 0..3), prop::collection::vec(flat.clone(), 0..4))
        .prop_map(|(compare, success)| TxnRequest { compare, success, failure: vec![] });
    leaf.prop_recursive(3, 24, 4, move |inner| {
        let op = prop_oneof![flat.clone(), inner.prop_map(RequestOp::Txn)];
        (
            prop::collection::vec(compare(), 0..3),
            prop::collection::vec(op.clone(), 0..4),
            prop::collection::vec(op, 0..4),
        )
            .prop_map(|(compare, success, failure)| TxnRequest {
                compare,
                success,
                failure,
            })
    })
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        put().prop_map(Command::Put),
        delete().prop_map(Command::DeleteRange),
        txn().prop_map(Command::Txn),
        range().prop_map(Command::Range),
        (number(), any::<bool>()).prop_map(|(revision, physical)| Command::Compact(
            CompactionRequest { revision, physical }
        )),
        (number(), prop_oneof![Just(0i64), Just(1), number()])
            .prop_map(|(ttl, id)| Command::LeaseGrant(LeaseGrantRequest { ttl, id })),
        prop_oneof![Just(0i64), Just(1), number()]
            .prop_map(|id| Command::LeaseRevoke(LeaseRevokeRequest { id })),
        Just(Command::Noop),
    ]
}

/// A state machine with some history, a compaction and a lease, so refusals have things to hit.
fn seeded() -> StateMachine {
    let mut machine = StateMachine::new();
    let setup = [
        Command::LeaseGrant(LeaseGrantRequest { ttl: 10, id: 1 }),
        Command::Put(PutRequest {
            key: b"k1".to_vec(),
            value: b"v".to_vec(),
            lease: 1,
            ..Default::default()
        }),
        Command::Put(PutRequest {
            key: b"k2".to_vec(),
            value: b"v".to_vec(),
            ..Default::default()
        }),
        Command::Put(PutRequest {
            key: b"k2".to_vec(),
            value: b"w".to_vec(),
            ..Default::default()
        }),
        Command::Compact(CompactionRequest { revision: 3, physical: false }),
    ];
    for (i, command) in setup.iter().enumerate() {
        let (result, _) = machine.apply(i as u64 + 1, command);
        assert!(result.is_ok(), "{command:?}: {result:?}");
    }
    machine
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn bad_input_never_panics_and_refusals_change_nothing(commands in prop::collection::vec(command(), 1..12)) {
        let mut machine = seeded();
        for (i, command) in commands.iter().enumerate() {
            let before = machine.snapshot();
            let (hash, revision) = (machine.hash_kv(0), machine.revision());
            let index = machine.applied_index() + 1;
            let (result, events) = machine.apply(index, command);
            prop_assert_eq!(machine.applied_index(), index);
            if result.is_err() {
                prop_assert!(events.is_empty());
                prop_assert_eq!(machine.revision(), revision);
                prop_assert_eq!(machine.hash_kv(0), hash.clone());
                // Only the applied index moved.
                let mut expected = StateMachine::restore(&before).expect("restore");
                let _ = expected.apply(index, &Command::Noop);
                prop_assert_eq!(&machine, &expected, "command {} refused but changed state", i);
            }
            // Reads and event queries with the same arbitrary inputs never panic either.
            if let Command::Range(r) = command {
                let _ = machine.range(r);
                let _ = machine.events(&r.key_range(), r.revision, r.limit);
                let _ = machine.hash_kv(r.revision);
            }
        }
        prop_assert_eq!(StateMachine::restore(&machine.snapshot()).expect("restore"), machine);
    }

    #[test]
    fn arbitrary_snapshot_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = StateMachine::restore(&bytes);
    }
}
