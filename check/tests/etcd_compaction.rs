//! The etcd model's compaction and historical reads, as a specification: each test states one
//! rule of etcd's `Compact` and of reads at a past revision, with a history that keeps it and
//! (where it can be broken) one that breaks it.
//!
//! Every history starts from a store at revision 1; `put a` at revision 2 and so on. Error texts
//! are the ones `detcd_core::Error` prints (and etcd's clients recognise).

use detcd_check::jsonl;
use detcd_check::linearizability::{check, Options, Verdict};
use detcd_check::models::etcd::Etcd;

const COMPACTED: &str = "etcdserver: mvcc: required revision has been compacted";
const FUTURE: &str = "etcdserver: mvcc: required revision is a future revision";

fn verdict(text: &str) -> Verdict {
    let history = jsonl::parse("test", text).expect("valid test history");
    check(&Etcd, &history, Options::default()).expect("decodable history")
}

fn linearizable(text: &str) -> bool {
    match verdict(text) {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable(_) => false,
        Verdict::Unknown => panic!("no budget was set"),
    }
}

/// `a` written at 2 and 3, `b` written at 4 and deleted at 5, `a` written again at 6: then the
/// lines of `rest`, one operation each, sequential after the writes.
fn after_writes(rest: &[String]) -> String {
    let mut lines = vec![
        r#"{"client":0,"call":0,"return":1,"f":"put","input":{"key":"a","value":"1"},"output":{"revision":2}}"#.to_string(),
        r#"{"client":0,"call":2,"return":3,"f":"put","input":{"key":"a","value":"2"},"output":{"revision":3}}"#.to_string(),
        r#"{"client":0,"call":4,"return":5,"f":"put","input":{"key":"b","value":"1"},"output":{"revision":4}}"#.to_string(),
        r#"{"client":0,"call":6,"return":7,"f":"delete","input":{"key":"b"},"output":{"revision":5,"deleted":1}}"#.to_string(),
        r#"{"client":0,"call":8,"return":9,"f":"put","input":{"key":"a","value":"3"},"output":{"revision":6}}"#.to_string(),
    ];
    for (i, op) in rest.iter().enumerate() {
        let (call, ret) = (10 + 2 * i, 11 + 2 * i);
        lines.push(format!(r#"{{"client":0,"call":{call},"return":{ret},{op}}}"#));
    }
    lines.join("\n")
}

fn compact(revision: i64, output: &str) -> String {
    format!(r#""f":"compact","input":{{"revision":{revision}}},"output":{output}"#)
}

fn get(input: &str, output: &str) -> String {
    format!(r#""f":"range","input":{input},"output":{output}"#)
}

fn error(text: &str) -> String {
    format!(r#"{{"error":"{text}"}}"#)
}

const A_AT_3: &str = r#"{"revision":6,"kvs":[{"key":"a","value":"2","create_revision":2,"mod_revision":3,"version":2}],"count":1}"#;

#[test]
fn a_compaction_succeeds_between_the_last_one_and_the_store_revision_and_keeps_the_revision() {
    assert!(linearizable(&after_writes(&[compact(4, r#"{"revision":6}"#)])));
    assert!(linearizable(&after_writes(&[compact(6, r#"{"revision":6}"#)])), "at the newest");
    assert!(linearizable(&after_writes(&[compact(5, "{}")])), "at a delete");
    // A compaction is not a write: reporting it at a new revision is wrong.
    assert!(!linearizable(&after_writes(&[compact(4, r#"{"revision":7}"#)])));
    // And the next write still takes the next revision.
    let then_put = r#""f":"put","input":{"key":"c","value":"1"},"output":{"revision":7}"#;
    assert!(linearizable(&after_writes(&[compact(6, "{}"), then_put.into()])));
}

#[test]
fn compacting_at_or_below_the_compact_revision_is_refused_as_compacted() {
    for again in [4, 3, 0] {
        let refused = [compact(4, "{}"), compact(again, &error(COMPACTED))];
        assert!(linearizable(&after_writes(&refused)), "compact {again} after 4");
        let accepted = [compact(4, "{}"), compact(again, "{}")];
        assert!(!linearizable(&after_writes(&accepted)), "compact {again} after 4 succeeded");
    }
    // With nothing compacted yet, a compaction at 2 is no repeat.
    assert!(!linearizable(&after_writes(&[compact(2, &error(COMPACTED))])));
}

#[test]
fn compacting_above_the_store_revision_is_refused_as_a_future_revision() {
    assert!(linearizable(&after_writes(&[compact(7, &error(FUTURE))])));
    assert!(!linearizable(&after_writes(&[compact(7, "{}")])));
    assert!(!linearizable(&after_writes(&[compact(6, &error(FUTURE))])), "6 is the present");
}

#[test]
fn a_read_at_the_compact_revision_answers_and_below_it_is_refused() {
    let at = get(r#"{"key":"a","revision":4}"#, A_AT_3);
    assert!(linearizable(&after_writes(&[compact(4, "{}"), at.clone()])));
    let below = get(r#"{"key":"a","revision":3}"#, &error(COMPACTED));
    assert!(linearizable(&after_writes(&[compact(4, "{}"), at, below])));
}

#[test]
fn a_compacted_error_at_the_compact_revision_itself_is_a_violation() {
    let at = get(r#"{"key":"a","revision":4}"#, &error(COMPACTED));
    assert!(!linearizable(&after_writes(&[compact(4, "{}"), at])));
    let above = get(r#"{"key":"a","revision":5}"#, &error(COMPACTED));
    assert!(!linearizable(&after_writes(&[compact(4, "{}"), above])));
    let never_compacted = get(r#"{"key":"a","revision":2}"#, &error(COMPACTED));
    assert!(!linearizable(&after_writes(&[never_compacted])));
}

#[test]
fn a_result_below_the_compact_revision_is_a_violation() {
    let below = get(r#"{"key":"a","revision":3}"#, A_AT_3);
    assert!(
        linearizable(&after_writes(std::slice::from_ref(&below))),
        "fine before the compaction"
    );
    assert!(!linearizable(&after_writes(&[compact(4, "{}"), below])));
}

#[test]
fn a_compacted_error_must_name_the_compact_revision_when_it_names_one() {
    let named = |c: i64| {
        get(
            r#"{"key":"a","revision":2}"#,
            &format!(r#"{{"error":"{COMPACTED}","compact_revision":{c}}}"#),
        )
    };
    assert!(linearizable(&after_writes(&[compact(4, "{}"), named(4)])));
    assert!(!linearizable(&after_writes(&[compact(4, "{}"), named(3)])));
}

#[test]
fn a_read_above_the_store_revision_is_refused_as_a_future_revision() {
    let future = get(r#"{"key":"a","revision":7}"#, &error(FUTURE));
    assert!(linearizable(&after_writes(&[future])));
    let answered = get(r#"{"key":"a","revision":7}"#, r#"{"revision":6,"kvs":[]}"#);
    assert!(!linearizable(&after_writes(&[answered])));
    let present = get(r#"{"key":"a","revision":6}"#, &error(FUTURE));
    assert!(!linearizable(&after_writes(&[present])));
}

#[test]
fn other_errors_of_a_historical_read_or_a_compaction_are_refusals_without_effect() {
    let no_leader = error("etcdserver: no leader");
    let read = get(r#"{"key":"a","revision":2}"#, &no_leader);
    assert!(linearizable(&after_writes(&[compact(4, &no_leader), read, compact(3, "{}")])));
}

#[test]
fn a_txn_with_a_range_below_the_compaction_fails_as_a_whole() {
    let txn = |output: &str| {
        format!(
            r#""f":"txn","input":{{"compare":[],"success":[{{"range":{{"key":"a","revision":3}}}},{{"put":{{"key":"c","value":"1"}}}}],"failure":[]}},"output":{output}"#
        )
    };
    let c_absent = get(r#"{"key":"c"}"#, r#"{"revision":6,"kvs":[]}"#);
    let refused = [compact(4, "{}"), txn(&error(COMPACTED)), c_absent.clone()];
    assert!(linearizable(&after_writes(&refused)));
    let answered = [compact(4, "{}"), txn(r#"{"revision":7,"succeeded":true}"#)];
    assert!(!linearizable(&after_writes(&answered)), "the txn should have failed");
    // Before the compaction the same txn reads the past and writes.
    let ok =
        txn(r#"{"revision":7,"succeeded":true,"results":[{"kvs":[{"key":"a","value":"2"}]},{}]}"#);
    assert!(linearizable(&after_writes(&[ok])));
    // Only the branch the compares choose is checked: a compacted range in the other is no refusal.
    let other_branch = r#""f":"txn","input":{"compare":[{"key":"a","target":"version","result":"equal","value":3}],"success":[{"range":{"key":"a"}}],"failure":[{"range":{"key":"a","revision":2}}]},"output":{"error":"etcdserver: mvcc: required revision has been compacted"}"#;
    assert!(!linearizable(&after_writes(&[compact(4, "{}"), other_branch.into()])));
}

#[test]
fn a_past_read_returns_what_the_present_implies_about_the_past() {
    // At 4: a (created 2) at version 2 from revision 3; b (created 4) live.
    let ok = r#"{"revision":6,"kvs":[{"key":"a","value":"2","create_revision":2,"mod_revision":3,"version":2},{"key":"b","value":"1","create_revision":4,"mod_revision":4,"version":1}],"count":2}"#;
    let prefix = r#"{"key":"a","range_end":"c","revision":4}"#;
    assert!(linearizable(&after_writes(&[get(prefix, ok)])));
    // `a` lived in one generation since 2, so it was there at 4: leaving it out is wrong.
    let without_a = r#"{"revision":6,"kvs":[{"key":"b","value":"1","mod_revision":4}],"count":1}"#;
    assert!(!linearizable(&after_writes(&[get(prefix, without_a)])));
    // Its version at 4 was older than its version now (3), in the same generation.
    let a_now = r#"{"revision":6,"kvs":[{"key":"a","value":"3","create_revision":2,"mod_revision":6,"version":3}]}"#;
    assert!(!linearizable(&after_writes(&[get(r#"{"key":"a","revision":4}"#, a_now)])));
    // Nothing returned may have been written after the revision read.
    let late = r#"{"revision":6,"kvs":[{"key":"b","value":"1","mod_revision":5}]}"#;
    assert!(!linearizable(&after_writes(&[get(r#"{"key":"b","revision":4}"#, late)])));
}

#[test]
fn a_past_read_of_a_key_unchanged_since_is_judged_exactly() {
    let put_c = r#""f":"put","input":{"key":"c","value":"x"},"output":{"revision":7}"#;
    let put_d = r#""f":"put","input":{"key":"d","value":"y"},"output":{"revision":8}"#;
    let read = |output: &str| get(r#"{"key":"c","revision":7}"#, output);
    let right = r#"{"revision":8,"kvs":[{"key":"c","value":"x","create_revision":7,"mod_revision":7,"version":1}]}"#;
    assert!(linearizable(&after_writes(&[put_c.into(), put_d.into(), read(right)])));
    let wrong = r#"{"revision":8,"kvs":[{"key":"c","value":"z","create_revision":7,"mod_revision":7,"version":1}]}"#;
    assert!(!linearizable(&after_writes(&[put_c.into(), put_d.into(), read(wrong)])));
    let missing = r#"{"revision":8,"kvs":[]}"#;
    assert!(!linearizable(&after_writes(&[put_c.into(), put_d.into(), read(missing)])));
}

#[test]
fn a_read_at_the_store_revision_is_judged_like_a_current_read() {
    let right = r#"{"revision":6,"kvs":[{"key":"a","value":"3","create_revision":2,"mod_revision":6,"version":3}]}"#;
    assert!(linearizable(&after_writes(&[get(r#"{"key":"a","revision":6}"#, right)])));
    let b_deleted = r#"{"revision":6,"kvs":[{"key":"b","value":"1","mod_revision":4}]}"#;
    assert!(!linearizable(&after_writes(&[get(r#"{"key":"b","revision":6}"#, b_deleted)])));
}

#[test]
fn an_unknown_compaction_may_have_happened_or_not() {
    let unknown = r#""f":"compact","input":{"revision":4},"output":null"#;
    let refused = get(r#"{"key":"a","revision":3}"#, &error(COMPACTED));
    let answered = get(r#"{"key":"a","revision":3}"#, A_AT_3);
    // The unknown compaction is left open (no return): later reads decide it either way.
    let open = |read: &str| {
        let mut history = after_writes(&[read.to_string()]);
        history.push_str(&format!("\n{{\"client\":1,\"call\":9.5,{unknown}}}"));
        history
    };
    assert!(linearizable(&open(&refused)));
    assert!(linearizable(&open(&answered)));
    // But it cannot explain a refusal of a read it did not reach.
    let at_4 = get(r#"{"key":"a","revision":4}"#, &error(COMPACTED));
    assert!(!linearizable(&open(&at_4)));
}

#[test]
fn a_read_concurrent_with_a_compaction_may_see_it_or_not() {
    let base = after_writes(&[]);
    let concurrent = |read_output: &str| {
        format!(
            "{base}\n{{\"client\":1,\"call\":10,\"return\":20,{}}}\n{{\"client\":2,\"call\":11,\"return\":19,{}}}",
            compact(4, "{}"),
            get(r#"{"key":"a","revision":3}"#, read_output)
        )
    };
    assert!(linearizable(&concurrent(&error(COMPACTED))));
    assert!(linearizable(&concurrent(A_AT_3)));
    // Once the compaction returned, a later read cannot miss it.
    let after = format!(
        "{base}\n{{\"client\":1,\"call\":10,\"return\":11,{}}}\n{{\"client\":2,\"call\":12,\"return\":13,{}}}",
        compact(4, "{}"),
        get(r#"{"key":"a","revision":3}"#, A_AT_3)
    );
    assert!(!linearizable(&after));
}

#[test]
fn a_serializable_read_at_a_past_revision_may_answer_or_be_refused_whatever_the_compaction() {
    // A member that has not applied the compaction yet still answers below it; one that has not
    // reached a revision refuses it as future: both fit, because a serializable read is served
    // from one member's replica. (The simulator judges their answers against its committed
    // history instead: scenarios' `past_reads`.)
    let below = r#"{"key":"a","revision":3,"serializable":true}"#;
    let answered = r#"{"kvs":[{"key":"a","value":"2","create_revision":2,"mod_revision":3,"version":2}],"count":1}"#;
    assert!(linearizable(&after_writes(&[compact(5, r#"{"revision":6}"#), get(below, answered)])));
    assert!(linearizable(&after_writes(&[get(below, &error(FUTURE))])));
    // The same read, linearizable, must be refused as compacted.
    let linearizable_below = r#"{"key":"a","revision":3}"#;
    assert!(!linearizable(&after_writes(&[
        compact(5, r#"{"revision":6}"#),
        get(linearizable_below, answered)
    ])));
}
