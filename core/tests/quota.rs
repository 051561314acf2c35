//! The backend size the quota counts (`mvcc::size`) and the NOSPACE alarm as replicated state:
//! what the size is after puts, deletes, compaction and a snapshot round trip, and which commands
//! a raised NOSPACE refuses on every replica (writes that add data) and lets through (deletes,
//! compaction, lease revokes, the disarm itself).

use detcd_core::api::*;
use detcd_core::apply::{
    AlarmAction, AlarmMember, AlarmRequest, AlarmType, Command, Response, StateMachine,
};
use detcd_core::error::Error;
use detcd_core::mvcc::size::VERSION_BYTES;

fn put(key: &str, value: &str) -> Command {
    Command::Put(PutRequest { key: key.into(), value: value.into(), ..Default::default() })
}

fn alarm(action: AlarmAction, member_id: u64) -> Command {
    Command::Alarm(AlarmRequest { action, member_id, alarm: AlarmType::NoSpace })
}

fn apply(machine: &mut StateMachine, command: &Command) -> Result<Response, Error> {
    let index = machine.applied_index() + 1;
    machine.apply(index, command).0
}

fn bytes(machine: &StateMachine) -> u64 {
    machine.store().backend_bytes()
}

#[test]
fn the_size_counts_every_retained_version_until_compaction() {
    let mut machine = StateMachine::new();
    assert_eq!(bytes(&machine), 0);
    apply(&mut machine, &put("key", "12345")).unwrap();
    assert_eq!(bytes(&machine), VERSION_BYTES + 3 + 5);
    apply(&mut machine, &put("key", "1")).unwrap();
    assert_eq!(bytes(&machine), 2 * VERSION_BYTES + 6 + 6, "an overwrite keeps the old version");
    let delete =
        Command::DeleteRange(DeleteRangeRequest { key: "key".into(), ..Default::default() });
    apply(&mut machine, &delete).unwrap();
    assert_eq!(bytes(&machine), 3 * VERSION_BYTES + 9 + 6, "a tombstone is a record too");
    apply(&mut machine, &put("other", "v")).unwrap();
    let snapshot = StateMachine::restore(&machine.snapshot()).unwrap();
    assert_eq!(bytes(&snapshot), bytes(&machine), "a restored replica counts the same");

    let compact =
        Command::Compact(CompactionRequest { revision: machine.revision(), ..Default::default() });
    apply(&mut machine, &compact).unwrap();
    assert_eq!(bytes(&machine), VERSION_BYTES + 5 + 1, "only the live version of `other` is left");
    let snapshot = StateMachine::restore(&machine.snapshot()).unwrap();
    assert_eq!(bytes(&snapshot), bytes(&machine));
}

#[test]
fn nospace_refuses_what_adds_data_and_lets_an_operator_make_room() {
    let mut machine = StateMachine::new();
    apply(&mut machine, &put("a", "1")).unwrap();
    let grant = Command::LeaseGrant(LeaseGrantRequest { ttl: 60, id: 7 });
    apply(&mut machine, &grant).unwrap();
    let raised = apply(&mut machine, &alarm(AlarmAction::Activate, 9)).unwrap();
    let nospace = AlarmMember { member_id: 9, alarm: AlarmType::NoSpace };
    assert!(matches!(raised, Response::Alarm(r) if r.alarms == [nospace]));

    let revision = machine.revision();
    assert_eq!(apply(&mut machine, &put("b", "2")), Err(Error::NoSpace));
    let txn_put = Command::Txn(TxnRequest {
        failure: vec![RequestOp::Put(PutRequest { key: "c".into(), ..Default::default() })],
        ..Default::default()
    });
    assert_eq!(apply(&mut machine, &txn_put), Err(Error::NoSpace), "a put on either branch");
    let grant_more = Command::LeaseGrant(LeaseGrantRequest { ttl: 60, id: 8 });
    assert_eq!(apply(&mut machine, &grant_more), Err(Error::NoSpace));
    assert_eq!(machine.revision(), revision, "nothing was written");

    let txn_read = Command::Txn(TxnRequest {
        success: vec![RequestOp::Range(RangeRequest { key: "a".into(), ..Default::default() })],
        ..Default::default()
    });
    apply(&mut machine, &txn_read).expect("a txn that only reads");
    let delete = Command::DeleteRange(DeleteRangeRequest { key: "a".into(), ..Default::default() });
    apply(&mut machine, &delete).expect("a delete");
    apply(&mut machine, &Command::LeaseRevoke(LeaseRevokeRequest { id: 7 })).expect("a revoke");
    let compact =
        Command::Compact(CompactionRequest { revision: machine.revision(), ..Default::default() });
    apply(&mut machine, &compact).expect("compaction");

    let list = Command::Alarm(AlarmRequest::default());
    let listed = apply(&mut machine, &list).unwrap();
    assert!(matches!(listed, Response::Alarm(r) if r.alarms == [nospace]));
    let snapshot = StateMachine::restore(&machine.snapshot()).unwrap();
    assert!(snapshot.alarms().is_raised(AlarmType::NoSpace), "the alarm is in snapshots");

    let lowered = apply(&mut machine, &alarm(AlarmAction::Deactivate, 9)).unwrap();
    assert!(matches!(lowered, Response::Alarm(r) if r.alarms == [nospace]));
    apply(&mut machine, &put("b", "2")).expect("writes again once disarmed");
    apply(&mut machine, &grant_more).expect("grants again once disarmed");
}
