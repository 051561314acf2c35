//! Reads at a past revision, judged against the committed history.
//!
//! A range at revision `r > 0` names one state of the key space: the same on every member, at
//! every moment after `r` is committed. So any answer that returns keys, linearizable or
//! serializable, from the leader or from a member just restored from its snapshot, must return
//! exactly the keys that state holds in the range, with their values, revisions and versions.
//! The etcd model judges such answers only as far as the present implies the past (it keeps no
//! old versions) and serializable ones not at all; the simulator read every committed event from
//! the members as the run went, which is the whole past. Refusals (compacted, future revision)
//! are the model's to judge.
//!
//! Invariants: a read is judged only when the committed history has no hole and reaches its
//! revision; ranges inside txns are judged like plain ones (the branch the txn took).

use crate::scenario::CheckerVerdict;
use detcd_check::history::Operation;
use detcd_core::kv::{Event, EventType, KeyValue};
use detcd_sim::committed::CommittedEvents;
use detcd_sim::run::RunResult;
use detcd_sim::workload::kv_json;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Instant;

pub const CHECKER: &str = "past reads (committed history)";

/// Judges every answered range at a past revision in `result`'s history.
pub fn verdict(result: &RunResult) -> CheckerVerdict {
    judge(&result.history, result.committed.as_ref())
}

/// Judges every answered range at a past revision in `history` against `committed`.
pub fn judge(history: &[Operation], committed: Option<&CommittedEvents>) -> CheckerVerdict {
    let started = Instant::now();
    let finish = |ok, summary: String, details| CheckerVerdict {
        checker: CHECKER.into(),
        ok,
        seconds: started.elapsed().as_secs_f64(),
        summary,
        details,
    };
    let Some(committed) = committed else {
        return finish(None, "no committed history was recorded".into(), Value::Null);
    };
    if let Some(hole) = &committed.hole {
        return finish(
            None,
            format!("not judged: the committed history has a hole ({hole})"),
            Value::Null,
        );
    }
    let mut judged = 0;
    let mut findings = Vec::new();
    for (index, op) in history.iter().enumerate() {
        if op.is_unknown() {
            continue;
        }
        for (input, output) in reads(&op.f, &op.input, &op.output) {
            let Some(revision) = input["revision"].as_i64().filter(|r| *r > 0) else { continue };
            let Some(kvs) = output["kvs"].as_array() else { continue };
            if revision > committed.through {
                continue;
            }
            judged += 1;
            let key = input["key"].as_str().unwrap_or_default();
            let end = input["range_end"].as_str().unwrap_or_default();
            let expected: Vec<Value> =
                range_at(&committed.events, revision, key, end).into_iter().map(kv_json).collect();
            if *kvs != expected {
                findings.push(json!({
                    "rule": "past-read",
                    "records": [index],
                    "message": format!(
                        "{}: the range [{key}, {end}) at revision {revision} answered {} but the \
                         committed history holds {}",
                        op.describe(),
                        Value::Array(kvs.clone()),
                        Value::Array(expected),
                    ),
                }));
            }
        }
    }
    if findings.is_empty() {
        finish(Some(true), format!("ok ({judged} reads at past revisions)"), Value::Null)
    } else {
        let summary = format!(
            "VIOLATED past-read: {} of {judged} reads at past revisions disagree with the committed history; first: {}",
            findings.len(),
            findings[0]["message"].as_str().unwrap_or_default()
        );
        finish(Some(false), summary, json!({ "findings": findings }))
    }
}

/// The (input, output) pairs of the ranges an operation read: itself, or the ranges of the txn
/// branch it took.
fn reads<'a>(f: &str, input: &'a Value, output: &'a Value) -> Vec<(&'a Value, &'a Value)> {
    match f {
        "range" => vec![(input, output)],
        "txn" => {
            let Some(succeeded) = output["succeeded"].as_bool() else { return Vec::new() };
            let branch = if succeeded { &input["success"] } else { &input["failure"] };
            let (Some(requests), Some(results)) = (branch.as_array(), output["results"].as_array())
            else {
                return Vec::new();
            };
            requests
                .iter()
                .zip(results)
                .filter(|(request, _)| request.get("range").is_some())
                .map(|(request, result)| (&request["range"], result))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The live keys in `[key, end)` at `revision` of the committed `events`, in key order (etcd's
/// `range_end` rules: empty is the key alone, `"\0"` is every key from `key` on).
fn range_at<'a>(events: &'a [Event], revision: i64, key: &str, end: &str) -> Vec<&'a KeyValue> {
    let mut live: BTreeMap<&[u8], Option<&KeyValue>> = BTreeMap::new();
    for event in events.iter().take_while(|event| event.revision() <= revision) {
        let kv = &event.kv;
        live.insert(kv.key.as_slice(), (event.kind == EventType::Put).then_some(kv));
    }
    let (key, end) = (key.as_bytes(), end.as_bytes());
    let within = |candidate: &[u8]| match end {
        [] => candidate == key,
        [0] => candidate >= key,
        _ => candidate >= key && candidate < end,
    };
    live.into_iter().filter(|(k, _)| within(k)).filter_map(|(_, kv)| kv).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str, create: i64, revision: i64, version: i64) -> Event {
        let kv = KeyValue {
            key: key.into(),
            create_revision: create,
            mod_revision: revision,
            version,
            value: value.into(),
            lease: 0,
        };
        Event { kind: EventType::Put, kv, prev_kv: None }
    }

    fn delete(key: &str, revision: i64) -> Event {
        let kv = KeyValue { key: key.into(), mod_revision: revision, ..Default::default() };
        Event { kind: EventType::Delete, kv, prev_kv: None }
    }

    /// `a` put at 2 and 3, `b` put at 4 and deleted at 5, `a` put at 6.
    fn committed() -> CommittedEvents {
        CommittedEvents {
            events: vec![
                put("a", "1", 2, 2, 1),
                put("a", "2", 2, 3, 2),
                put("b", "1", 4, 4, 1),
                delete("b", 5),
                put("a", "3", 2, 6, 3),
            ],
            through: 6,
            hole: None,
        }
    }

    fn read(input: Value, kvs: Vec<Value>) -> Operation {
        Operation {
            client: 1,
            call: 1.0,
            ret: Some(2.0),
            f: "range".into(),
            key: None,
            input,
            output: json!({ "kvs": kvs, "count": 0 }),
        }
    }

    fn kv(key: &str, value: &str, create: i64, revision: i64, version: i64) -> Value {
        kv_json(&put(key, value, create, revision, version).kv)
    }

    #[test]
    fn a_read_that_returns_the_state_of_its_revision_passes() {
        let history = vec![
            read(
                json!({"key": "a", "revision": 3, "serializable": true}),
                vec![kv("a", "2", 2, 3, 2)],
            ),
            read(
                json!({"key": "a", "range_end": "c", "revision": 4}),
                vec![kv("a", "2", 2, 3, 2), kv("b", "1", 4, 4, 1)],
            ),
            // b was deleted at 5.
            read(
                json!({"key": "a", "range_end": "\u{0}", "revision": 5}),
                vec![kv("a", "2", 2, 3, 2)],
            ),
            // Past what the reader saw: not judged.
            read(json!({"key": "a", "revision": 9}), vec![]),
        ];
        let verdict = judge(&history, Some(&committed()));
        assert_eq!(verdict.ok, Some(true), "{}", verdict.summary);
        assert_eq!(verdict.summary, "ok (3 reads at past revisions)");
    }

    #[test]
    fn a_read_that_misses_a_key_or_returns_a_newer_version_is_flagged() {
        // What a store restored with its compaction forgotten answers below it: a key whose old
        // versions are gone looks absent, or its newest kept version shows through.
        for wrong in [vec![], vec![kv("a", "3", 2, 6, 3)]] {
            let history = vec![read(json!({"key": "a", "revision": 3}), wrong)];
            let verdict = judge(&history, Some(&committed()));
            assert_eq!(verdict.ok, Some(false), "{}", verdict.summary);
            assert!(verdict.summary.contains("revision 3"), "{}", verdict.summary);
        }
    }

    #[test]
    fn a_history_with_a_hole_is_not_judged() {
        let mut holed = committed();
        holed.hole = Some("revisions 2..3 compacted first".into());
        let history = vec![read(json!({"key": "a", "revision": 3}), vec![])];
        assert_eq!(judge(&history, Some(&holed)).ok, None);
    }
}
