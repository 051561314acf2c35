//! Resolving unknown outcomes from the committed log (what etcd's robustness tests call patching
//! the history).
//!
//! A client whose request timed out cannot know whether its write took effect, so the checker
//! must try such a write both ways at every point after its call; that search is what makes
//! many-client histories with many timeouts slow. The simulator, unlike a client, can read what
//! the cluster committed, and every write of the `kv` workload carries a value no other write
//! uses, so the committed log answers the question exactly:
//! - an unknown `put` (or value-writing `txn`) whose value was committed once took effect at that
//!   event's revision: it becomes an operation that returned at the end of the history with that
//!   revision, which pins where it linearises;
//! - one whose value was never committed had no effect, and an unknown read (a range, or a txn
//!   whose branches only read, such as a read at a past revision) never has one; an operation
//!   with no effect and no observed result constrains nothing, so it is dropped.
//!
//! Unknown deletes stay unknown (a delete carries no value to recognise it by), as does a write
//! whose value was committed more than once (a duplicate is for the checker to judge). So do
//! unknown compactions: a compaction is in the log but makes no event, so the events cannot say
//! whether it happened, and the model tries it both ways.
//! Only a complete log is trusted: with a hole (a compaction outran the reader) nothing changes.
//! A write applied after the log was last read lies after every recorded operation, where
//! dropping it is indistinguishable from keeping it. So does one applied after the first write of
//! a key no recorded operation touches (the simulator's liveness probe, which writes only once
//! every client has let go): the log is read only up to that write. Kept, such a write would claim
//! a revision the history cannot reach, since the probe's write is not in it (seen when a write a
//! follower had queued for the leader committed after the probe's).

use detcd_check::history::Operation;
use detcd_core::kv::{Event, EventType};
use detcd_sim::committed::CommittedEvents;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What resolving did, for the verdict's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Unknown writes found in the committed log.
    pub committed: usize,
    /// Unknown operations dropped because they had no effect.
    pub dropped: usize,
    /// Unknown operations left unknown.
    pub unknown: usize,
}

/// `history` with the unknown outcomes the committed log decides made known, or dropped.
pub fn resolve(history: &[Operation], log: &CommittedEvents) -> (Vec<Operation>, Resolved) {
    let mut resolved = Resolved::default();
    if log.hole.is_some() {
        resolved.unknown = history.iter().filter(|op| op.ret.is_none()).count();
        return (history.to_vec(), resolved);
    }
    let events = before_outside_writes(history, &log.events);
    let puts = committed_puts(events);
    let end = history.iter().map(|op| op.ret.unwrap_or(op.call)).fold(0.0, f64::max) + 1e-3;
    let mut operations = Vec::with_capacity(history.len());
    for op in history {
        if op.ret.is_some() {
            operations.push(op.clone());
            continue;
        }
        match outcome(op, &puts) {
            Outcome::TookEffect(output) => {
                resolved.committed += 1;
                operations.push(Operation { ret: Some(end), output, ..op.clone() });
            }
            Outcome::NoEffect => resolved.dropped += 1,
            Outcome::Unknown => {
                resolved.unknown += 1;
                operations.push(op.clone());
            }
        }
    }
    (operations, resolved)
}

enum Outcome {
    TookEffect(Value),
    NoEffect,
    Unknown,
}

/// The events up to (not including) the first one on a key no operation of `history` names.
fn before_outside_writes<'a>(history: &[Operation], events: &'a [Event]) -> &'a [Event] {
    let mut named = BTreeSet::new();
    for op in history {
        collect_keys(&op.input, &mut named);
    }
    let first_outside = events.iter().position(|event| match std::str::from_utf8(&event.kv.key) {
        Ok(key) => !named.contains(key),
        Err(_) => true,
    });
    &events[..first_outside.unwrap_or(events.len())]
}

/// Every string under a `key` field of `input`, at any depth (txn requests nest them).
fn collect_keys<'a>(input: &'a Value, keys: &mut BTreeSet<&'a str>) {
    match input {
        Value::Object(fields) => {
            for (name, value) in fields {
                match (name.as_str(), value) {
                    ("key", Value::String(key)) => {
                        keys.insert(key.as_str());
                    }
                    _ => collect_keys(value, keys),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_keys(item, keys)),
        _ => {}
    }
}

/// Committed puts by (key, value): the revisions each pair was written at.
fn committed_puts(events: &[Event]) -> BTreeMap<(&[u8], &[u8]), Vec<i64>> {
    let mut puts: BTreeMap<(&[u8], &[u8]), Vec<i64>> = BTreeMap::new();
    for event in events.iter().filter(|event| event.kind == EventType::Put) {
        puts.entry((&event.kv.key, &event.kv.value)).or_default().push(event.revision());
    }
    puts
}

fn outcome(op: &Operation, puts: &BTreeMap<(&[u8], &[u8]), Vec<i64>>) -> Outcome {
    let written = match op.f.as_str() {
        "range" => return Outcome::NoEffect,
        "txn" if reads_only(&op.input) => return Outcome::NoEffect,
        "put" => op.input.get("key").zip(op.input.get("value")),
        "txn" => single_put(&op.input),
        _ => None,
    };
    let Some((Value::String(key), Value::String(value))) = written else {
        return Outcome::Unknown;
    };
    match puts.get(&(key.as_bytes(), value.as_bytes())).map(Vec::as_slice) {
        None => Outcome::NoEffect,
        Some([revision]) if op.f == "txn" => {
            Outcome::TookEffect(json!({"revision": revision, "succeeded": true}))
        }
        Some([revision]) => Outcome::TookEffect(json!({"revision": revision})),
        Some(_) => Outcome::Unknown,
    }
}

/// Whether a txn's branches hold only ranges (at any depth): it cannot change the store.
fn reads_only(input: &Value) -> bool {
    ["success", "failure"].iter().all(|branch| {
        input.get(*branch).and_then(Value::as_array).is_none_or(|requests| {
            requests.iter().all(|request| {
                request.get("range").is_some() || request.get("txn").is_some_and(reads_only)
            })
        })
    })
}

/// The key and value of a txn whose only writes are one put in `success` (the kv workload's CAS);
/// a txn whose failure branch writes could take effect without that put.
fn single_put(input: &Value) -> Option<(&Value, &Value)> {
    let writes = |branch: &str| {
        input.get(branch).and_then(Value::as_array).map(|requests| {
            requests.iter().filter(|r| r.get("range").is_none()).collect::<Vec<_>>()
        })
    };
    let (success, failure) = (writes("success")?, writes("failure")?);
    match (success.as_slice(), failure.is_empty()) {
        ([request], true) => {
            let put = request.get("put")?;
            Some((put.get("key")?, put.get("value")?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detcd_core::kv::KeyValue;

    fn op(f: &str, input: Value, ret: Option<f64>) -> Operation {
        Operation {
            client: 1,
            call: 1.0,
            ret,
            f: f.into(),
            key: None,
            input,
            output: if ret.is_some() { json!({"revision": 2}) } else { Value::Null },
        }
    }

    fn put_event(key: &str, value: &str, revision: i64) -> Event {
        let kv = KeyValue {
            key: key.into(),
            value: value.into(),
            mod_revision: revision,
            ..Default::default()
        };
        Event { kind: EventType::Put, kv, prev_kv: None }
    }

    fn log(events: Vec<Event>) -> CommittedEvents {
        CommittedEvents { through: events.len() as i64 + 1, events, hole: None }
    }

    #[test]
    fn a_committed_unknown_put_takes_the_revision_it_was_committed_at() {
        let history = vec![
            op("put", json!({"key": "a", "value": "x"}), Some(2.0)),
            op("put", json!({"key": "a", "value": "y"}), None),
        ];
        let (ops, resolved) = resolve(&history, &log(vec![put_event("a", "y", 7)]));
        assert_eq!(resolved, Resolved { committed: 1, dropped: 0, unknown: 0 });
        assert_eq!(ops[1].output, json!({"revision": 7}));
        assert!(ops[1].ret.unwrap() > 2.0, "returns after everything else");
    }

    #[test]
    fn uncommitted_writes_and_unknown_reads_are_dropped() {
        let history = vec![
            op("put", json!({"key": "a", "value": "lost"}), None),
            op("range", json!({"key": "a"}), None),
            op("put", json!({"key": "a", "value": "kept"}), Some(3.0)),
        ];
        let (ops, resolved) = resolve(&history, &log(vec![put_event("a", "kept", 2)]));
        assert_eq!(resolved.dropped, 2);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].input["value"], "kept");
    }

    #[test]
    fn a_cas_txn_resolves_by_its_put_and_deletes_stay_unknown() {
        let cas =
            json!({"compare": [], "success": [{"put": {"key": "a", "value": "z"}}], "failure": []});
        let history = vec![op("txn", cas, None), op("delete", json!({"key": "a"}), None)];
        let (ops, resolved) = resolve(&history, &log(vec![put_event("a", "z", 4)]));
        assert_eq!(resolved, Resolved { committed: 1, dropped: 0, unknown: 1 });
        assert_eq!(ops[0].output, json!({"revision": 4, "succeeded": true}));
        assert_eq!(ops[1].ret, None);
    }

    #[test]
    fn read_only_txns_are_dropped_and_compactions_stay_unknown() {
        let past_read = json!({
            "compare": [{"key": "a", "target": "version", "result": "greater", "value": 0}],
            "success": [{"range": {"key": "a", "revision": 2}}],
            "failure": [{"range": {"key": "k", "range_end": "l", "revision": 2}}],
        });
        let nested_write =
            json!({"compare": [], "success": [{"txn": {"success": [{"delete": {"key": "a"}}]}}]});
        let history = vec![
            op("txn", past_read, None),
            op("compact", json!({"revision": 2}), None),
            op("txn", nested_write, None),
        ];
        let (ops, resolved) = resolve(&history, &log(vec![put_event("a", "x", 2)]));
        assert_eq!(resolved, Resolved { committed: 0, dropped: 1, unknown: 2 });
        assert_eq!(ops.iter().map(|op| op.f.as_str()).collect::<Vec<_>>(), ["compact", "txn"]);
    }

    #[test]
    fn writes_committed_after_a_write_outside_the_history_are_dropped() {
        let history = vec![
            op("put", json!({"key": "a", "value": "early"}), None),
            op("put", json!({"key": "a", "value": "late"}), None),
        ];
        let events = vec![
            put_event("a", "early", 2),
            put_event("__liveness", "ok", 3),
            put_event("a", "late", 4),
        ];
        let (ops, resolved) = resolve(&history, &log(events));
        assert_eq!(resolved, Resolved { committed: 1, dropped: 1, unknown: 0 });
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].output, json!({"revision": 2}));
    }

    #[test]
    fn duplicates_and_a_log_with_a_hole_change_nothing() {
        let history = vec![op("put", json!({"key": "a", "value": "d"}), None)];
        let twice = log(vec![put_event("a", "d", 2), put_event("a", "d", 3)]);
        assert_eq!(resolve(&history, &twice).1.unknown, 1);
        let holed = CommittedEvents { hole: Some("compacted".into()), ..log(Vec::new()) };
        let (ops, resolved) = resolve(&history, &holed);
        assert_eq!((ops.len(), resolved.unknown), (1, 1));
    }
}
