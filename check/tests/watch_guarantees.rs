//! The watch checker against each guarantee etcd documents for watch: ordered, unique, atomic,
//! reliable, resumable, bookmarkable, `prev_kv`, `is_create`, filters.
//!
//! Every guarantee has a history that breaks it and nothing else (the verdict's findings are all
//! of that one rule), next to correct histories that pass. All histories watch the same committed
//! events:
//!
//! ```text
//! rev 2  put a=1            (a created)
//! rev 3  put a=2, put b=x   (one txn; b created)
//! rev 4  put z=out          (outside the watched range [a, c))
//! rev 5  delete a
//! rev 6  put a=3            (a created again)
//! ```

use detcd_check::watch::{self, WatchHistory};
use serde_json::{json, Value};

fn committed() -> Value {
    json!([
        {"revision": 2, "key": "a", "kind": "put", "value": "1"},
        {"revision": 3, "key": "a", "kind": "put", "value": "2", "prev_value": "1"},
        {"revision": 3, "key": "b", "kind": "put", "value": "x"},
        {"revision": 4, "key": "z", "kind": "put", "value": "out"},
        {"revision": 5, "key": "a", "kind": "delete", "prev_value": "2"},
        {"revision": 6, "key": "a", "kind": "put", "value": "3"}
    ])
}

/// One watcher on `[a, c)` from revision 2 with `prev_kv`, plus `extra` fields (e.g. filters).
fn history_with(extra: Value, received: Value) -> WatchHistory {
    let mut watcher = json!({"key": "a", "range_end": "c", "start_revision": 2, "prev_kv": true});
    if let (Some(watcher), Some(extra)) = (watcher.as_object_mut(), extra.as_object()) {
        watcher.extend(extra.clone());
    }
    watcher["received"] = received;
    serde_json::from_value(json!({"committed": committed(), "watchers": [watcher]}))
        .expect("valid watch history")
}

fn history(received: Value) -> WatchHistory {
    history_with(json!({}), received)
}

fn events(events: Value) -> Value {
    json!({"type": "events", "events": events})
}

// The committed events as a correct server sends them to this watcher.
fn a2() -> Value {
    json!({"revision": 2, "key": "a", "kind": "put", "value": "1", "create": true})
}
fn a3() -> Value {
    json!({"revision": 3, "key": "a", "kind": "put", "value": "2", "prev_value": "1", "create": false})
}
fn b3() -> Value {
    json!({"revision": 3, "key": "b", "kind": "put", "value": "x", "create": true})
}
fn a5() -> Value {
    json!({"revision": 5, "key": "a", "kind": "delete", "prev_value": "2", "create": false})
}
fn a6() -> Value {
    json!({"revision": 6, "key": "a", "kind": "put", "value": "3", "create": true})
}

/// `event` with `field` changed.
fn with(mut event: Value, field: &str, value: Value) -> Value {
    event[field] = value;
    event
}

fn assert_ok(history: &WatchHistory) {
    let verdict = watch::check(history);
    assert!(verdict.is_ok(), "expected ok, got {verdict:#?}");
}

/// The verdict has findings, and all of them are of `rule`.
fn assert_only(history: &WatchHistory, rule: &str) {
    let verdict = watch::check(history);
    let rules: Vec<&str> = verdict.findings().iter().map(|f| f.rule).collect();
    assert!(
        !rules.is_empty() && rules.iter().all(|r| *r == rule),
        "expected only {rule} findings, got {verdict:#?}"
    );
}

#[test]
fn every_owed_event_once_in_order_with_a_resume_and_a_progress_passes() {
    assert_ok(&history(json!([
        events(json!([a2()])),
        {"type": "resume", "start_revision": 3},
        events(json!([a3(), b3()])),
        {"type": "progress", "revision": 4},
        events(json!([a5()])),
        events(json!([a6()]))
    ])));
}

#[test]
fn events_not_yet_sent_when_the_history_ends_are_lag_not_loss() {
    assert_ok(&history(json!([events(json!([a2()]))])));
    assert_ok(&history(json!([])));
}

#[test]
fn ordered_an_event_arriving_after_a_later_one_breaks_order_alone() {
    // Revision 2 arrives late but arrives: nothing is lost, so this is not a gap too.
    assert_only(
        &history(json!([
            events(json!([a3(), b3()])),
            events(json!([a2()])),
            events(json!([a5()])),
            events(json!([a6()]))
        ])),
        "order",
    );
}

#[test]
fn unique_an_event_arriving_twice_breaks_duplicate_alone() {
    assert_only(
        &history(json!([
            events(json!([a2()])),
            events(json!([a2()])),
            events(json!([a3(), b3()]))
        ])),
        "duplicate",
    );
}

#[test]
fn atomic_one_revision_split_across_responses_breaks_atomic_alone() {
    assert_only(
        &history(json!([
            events(json!([a2(), a3()])),
            events(json!([b3()])),
            events(json!([a5()]))
        ])),
        "atomic",
    );
}

#[test]
fn reliable_an_event_skipped_for_good_breaks_gap_alone() {
    assert_only(
        &history(json!([events(json!([a2()])), events(json!([a5()])), events(json!([a6()]))])),
        "gap",
    );
}

#[test]
fn reliable_a_resumption_past_an_unreceived_event_breaks_gap_alone() {
    assert_only(
        &history(json!([
            events(json!([a2()])),
            {"type": "resume", "start_revision": 5},
            events(json!([a5()]))
        ])),
        "gap",
    );
}

#[test]
fn resumable_a_compaction_cancel_is_right_when_the_watcher_needed_a_compacted_revision() {
    // Resumed from 3; a compaction at 4 removed revision 3, so etcd cancels it.
    assert_ok(&history(json!([
        events(json!([a2()])),
        {"type": "resume", "start_revision": 3},
        {"type": "canceled", "compact_revision": 4}
    ])));
    // Created at 2 against a store compacted at 3.
    assert_ok(&history(json!([{"type": "canceled", "compact_revision": 3}])));
    // A cancel for another reason (no compact revision) is not judged.
    assert_ok(&history(
        json!([events(json!([a2()])), {"type": "canceled", "compact_revision": null}]),
    ));
}

#[test]
fn resumable_a_compaction_cancel_at_or_below_the_resume_revision_breaks_cancel_alone() {
    // The watcher needed revisions from 3 on; a compaction at 3 keeps revision 3.
    assert_only(
        &history(json!([
            events(json!([a2()])),
            {"type": "resume", "start_revision": 3},
            {"type": "canceled", "compact_revision": 3}
        ])),
        "cancel",
    );
    // On the same stream, after receiving revision 3 it needed only 4 and later.
    assert_only(
        &history(json!([
            events(json!([a2()])),
            events(json!([a3(), b3()])),
            {"type": "canceled", "compact_revision": 4}
        ])),
        "cancel",
    );
    assert_only(&history(json!([{"type": "canceled", "compact_revision": 2}])), "cancel");
}

#[test]
fn resumable_nothing_may_arrive_after_a_cancel() {
    assert_only(
        &history(json!([
            events(json!([a2()])),
            {"type": "canceled", "compact_revision": null},
            events(json!([a3(), b3()]))
        ])),
        "cancel",
    );
}

#[test]
fn bookmarkable_a_progress_notification_past_an_unreceived_event_breaks_progress_alone() {
    assert_only(
        &history(json!([
            events(json!([a2()])),
            {"type": "progress", "revision": 3},
            events(json!([a3(), b3()]))
        ])),
        "progress",
    );
}

#[test]
fn prev_kv_a_wrong_previous_value_breaks_prev_kv_alone() {
    assert_only(
        &history(json!([
            events(json!([a2()])),
            events(json!([with(a3(), "prev_value", json!("0")), b3()]))
        ])),
        "prev_kv",
    );
}

/// `history` as a run that asked for compactions up to `compacted_to`.
fn compacted(mut history: WatchHistory, compacted_to: i64) -> WatchHistory {
    history.compacted_to = Some(compacted_to);
    history
}

#[test]
fn prev_kv_a_missing_previous_value_is_excused_only_once_a_compaction_reached_the_event() {
    // etcd reads the previous pair at revision - 1 when it sends the event; once that revision
    // is compacted it sends the event without one, as its API documents.
    let a5_without_prev = with(a5(), "prev_value", Value::Null);
    let received = json!([
        events(json!([a2()])),
        events(json!([a3(), b3()])),
        events(json!([a5_without_prev]))
    ]);
    assert_only(&history(received.clone()), "prev_kv");
    assert_only(&compacted(history(received.clone()), 4), "prev_kv");
    assert_ok(&compacted(history(received), 5));
}

#[test]
fn prev_kv_a_wrong_previous_value_is_never_excused_by_a_compaction() {
    let received = json!([
        events(json!([a2()])),
        events(json!([a3(), b3()])),
        events(json!([with(a5(), "prev_value", json!("1"))]))
    ]);
    assert_only(&compacted(history(received), 6), "prev_kv");
}

#[test]
fn prev_kv_a_previous_value_nobody_asked_for_breaks_prev_kv_alone() {
    let unasked = json!({"prev_kv": false});
    assert_ok(&history_with(
        unasked.clone(),
        json!([
            events(json!([a2()])),
            events(json!([with(a3(), "prev_value", Value::Null), b3()]))
        ]),
    ));
    assert_only(
        &history_with(unasked, json!([events(json!([a2()])), events(json!([a3(), b3()]))])),
        "prev_kv",
    );
}

#[test]
fn is_create_a_wrong_create_flag_breaks_create_alone() {
    // The first put of a key is a create.
    assert_only(&history(json!([events(json!([with(a2(), "create", json!(false))]))])), "create");
    // A put on an existing key is not.
    assert_only(
        &history(json!([
            events(json!([a2()])),
            events(json!([with(a3(), "create", json!(true)), b3()]))
        ])),
        "create",
    );
    // A put after a delete creates the key again.
    assert_only(
        &history(json!([
            events(json!([a2()])),
            events(json!([a3(), b3()])),
            events(json!([a5()])),
            events(json!([with(a6(), "create", json!(false))]))
        ])),
        "create",
    );
    // A delete never is.
    assert_only(
        &history(json!([
            events(json!([a2()])),
            events(json!([a3(), b3()])),
            events(json!([with(a5(), "create", json!(true))]))
        ])),
        "create",
    );
}

#[test]
fn is_create_an_event_without_the_flag_is_not_judged() {
    let no_flag = |event: Value| with(event, "create", Value::Null);
    assert_ok(&history(json!([
        events(json!([no_flag(a2())])),
        events(json!([no_flag(a3()), b3()]))
    ])));
}

#[test]
fn is_create_a_committed_history_after_a_compaction_states_its_creates() {
    // The history starts at revision 3: whether a=2 created a it cannot tell, so it says so.
    let h: WatchHistory = serde_json::from_value(json!({
        "committed": [
            {"revision": 3, "key": "a", "kind": "put", "value": "2", "create": false},
            {"revision": 4, "key": "a", "kind": "put", "value": "3"}
        ],
        "watchers": [{"key": "a", "start_revision": 3, "received": [
            {"type": "events", "events": [{"revision": 3, "key": "a", "kind": "put", "value": "2", "create": false}]},
            {"type": "events", "events": [{"revision": 4, "key": "a", "kind": "put", "value": "3", "create": false}]}
        ]}]
    }))
    .expect("valid watch history");
    assert_ok(&h);
    let mut wrong = h.clone();
    wrong.watchers[0].received.truncate(1);
    if let watch::Message::Events { events } = &mut wrong.watchers[0].received[0] {
        events[0].create = Some(true);
    }
    assert_only(&wrong, "create");
}

#[test]
fn filters_a_watcher_gets_every_kind_it_did_not_filter_and_no_gap_for_what_it_did() {
    assert_ok(&history_with(
        json!({"filters": ["no_delete"]}),
        json!([events(json!([a2()])), events(json!([a3(), b3()])), events(json!([a6()]))]),
    ));
    assert_ok(&history_with(json!({"filters": ["no_put"]}), json!([events(json!([a5()]))])));
    assert_ok(&history_with(json!({"filters": ["no_put", "no_delete"]}), json!([])));
}

#[test]
fn filters_a_filtered_kind_delivered_breaks_filter_alone() {
    assert_only(
        &history_with(
            json!({"filters": ["no_delete"]}),
            json!([
                events(json!([a2()])),
                events(json!([a3(), b3()])),
                events(json!([a5()])),
                events(json!([a6()]))
            ]),
        ),
        "filter",
    );
    assert_only(
        &history_with(
            json!({"filters": ["no_put"]}),
            json!([events(json!([a2()])), events(json!([a5()]))]),
        ),
        "filter",
    );
}

#[test]
fn filters_excuse_only_the_filtered_kind() {
    // NODELETE does not excuse skipping the puts at revision 3.
    assert_only(
        &history_with(
            json!({"filters": ["no_delete"]}),
            json!([events(json!([a2()])), events(json!([a6()]))]),
        ),
        "gap",
    );
}

#[test]
fn every_rule_of_the_module_doc_has_a_violating_history_here() {
    // The nine guarantees and their rules; if a rule is renamed this list and the tests above
    // must follow.
    let rules = [
        "order",
        "duplicate",
        "atomic",
        "gap",
        "cancel",
        "progress",
        "prev_kv",
        "create",
        "filter",
    ];
    let doc = include_str!("../src/watch.rs");
    for rule in rules {
        assert!(
            doc.contains(&format!("| `{rule}` |")),
            "rule {rule} missing from the module doc table"
        );
    }
}
