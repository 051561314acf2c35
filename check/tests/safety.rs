//! Every safety checker on passing and violating histories. Inputs are written as JSON, the way
//! the simulator will hand them over, so the formats are exercised too.

use std::collections::BTreeMap;

use detcd_check::linearizability::Options;
use detcd_check::verdict::SafetyVerdict;
use detcd_check::{bank, barrier, election, jsonl, lease, lock, queue, rwlock, watch};
use serde_json::json;

fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("valid checker input")
}

fn assert_ok(verdict: &SafetyVerdict) {
    assert!(verdict.is_ok(), "expected ok, got {verdict:#?}");
}

fn assert_broke(verdict: &SafetyVerdict, rule: &str) {
    assert!(verdict.broke(rule), "expected a {rule} finding, got {verdict:#?}");
}

// ---- bank ----

fn accounts() -> BTreeMap<String, i64> {
    [("a".to_string(), 100), ("b".to_string(), 100)].into()
}

#[test]
fn bank_ok_with_unknown_transfer() {
    let h = jsonl::parse(
        "bank",
        r#"
{"client":0,"call":0,"return":1,"f":"transfer","input":{"from":"a","to":"b","amount":10},"output":true}
{"client":1,"call":2,"return":null,"f":"transfer","input":{"from":"b","to":"a","amount":30}}
{"client":2,"call":3,"return":4,"f":"read","output":{"a":90,"b":110}}
{"client":2,"call":5,"return":6,"f":"read","output":{"a":120,"b":80}}
{"client":0,"call":7,"return":8,"f":"transfer","input":{"from":"a","to":"b","amount":500},"output":false}
{"client":2,"call":9,"return":10,"f":"read","output":{"a":120,"b":80}}
"#,
    )
    .unwrap();
    assert_ok(&bank::check(&accounts(), &h, Options::default()).unwrap());
}

#[test]
fn bank_torn_transfer_breaks_sum_and_linearizability() {
    // Only the debit of the transfer was applied.
    let h = jsonl::parse(
        "bank",
        r#"
{"client":0,"call":0,"return":1,"f":"transfer","input":{"from":"a","to":"b","amount":10},"output":true}
{"client":2,"call":3,"return":4,"f":"read","output":{"a":90,"b":100}}
"#,
    )
    .unwrap();
    let verdict = bank::check(&accounts(), &h, Options::default()).unwrap();
    assert_broke(&verdict, "sum");
    assert_broke(&verdict, "linearizable");
    let message = &verdict.findings()[0].message;
    assert!(
        message
            .contains("client 2 read balances summing to 190 at t=4 but the total is always 200"),
        "{message}"
    );
}

#[test]
fn bank_stale_read_with_right_sum_is_caught() {
    let h = jsonl::parse(
        "bank",
        r#"
{"client":0,"call":0,"return":1,"f":"transfer","input":{"from":"a","to":"b","amount":10},"output":true}
{"client":2,"call":3,"return":4,"f":"read","output":{"a":100,"b":100}}
"#,
    )
    .unwrap();
    let verdict = bank::check(&accounts(), &h, Options::default()).unwrap();
    assert!(!verdict.broke("sum"));
    assert_broke(&verdict, "linearizable");
}

/// Twelve concurrent transfers from a to b (1..=12, 78 in all), then a read that saw only 77 of
/// them: no order explains it, but proving that means trying every subset of the transfers.
fn bank_history_that_needs_a_long_search() -> detcd_check::history::History {
    let mut lines: Vec<String> = (1..=12)
        .map(|amount| {
            format!(
                r#"{{"client":{amount},"call":0,"return":10,"f":"transfer","input":{{"from":"a","to":"b","amount":{amount}}},"output":true}}"#
            )
        })
        .collect();
    lines.push(r#"{"client":0,"call":11,"return":12,"f":"read","output":{"a":23,"b":177}}"#.into());
    jsonl::parse("bank", &lines.join("\n")).unwrap()
}

#[test]
fn bank_check_out_of_search_steps_is_unknown_not_a_violation_and_the_same_every_time() {
    let history = bank_history_that_needs_a_long_search();
    let mut budget = Options::default();
    budget.budget.max_steps = Some(2_048);
    let first = bank::check(&accounts(), &history, budget).unwrap();
    let rules: Vec<&str> = first.findings().iter().map(|f| f.rule).collect();
    assert_eq!(rules, [bank::UNKNOWN]);
    for _ in 0..3 {
        assert_eq!(bank::check(&accounts(), &history, budget).unwrap(), first);
    }
    // With room to finish, the same history is a violation.
    let unlimited = bank::check(&accounts(), &history, Options::default()).unwrap();
    assert_broke(&unlimited, "linearizable");
    assert!(!unlimited.broke(bank::UNKNOWN));
}

/// Client 1's guarded transfer of 30 from a to b times out; client 0's transfer of 10 from b to
/// a, called after it, is applied; a read sees only client 0's transfer, a later one sees both.
fn transfer_after_its_guard_was_broken(guarded: bool) -> detcd_check::history::History {
    let history = format!(
        r#"
{{"client":1,"call":0,"return":null,"f":"transfer","input":{{"from":"a","to":"b","amount":30,"guarded":{guarded}}}}}
{{"client":0,"call":2,"return":3,"f":"transfer","input":{{"from":"b","to":"a","amount":10}},"output":true}}
{{"client":2,"call":4,"return":5,"f":"read","output":{{"a":110,"b":90}}}}
{{"client":2,"call":6,"return":7,"f":"read","output":{{"a":80,"b":120}}}}
"#
    );
    jsonl::parse("bank", &history).unwrap()
}

#[test]
fn bank_guarded_transfer_cannot_take_effect_after_a_later_write_to_its_accounts() {
    let unguarded = transfer_after_its_guard_was_broken(false);
    assert_ok(&bank::check(&accounts(), &unguarded, Options::default()).unwrap());
    let guarded = transfer_after_its_guard_was_broken(true);
    assert_broke(&bank::check(&accounts(), &guarded, Options::default()).unwrap(), "linearizable");
}

/// Forty transfers that time out and never take effect, each followed by an applied transfer
/// on the same accounts and a read that sees it.
fn long_run_with_timeouts(guarded: bool) -> detcd_check::history::History {
    let mut lines = Vec::new();
    let mut a = 100;
    for i in 0..40 {
        let t = 10 * i;
        let amount = i + 1;
        lines.push(format!(
            r#"{{"client":{},"call":{t},"return":null,"f":"transfer","input":{{"from":"a","to":"b","amount":{amount},"guarded":{guarded}}}}}"#,
            100 + i
        ));
        a += 1;
        lines.push(format!(
            r#"{{"client":0,"call":{},"return":{},"f":"transfer","input":{{"from":"b","to":"a","amount":1}},"output":true}}"#,
            t + 1,
            t + 2
        ));
        lines.push(format!(
            r#"{{"client":1,"call":{},"return":{},"f":"read","output":{{"a":{a},"b":{}}}}}"#,
            t + 3,
            t + 4,
            200 - a
        ));
    }
    jsonl::parse("bank", &lines.join("\n")).unwrap()
}

#[test]
fn bank_guarded_transfer_may_follow_a_write_made_before_its_reads() {
    // An STM transaction reads after its call: here it read both accounts by t=2.5, after client
    // 0's transfer was called, so that transfer may have been what it read.
    let mut history = transfer_after_its_guard_was_broken(true);
    history.ops[0].output = json!({"read_by": 2.5});
    assert_ok(&bank::check(&accounts(), &history, Options::default()).unwrap());
    history.ops[0].output = json!({"read_by": 1.5});
    assert_broke(&bank::check(&accounts(), &history, Options::default()).unwrap(), "linearizable");
}

/// A transfer called at 0 whose outcome is unknown, and a read at 3-4 that sees it applied.
fn transfer_seen_at_4(known: serde_json::Value) -> detcd_check::history::History {
    let mut history = jsonl::parse(
        "bank",
        r#"
{"client":1,"call":0,"return":null,"f":"transfer","input":{"from":"a","to":"b","amount":30}}
{"client":2,"call":3,"return":4,"f":"read","output":{"a":70,"b":130}}
"#,
    )
    .unwrap();
    history.ops[0].output = known;
    history
}

#[test]
fn bank_transfer_of_unknown_outcome_takes_effect_only_after_its_last_reads() {
    // Its last attempt read the balances by t=2: it may have committed before the read.
    let early = transfer_seen_at_4(json!({"applies_after": 2.0}));
    assert_ok(&bank::check(&accounts(), &early, Options::default()).unwrap());
    // By t=5: it committed, if at all, after the read returned, which cannot have seen it.
    let late = transfer_seen_at_4(json!({"applies_after": 5.0}));
    assert_broke(&bank::check(&accounts(), &late, Options::default()).unwrap(), "linearizable");
    let bad = transfer_seen_at_4(json!({"applies_after": "soon"}));
    let error = bank::check(&accounts(), &bad, Options::default()).unwrap_err();
    assert!(error.contains("applies_after must be a time"), "{error}");
}

#[test]
fn bank_guarded_timeouts_leave_the_search_at_once() {
    let mut budget = Options::default();
    budget.budget.max_steps = Some(100_000);
    assert_ok(&bank::check(&accounts(), &long_run_with_timeouts(true), budget).unwrap());
    // Unguarded, each of them might still take effect at any later point, but leaving one out
    // never hurts: the search refutes a set once for all its supersets in unknown operations
    // (subsumption), so the same budget decides it without trying every subset.
    assert_ok(&bank::check(&accounts(), &long_run_with_timeouts(false), budget).unwrap());
}

#[test]
fn bank_guarded_must_be_a_boolean() {
    let h = jsonl::parse(
        "bank",
        r#"{"client":1,"call":0,"return":null,"f":"transfer","input":{"from":"a","to":"b","amount":3,"guarded":"yes"}}"#,
    )
    .unwrap();
    let error = bank::check(&accounts(), &h, Options::default()).unwrap_err();
    assert!(error.contains("guarded must be true or false"), "{error}");
}

// ---- lock ----

/// Client 1 (token 5) reads 10 and pauses; its lease expires at t=3; client 2 (token 7)
/// acquires at t=4, reads 10, writes 11; client 1 wakes at t=6 and writes 11 with token 5.
fn paused_holder(fenced: bool) -> lock::LockHistory {
    let attempts: Vec<lock::ProtectedWrite> = from(json!([
        {"client": 2, "token": 7, "read": 10, "wrote": 11, "time": 5.0},
        {"client": 1, "token": 5, "read": 10, "wrote": 11, "time": 6.0}
    ]));
    let writes = if fenced { lock::fence(&attempts) } else { attempts };
    lock::LockHistory {
        holds: from(json!([
            {"client": 1, "token": 5, "acquired": 1.0, "released": null, "lease_expired": 3.0},
            {"client": 2, "token": 7, "acquired": 4.0, "released": 8.0}
        ])),
        writes,
        initial: 10,
        fenced,
        keys: Vec::new(),
    }
}

#[test]
fn lock_expired_lease_is_no_holder_and_fencing_saves_the_update() {
    assert_ok(&lock::check(&paused_holder(true)));
}

#[test]
fn lock_without_fencing_loses_an_update() {
    let verdict = lock::check(&paused_holder(false));
    assert_broke(&verdict, "lost_update");
    assert!(!verdict.broke("mutual_exclusion"), "the expired holder no longer owned the lock");
}

#[test]
fn lock_fenced_resource_accepting_a_stale_token_is_caught() {
    let mut history = paused_holder(true);
    history.writes = paused_holder(false).writes;
    assert_broke(&lock::check(&history), "fencing");
}

#[test]
fn lock_two_live_holders_and_token_order() {
    let history = lock::LockHistory {
        holds: from(json!([
            {"client": 1, "token": 5, "acquired": 1.0, "released": 5.0},
            {"client": 2, "token": 4, "acquired": 3.0, "released": 6.0}
        ])),
        ..Default::default()
    };
    let verdict = lock::check(&history);
    assert_broke(&verdict, "mutual_exclusion");
    assert_broke(&verdict, "token_order");
    let sequential = lock::LockHistory {
        holds: from(json!([
            {"client": 1, "token": 5, "acquired": 1.0, "released": 2.0},
            {"client": 2, "token": 6, "acquired": 3.0, "released": 4.0}
        ])),
        writes: from(json!([
            {"client": 1, "token": 5, "read": 0, "wrote": 1, "time": 1.5},
            {"client": 2, "token": 6, "read": 1, "wrote": 2, "time": 3.5}
        ])),
        ..Default::default()
    };
    assert_ok(&lock::check(&sequential));
}

// ---- rwlock ----

#[test]
fn rwlock_seed_scenario_is_fifo() {
    // R1 holds, W2 waits, R3 waits behind W2, W4 waits behind R3.
    let holds: Vec<rwlock::RwHold> = from(json!([
        {"client": 1, "kind": "read", "revision": 1, "acquired": 0.0, "released": 2.0},
        {"client": 2, "kind": "write", "revision": 2, "acquired": 2.0, "released": 4.0},
        {"client": 3, "kind": "read", "revision": 3, "acquired": 4.0, "released": 6.0},
        {"client": 5, "kind": "read", "revision": 4, "acquired": 4.5, "released": 5.0},
        {"client": 4, "kind": "write", "revision": 5, "acquired": 6.0, "released": 7.0}
    ]));
    assert_ok(&rwlock::check(&holds));
}

#[test]
fn rwlock_reader_jumping_a_waiting_writer_is_caught() {
    let holds: Vec<rwlock::RwHold> = from(json!([
        {"client": 1, "kind": "read", "revision": 1, "acquired": 0.0, "released": 2.0},
        {"client": 2, "kind": "write", "revision": 2, "acquired": 2.0, "released": 4.0},
        {"client": 3, "kind": "read", "revision": 3, "acquired": 1.0, "released": 1.5}
    ]));
    let verdict = rwlock::check(&holds);
    assert_broke(&verdict, "fifo");
    assert!(!verdict.broke("writer_exclusion"));
}

#[test]
fn rwlock_overlapping_writer_is_caught() {
    let holds: Vec<rwlock::RwHold> = from(json!([
        {"client": 1, "kind": "write", "revision": 1, "acquired": 0.0, "released": 3.0},
        {"client": 2, "kind": "read", "revision": 2, "acquired": 2.0, "released": 4.0}
    ]));
    let verdict = rwlock::check(&holds);
    assert_broke(&verdict, "writer_exclusion");
    assert_broke(&verdict, "fifo");
}

// ---- barrier ----

#[test]
fn barrier_waits() {
    let ok: barrier::BarrierHistory = from(json!({
        "held": [{"put": 1.0, "deleted": 5.0}],
        "waits": [
            {"client": 1, "call": 0.5, "ret": 0.6},
            {"client": 2, "call": 2.0, "ret": 5.1},
            {"client": 3, "call": 2.0, "ret": null}
        ]
    }));
    assert_ok(&barrier::check_barrier(&ok));
    let early: barrier::BarrierHistory = from(json!({
        "held": [{"put": 1.0, "deleted": 5.0}],
        "waits": [{"client": 2, "call": 2.0, "ret": 3.0}]
    }));
    assert_broke(&barrier::check_barrier(&early), "early_wait");
    let never: barrier::BarrierHistory = from(json!({
        "held": [{"put": 1.0, "deleted": null}],
        "waits": [{"client": 2, "call": 2.0, "ret": 30.0}]
    }));
    assert_broke(&barrier::check_barrier(&never), "early_wait");
}

#[test]
fn double_barrier_ok() {
    let h: barrier::DoubleBarrierHistory = from(json!({"n": 2, "participants": [
        {"client": 1, "enter": {"call": 0.0, "ret": 2.1}, "leave": {"call": 3.0, "ret": 4.1}},
        {"client": 2, "enter": {"call": 2.0, "ret": 2.2}, "leave": {"call": 4.0, "ret": 4.2}}
    ]}));
    assert_ok(&barrier::check_double_barrier(&h));
}

/// Swarm seed 740's shape: the round of clients 1 and 2 has left (both called Leave, client 2's
/// key is gone), but client 2's Leave returns late, after the next round of 3 and 4 entered.
#[test]
fn a_leaver_whose_call_returns_late_is_not_inside() {
    let h: barrier::DoubleBarrierHistory = from(json!({"n": 2, "participants": [
        {"client": 1, "enter": {"call": 0.0, "ret": 1.0}, "leave": {"call": 2.0, "ret": 2.5}},
        {"client": 2, "enter": {"call": 0.1, "ret": 1.1}, "leave": {"call": 2.1, "ret": 6.0}},
        {"client": 3, "enter": {"call": 3.0, "ret": 3.4}, "leave": {"call": 4.0, "ret": 4.6}},
        {"client": 4, "enter": {"call": 3.1, "ret": 3.5}, "leave": {"call": 4.1, "ret": 4.5}}
    ]}));
    assert_ok(&barrier::check_double_barrier(&h));
}

#[test]
fn double_barrier_violations() {
    let early_enter: barrier::DoubleBarrierHistory = from(json!({"n": 2, "participants": [
        {"client": 1, "enter": {"call": 0.0, "ret": 1.0}},
        {"client": 2, "enter": {"call": 2.0, "ret": 2.2}}
    ]}));
    assert_broke(&barrier::check_double_barrier(&early_enter), "early_enter");
    let overfull: barrier::DoubleBarrierHistory = from(json!({"n": 2, "participants": [
        {"client": 1, "enter": {"call": 0.0, "ret": 2.1}},
        {"client": 2, "enter": {"call": 2.0, "ret": 2.2}},
        {"client": 3, "enter": {"call": 2.0, "ret": 2.3}}
    ]}));
    assert_broke(&barrier::check_double_barrier(&overfull), "overfull");
    // Client 1 still works (it has not called Leave) when the third enters.
    let still_working: barrier::DoubleBarrierHistory = from(json!({"n": 2, "participants": [
        {"client": 1, "enter": {"call": 0.0, "ret": 2.1}, "leave": {"call": 3.0, "ret": 3.6}},
        {"client": 2, "enter": {"call": 2.0, "ret": 2.2}, "leave": {"call": 2.4, "ret": 3.5}},
        {"client": 3, "enter": {"call": 2.0, "ret": 2.3}}
    ]}));
    assert_broke(&barrier::check_double_barrier(&still_working), "overfull");
    let early_leave: barrier::DoubleBarrierHistory = from(json!({"n": 2, "participants": [
        {"client": 1, "enter": {"call": 0.0, "ret": 2.1}, "leave": {"call": 3.0, "ret": 3.5}},
        {"client": 2, "enter": {"call": 2.0, "ret": 2.2}, "leave": {"call": 4.0, "ret": 4.2}}
    ]}));
    assert_broke(&barrier::check_double_barrier(&early_leave), "early_leave");
}

/// The shape the scenario records after a heal at t=10: a wait called during the chaos still
/// waiting when the barrier was lowered for good at t=11.
#[test]
fn barrier_wait_stuck_after_the_heal() {
    let history = |gave_up: f64| -> barrier::BarrierHistory {
        from(json!({
            "held": [{"put": 1.0, "deleted": 5.0}],
            "waits": [{"client": 2, "call": 9.0, "ret": null, "gave_up": gave_up}],
            "healed": 10.0,
            "lowered": 11.0
        }))
    };
    assert_broke(&barrier::check_barrier(&history(25.0)), "stuck");
    assert_ok(&barrier::check_barrier(&history(20.0)));
}

// ---- queue ----

fn queue_history(dequeued: &[(&str, f64, f64)], remaining: &[&str]) -> queue::QueueHistory {
    from(json!({
        "enqueues": [
            {"client": 1, "value": "a", "call": 0.0, "ret": 1.0},
            {"client": 1, "value": "b", "call": 2.0, "ret": 3.0},
            {"client": 2, "value": "u", "call": 2.0, "ret": null}
        ],
        "dequeues": dequeued.iter().map(|(v, c, r)| json!({"client": 3, "value": v, "call": c, "ret": r})).collect::<Vec<_>>(),
        "remaining": remaining,
    }))
}

#[test]
fn queue_ok() {
    assert_ok(&queue::check(&queue_history(&[("a", 4.0, 5.0), ("b", 6.0, 7.0)], &[])));
    assert_ok(&queue::check(&queue_history(&[("a", 4.0, 5.0)], &["b", "u"])));
}

#[test]
fn queue_violations() {
    assert_broke(&queue::check(&queue_history(&[("a", 4.0, 5.0)], &[])), "lost");
    assert_broke(
        &queue::check(&queue_history(&[("a", 4.0, 5.0), ("a", 6.0, 7.0)], &["b"])),
        "duplicate",
    );
    assert_broke(&queue::check(&queue_history(&[("b", 4.0, 5.0), ("a", 6.0, 7.0)], &[])), "fifo");
    assert_broke(&queue::check(&queue_history(&[("b", 4.0, 5.0)], &["a"])), "fifo");
    assert_broke(&queue::check(&queue_history(&[("zz", 4.0, 5.0)], &["a", "b"])), "phantom");
}

#[test]
fn a_dequeue_of_unknown_outcome_may_have_taken_one_missing_value() {
    let unknown = |history: &mut queue::QueueHistory| {
        history.dequeues.push(from(json!({"client": 4, "value": null, "call": 4.5, "ret": null})))
    };
    let mut one_missing = queue_history(&[("a", 4.0, 5.0)], &[]);
    unknown(&mut one_missing);
    assert_ok(&queue::check(&one_missing));
    let mut two_missing = queue_history(&[], &[]);
    unknown(&mut two_missing);
    assert_broke(&queue::check(&two_missing), "lost");
    // "a" may have gone to the unknown dequeue at 4.5 before "b" was delivered: no fifo finding;
    // had "b" been delivered before 4.5, "a" surely waited.
    let mut taken_early = queue_history(&[("b", 6.0, 7.0)], &[]);
    unknown(&mut taken_early);
    assert_ok(&queue::check(&taken_early));
    let mut delivered_first = queue_history(&[("b", 3.5, 4.0)], &[]);
    unknown(&mut delivered_first);
    assert_broke(&queue::check(&delivered_first), "fifo");
}

#[test]
fn a_dequeue_that_waits_on_past_a_queued_value_after_the_heal_is_stuck() {
    // "b" stays in the queue to the end; client 3's dequeue, called at t=9, gives up at t=30.
    let mut stuck = queue_history(&[("a", 4.0, 5.0)], &["b", "u"]);
    stuck.healed = Some(10.0);
    stuck
        .dequeues
        .push(from(json!({"client": 3, "value": null, "call": 9.0, "ret": null, "gave_up": 30.0})));
    let verdict = queue::check(&stuck);
    assert_broke(&verdict, "stuck");
    assert_eq!(verdict.findings()[0].records, vec![1]);
    // Given up within the slack of the heal: not judged.
    stuck.dequeues[1].gave_up = Some(15.0);
    assert_ok(&queue::check(&stuck));
    // An empty queue: nothing to take, so waiting is right. (The unknown dequeue may have taken
    // the one value not delivered, and it gave up at t=30.)
    let mut empty = queue_history(&[("a", 4.0, 5.0)], &[]);
    empty.healed = Some(10.0);
    empty
        .dequeues
        .push(from(json!({"client": 3, "value": null, "call": 9.0, "ret": null, "gave_up": 30.0})));
    assert_ok(&queue::check(&empty));
}

#[test]
fn priority_queue() {
    let h = |first: &str, second: &str| -> queue::QueueHistory {
        from(json!({
            "enqueues": [
                {"client": 1, "value": "low", "priority": 5, "call": 0.0, "ret": 1.0},
                {"client": 1, "value": "urgent", "priority": 1, "call": 2.0, "ret": 3.0}
            ],
            "dequeues": [
                {"client": 3, "value": first, "call": 4.0, "ret": 5.0},
                {"client": 3, "value": second, "call": 6.0, "ret": 7.0}
            ]
        }))
    };
    assert_ok(&queue::check(&h("urgent", "low")));
    assert_broke(&queue::check(&h("low", "urgent")), "priority");
}

// ---- election ----

#[test]
fn election() {
    let ok: Vec<election::Leadership> = from(json!([
        {"election": "e", "client": 1, "revision": 3, "elected": 0.0, "ended": 2.0},
        {"election": "e", "client": 2, "revision": 5, "elected": 2.5, "ended": null},
        {"election": "f", "client": 3, "revision": 4, "elected": 1.0, "ended": null}
    ]));
    assert_ok(&election::check(&ok));
    let two: Vec<election::Leadership> = from(json!([
        {"election": "e", "client": 1, "revision": 3, "elected": 0.0, "ended": 2.0},
        {"election": "e", "client": 2, "revision": 2, "elected": 1.5, "ended": null}
    ]));
    let verdict = election::check(&two);
    assert_broke(&verdict, "single_leader");
    assert_broke(&verdict, "revision_order");
}

// ---- watch ----

fn committed() -> serde_json::Value {
    json!([
        {"revision": 2, "key": "a", "kind": "put", "value": "1"},
        {"revision": 3, "key": "a", "kind": "put", "value": "2", "prev_value": "1"},
        {"revision": 3, "key": "b", "kind": "put", "value": "x"},
        {"revision": 4, "key": "z", "kind": "put", "value": "out of range"},
        {"revision": 5, "key": "a", "kind": "delete", "prev_value": "2"}
    ])
}

fn watcher(received: serde_json::Value) -> watch::WatchHistory {
    from(json!({
        "committed": committed(),
        "watchers": [{"key": "a", "range_end": "c", "start_revision": 2, "prev_kv": true, "received": received}]
    }))
}

fn ev(
    revision: i64,
    key: &str,
    kind: &str,
    value: Option<&str>,
    prev: Option<&str>,
) -> serde_json::Value {
    json!({"revision": revision, "key": key, "kind": kind, "value": value, "prev_value": prev})
}

#[test]
fn watch_ok_with_progress_and_resume() {
    let h = watcher(json!([
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), None)]},
        {"type": "resume", "start_revision": 3},
        {"type": "events", "events": [ev(3, "a", "put", Some("2"), Some("1")), ev(3, "b", "put", Some("x"), None)]},
        {"type": "progress", "revision": 4},
        {"type": "events", "events": [ev(5, "a", "delete", None, Some("2"))]}
    ]));
    assert_ok(&watch::check(&h));
}

#[test]
fn watch_violations() {
    let gap = watcher(json!([
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), None)]},
        {"type": "events", "events": [ev(5, "a", "delete", None, Some("2"))]}
    ]));
    assert_broke(&watch::check(&gap), "gap");
    let duplicate = watcher(json!([
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), None)]},
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), None)]}
    ]));
    assert_broke(&watch::check(&duplicate), "duplicate");
    let split = watcher(json!([
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), None), ev(3, "a", "put", Some("2"), Some("1"))]},
        {"type": "events", "events": [ev(3, "b", "put", Some("x"), None)]}
    ]));
    assert_broke(&watch::check(&split), "atomic");
    let out_of_order = watcher(json!([
        {"type": "events", "events": [ev(3, "a", "put", Some("2"), Some("1")), ev(3, "b", "put", Some("x"), None)]},
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), None)]}
    ]));
    assert_broke(&watch::check(&out_of_order), "order");
    let wrong_prev = watcher(json!([
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), Some("0"))]}
    ]));
    assert_broke(&watch::check(&wrong_prev), "prev_kv");
    let mut unasked = watcher(
        json!([{"type": "events", "events": [ev(3, "a", "put", Some("2"), Some("1")), ev(3, "b", "put", Some("x"), None)]}]),
    );
    unasked.watchers[0].start_revision = 3;
    assert_ok(&watch::check(&unasked));
    unasked.watchers[0].prev_kv = false;
    assert_broke(&watch::check(&unasked), "prev_kv");
    let phantom = watcher(json!([
        {"type": "events", "events": [ev(2, "a", "put", Some("9"), None)]}
    ]));
    assert_broke(&watch::check(&phantom), "phantom");
    let lying_progress = watcher(json!([
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), None)]},
        {"type": "progress", "revision": 3}
    ]));
    assert_broke(&watch::check(&lying_progress), "progress");
    let lossy_resume = watcher(json!([
        {"type": "events", "events": [ev(2, "a", "put", Some("1"), None)]},
        {"type": "resume", "start_revision": 4},
        {"type": "events", "events": [ev(5, "a", "delete", None, Some("2"))]}
    ]));
    assert_broke(&watch::check(&lossy_resume), "gap");
}

// ---- lease ----

fn lease_history(reads: serde_json::Value) -> lease::LeaseHistory {
    from(json!({
        "bound": 2.0,
        "leases": [
            {"id": 1, "ttl": 5.0, "granted": 0.0, "keepalives": [4.0, 8.0, 12.0], "keys": ["kept"], "attached": 1.0},
            {"id": 2, "ttl": 5.0, "granted": 0.0, "keys": ["expiring"], "attached": 1.0},
            {"id": 3, "ttl": 50.0, "granted": 0.0, "revoke_called": 3.0, "keys": ["revoked"], "attached": 1.0}
        ],
        "reads": reads
    }))
}

#[test]
fn lease_ok() {
    let h = lease_history(json!([
        {"key": "kept", "call": 10.0, "ret": 10.5, "present": true},
        {"key": "expiring", "call": 4.0, "ret": 4.1, "present": true},
        {"key": "expiring", "call": 6.0, "ret": 6.1, "present": true},
        {"key": "expiring", "call": 8.0, "ret": 8.1, "present": false},
        {"key": "revoked", "call": 6.0, "ret": 6.1, "present": false}
    ]));
    assert_ok(&lease::check(&h));
}

#[test]
fn lease_violations() {
    let vanished =
        lease_history(json!([{"key": "kept", "call": 10.0, "ret": 10.5, "present": false}]));
    assert_broke(&lease::check(&vanished), "vanished");
    let outlived =
        lease_history(json!([{"key": "expiring", "call": 7.5, "ret": 7.6, "present": true}]));
    assert_broke(&lease::check(&outlived), "outlived");
    let revoked =
        lease_history(json!([{"key": "revoked", "call": 5.5, "ret": 5.6, "present": true}]));
    assert_broke(&lease::check(&revoked), "outlived");
}

#[test]
fn verdicts_serialize() {
    let verdict = lease::check(&lease_history(
        json!([{"key": "kept", "call": 10.0, "ret": 10.5, "present": false}]),
    ));
    let text = serde_json::to_string(&verdict).unwrap();
    assert!(
        text.starts_with(
            r#"{"verdict":"violation","findings":[{"rule":"vanished","records":[0,0],"#
        ),
        "{text}"
    );
    assert_eq!(serde_json::to_string(&SafetyVerdict::Ok).unwrap(), r#"{"verdict":"ok"}"#);
}
