//! The simulator's `kv`, `watch`, `lease`, `queue` and `election` on real processes: each passes briefly on
//! a real detcd cluster without faults (the workload runs, records a history its checkers can
//! judge, and they judge it ok), and their checkers flag hand-made histories that break them
//! (so these runs could fail); `kv`'s also resolves an unknown put from the archive.

mod common;

use common::{chaos, out_dir, serial};
use detcd_chaos::workloads::{election, kv, lease, queue, watch};
use detcd_check::history::Operation;
use serde_json::{json, Value};

/// `scenario` on real detcd for a few seconds without faults: exit 0, every `verdicts` line
/// printed, and a non-empty history.
fn passes_without_faults(scenario: &str, verdicts: &[&str]) {
    let _one = serial();
    let out = out_dir(&format!("scenario-{scenario}"));
    let args =
        [scenario, "--binary", "detcd", "--duration", "4s", "--seed", "1", "--faults", "none"];
    let output = chaos(&args, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for verdict in verdicts {
        assert!(stdout.contains(verdict), "no '{verdict}' in:\n{stdout}");
    }
    assert!(stdout.contains("liveness: ok"), "{stdout}");
    let history = out.join(format!("{scenario}-detcd-1.history.jsonl"));
    let ops = std::fs::read_to_string(&history).expect("the history file").lines().count();
    assert!(ops > 10, "only {ops} operations in {}", history.display());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn kv_on_real_detcd_passes() {
    passes_without_faults("kv", &["linearizable (etcd model): ok"]);
}

#[test]
fn watch_on_real_detcd_passes() {
    passes_without_faults("watch", &["watch: ok", "watch archive: ok"]);
}

#[test]
fn lease_on_real_detcd_passes() {
    passes_without_faults("lease", &["lease: ok"]);
}

#[test]
fn queue_on_real_detcd_passes() {
    passes_without_faults("queue", &["queue: ok"]);
}

#[test]
fn election_on_real_detcd_passes() {
    passes_without_faults("election", &["election: ok"]);
}

fn op(
    client: u64,
    call: f64,
    ret: Option<f64>,
    f: &str,
    key: Option<&str>,
    input: Value,
    output: Value,
) -> Operation {
    Operation { client, call, ret, f: f.into(), key: key.map(str::to_string), input, output }
}

/// A lease kept alive (TTL 5, keep-alives every second) whose key a read found gone while it
/// was surely alive: `vanished`, what a follower expiring leases on its own clock causes. The
/// same history with the key present passes; a key still there long after the lease lapsed is
/// `outlived`.
#[test]
fn the_lease_checker_flags_a_vanished_key_and_one_that_outlived_its_lease() {
    let life = json!({
        "id": 7, "ttl": 5.0, "granted": 1.0, "keepalives": [2.0, 3.0, 4.0, 5.0],
        "revoke_called": null, "keys": ["l/0/1/0"], "attached": 1.1,
    });
    let input = json!({"ttl": 5, "clocks_move": false});
    let read = |call: f64, present: bool| {
        op(
            0,
            call,
            Some(call + 0.1),
            "lease-read",
            Some("l/0/1/0"),
            json!({"key": "l/0/1/0"}),
            json!({"present": present}),
        )
    };
    let recovered =
        op(4, 20.0, Some(20.0), "lease-recovered", None, Value::Null, json!({"recovered": 20.0}));
    let history = |reads: Vec<Operation>| {
        let mut ops = vec![op(0, 1.0, Some(12.0), "lease", None, input.clone(), life.clone())];
        ops.extend(reads);
        ops.push(recovered.clone());
        ops
    };
    let ok = lease::verdict(&history(vec![read(6.0, true), read(40.0, false)]));
    assert_eq!(ok.ok, Some(true), "{}", ok.summary);
    let vanished = lease::verdict(&history(vec![read(6.0, false)]));
    assert_eq!(vanished.ok, Some(false), "{}", vanished.summary);
    assert!(vanished.summary.contains("vanished"), "{}", vanished.summary);
    // Gone by max(recovered 20, last ack 5) + TTL 5 + 5 s = 30.
    let outlived = lease::verdict(&history(vec![read(31.0, true)]));
    assert_eq!(outlived.ok, Some(false), "{}", outlived.summary);
    assert!(outlived.summary.contains("outlived"), "{}", outlived.summary);
}

/// The archive must hold every revision and every acknowledged write, and the watchers are
/// judged against it: a watcher that skipped an event it was owed is a `gap`.
#[test]
fn the_watch_checkers_flag_a_gap_and_an_archive_that_lost_a_write() {
    let event = |revision: i64, value: &str| json!({"revision": revision, "key": "w/a", "kind": "put", "value": value, "prev_value": null});
    let committed = |events: Vec<Value>| {
        op(
            4,
            30.0,
            Some(30.0),
            "watch-committed",
            None,
            Value::Null,
            json!({"revision": 4, "events": events}),
        )
    };
    let put = |revision: i64, value: &str| {
        op(
            1,
            revision as f64,
            Some(revision as f64 + 0.5),
            "put",
            Some("w/a"),
            json!({"key": "w/a", "value": value}),
            json!({"revision": revision}),
        )
    };
    let watcher = |events: Vec<Value>| {
        let received: Vec<Value> =
            events.into_iter().map(|e| json!({"type": "events", "events": [e]})).collect();
        let output = json!({"key": "w/a", "start_revision": 1, "received": received});
        op(0, 0.5, Some(20.0), "watch", Some("w/a"), json!({}), output)
    };
    let all = vec![event(2, "c1-1"), event(3, "c1-2"), event(4, "c1-3")];
    let writes = vec![put(2, "c1-1"), put(3, "c1-2"), put(4, "c1-3")];

    let mut ops = writes.clone();
    ops.push(watcher(all.clone()));
    ops.push(committed(all.clone()));
    assert_eq!(watch::verdict(&ops).ok, Some(true), "{}", watch::verdict(&ops).summary);
    assert_eq!(
        watch::archive_verdict(&ops).ok,
        Some(true),
        "{}",
        watch::archive_verdict(&ops).summary
    );

    let mut ops = writes.clone();
    ops.push(watcher(vec![event(2, "c1-1"), event(4, "c1-3")]));
    ops.push(committed(all.clone()));
    let gap = watch::verdict(&ops);
    assert_eq!(gap.ok, Some(false), "{}", gap.summary);
    assert!(gap.summary.contains("gap"), "{}", gap.summary);

    let mut ops = writes;
    ops.push(committed(vec![event(2, "c1-1"), event(4, "c1-3")]));
    let lost = watch::archive_verdict(&ops);
    assert_eq!(lost.ok, Some(false), "{}", lost.summary);
    assert!(lost.summary.contains("revision 3"), "{}", lost.summary);
}

/// An acknowledged enqueue neither delivered nor left in the queue is `lost`; one delivered twice
/// is a `duplicate`.
#[test]
fn the_queue_checker_flags_a_lost_and_a_duplicated_value() {
    let enqueue = |value: &str, call: f64| {
        let item =
            json!({"client": 1, "value": value, "priority": 0, "call": call, "ret": call + 0.1});
        op(1, call, Some(call + 0.1), "enqueue", Some(value), json!({"priority": 0}), item)
    };
    let dequeue = |value: &str, call: f64| {
        let item = json!({"client": 0, "value": value, "call": call, "ret": call + 0.1});
        op(0, call, Some(call + 0.1), "dequeue", None, Value::Null, item)
    };
    let remaining =
        |values: Value| op(4, 30.0, Some(30.0), "queue-remaining", None, Value::Null, values);

    let ops = vec![
        enqueue("p1-0", 1.0),
        enqueue("p1-1", 2.0),
        dequeue("p1-0", 3.0),
        remaining(json!(["p1-1"])),
    ];
    assert_eq!(queue::verdict(&ops).ok, Some(true), "{}", queue::verdict(&ops).summary);

    let ops = vec![
        enqueue("p1-0", 1.0),
        enqueue("p1-1", 2.0),
        dequeue("p1-0", 3.0),
        remaining(json!([])),
    ];
    let lost = queue::verdict(&ops);
    assert_eq!(lost.ok, Some(false), "{}", lost.summary);
    assert!(lost.summary.contains("lost"), "{}", lost.summary);

    let ops = vec![
        enqueue("p1-0", 1.0),
        dequeue("p1-0", 3.0),
        dequeue("p1-0", 4.0),
        remaining(json!([])),
    ];
    let duplicate = queue::verdict(&ops);
    assert_eq!(duplicate.ok, Some(false), "{}", duplicate.summary);
    assert!(duplicate.summary.contains("duplicate"), "{}", duplicate.summary);
}

/// `kv`: an unknown put the archive holds is resolved as committed at its revision; a read that
/// names a value at a revision the history cannot reach is not linearizable.
#[test]
fn the_kv_checker_resolves_unknown_puts_from_the_archive_and_flags_a_bad_read() {
    let put = |client: u64, call: f64, ret: Option<f64>, value: &str, output: Value| {
        op(client, call, ret, "put", Some("k0"), json!({"key": "k0", "value": value}), output)
    };
    let read = |revision: i64, value: &str, mod_revision: i64, version: i64| {
        let kv = json!({"key": "k0", "value": value, "create_revision": 2, "mod_revision": mod_revision, "version": version, "lease": 0});
        op(
            2,
            5.0,
            Some(5.1),
            "range",
            Some("k0"),
            json!({"key": "k0"}),
            json!({"revision": revision, "kvs": [kv]}),
        )
    };
    let archive = op(
        4,
        30.0,
        Some(30.0),
        "watch-committed",
        None,
        Value::Null,
        json!({
            "revision": 3,
            "events": [
                {"revision": 2, "key": "k0", "kind": "put", "value": "c0-1", "prev_value": null},
                {"revision": 3, "key": "k0", "kind": "put", "value": "c1-1", "prev_value": "c0-1"},
            ],
        }),
    );
    let history = |last: Operation| {
        vec![
            put(0, 1.0, Some(1.1), "c0-1", json!({"revision": 2})),
            put(1, 2.0, None, "c1-1", Value::Null),
            last,
            archive.clone(),
        ]
    };
    let ok = kv::verdict(&history(read(3, "c1-1", 3, 2)));
    assert_eq!(ok.ok, Some(true), "{}", ok.summary);
    assert!(ok.summary.contains("1 committed"), "{}", ok.summary);
    let bad = kv::verdict(&history(read(2, "c1-1", 3, 2)));
    assert_eq!(bad.ok, Some(false), "{}", bad.summary);
    assert!(bad.summary.contains("NOT LINEARIZABLE"), "{}", bad.summary);
}

/// Terms of one election: a leader elected while another still led is `single_leader`; a new
/// leader whose key is not newer than the last one's is `revision_order`. Campaigns that were
/// refused (no term in their output) are not terms.
#[test]
fn the_election_checker_flags_two_leaders_at_once_and_a_revision_going_back() {
    let term = |client: u64, revision: i64, elected: f64, ended: f64| {
        let output = json!({
            "election": "election", "client": client, "revision": revision,
            "elected": elected, "ended": ended,
        });
        let input = json!({"value": format!("c{client}"), "through": "recipe"});
        op(client, elected - 0.5, Some(ended + 0.1), "term", Some("election"), input, output)
    };
    let refused = op(
        3,
        1.0,
        Some(9.0),
        "term",
        Some("election"),
        json!({"value": "c3", "through": "election service"}),
        json!({"error": "gave up campaigning (Election service)"}),
    );

    let ok = election::verdict(&[term(0, 5, 1.0, 2.0), term(1, 8, 2.5, 3.0), refused.clone()]);
    assert_eq!(ok.ok, Some(true), "{}", ok.summary);
    assert!(ok.summary.contains("2 terms"), "{}", ok.summary);

    let two = election::verdict(&[term(0, 5, 1.0, 3.0), term(1, 8, 2.5, 4.0), refused]);
    assert_eq!(two.ok, Some(false), "{}", two.summary);
    assert!(two.summary.contains("single_leader"), "{}", two.summary);

    let back = election::verdict(&[term(0, 8, 1.0, 2.0), term(1, 5, 2.5, 3.0)]);
    assert_eq!(back.ok, Some(false), "{}", back.summary);
    assert!(back.summary.contains("revision_order"), "{}", back.summary);
}
