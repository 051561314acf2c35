//! Hand-written histories for every model: linearizable ones (including tricky unknown
//! outcomes) and violations, plus generated histories (proptest).

use detcd_check::generate::{self, Shape};
use detcd_check::history::History;
use detcd_check::jsonl;
use detcd_check::linearizability::{check, Budget, Model, Options, Verdict};
use detcd_check::models::{etcd::Etcd, kv::Kv, register::Register};
use proptest::prelude::*;

fn history(text: &str) -> History {
    jsonl::parse("test", text).expect("valid test history")
}

fn verdict<M: Model>(model: &M, text: &str) -> Verdict {
    check(model, &history(text), Options::default()).expect("decodable history")
}

fn linearizable<M: Model>(model: &M, text: &str) -> bool {
    match verdict(model, text) {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable(_) => false,
        Verdict::Unknown => panic!("no budget was set"),
    }
}

// ---- register ----

#[test]
fn register_sequential_ok() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"write","input":1}
{"client":0,"call":2,"return":3,"f":"read","output":1}
{"client":0,"call":4,"return":5,"f":"cas","input":[1,2],"output":true}
{"client":0,"call":6,"return":7,"f":"cas","input":[1,3],"output":false}
{"client":0,"call":8,"return":9,"f":"read","output":2}
"#;
    assert!(linearizable(&Register, h));
}

#[test]
fn register_initial_read_is_null() {
    assert!(linearizable(
        &Register,
        r#"{"client":0,"call":0,"return":1,"f":"read","output":null}"#
    ));
    assert!(!linearizable(&Register, r#"{"client":0,"call":0,"return":1,"f":"read","output":0}"#));
}

#[test]
fn register_stale_read_is_caught() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"write","input":1}
{"client":1,"call":2,"return":3,"f":"write","input":2}
{"client":2,"call":4,"return":5,"f":"read","output":1}
"#;
    let Verdict::NotLinearizable(violation) = verdict(&Register, h) else {
        panic!("stale read passed")
    };
    assert_eq!(violation.stuck, 2);
    assert_eq!(violation.longest.iter().map(|s| s.op).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(violation.state, "2");
    assert_eq!(violation.window, vec![2]);
}

#[test]
fn register_concurrent_reads_may_see_either_order() {
    // The write overlaps both reads: one sees the old value, one the new; fine in either order.
    let h = r#"
{"client":0,"call":0,"return":10,"f":"write","input":1}
{"client":1,"call":1,"return":2,"f":"read","output":1}
{"client":2,"call":3,"return":4,"f":"read","output":null}
"#;
    // read null after a read of 1 (real-time ordered) is not possible.
    assert!(!linearizable(&Register, h));
    let h = r#"
{"client":0,"call":0,"return":10,"f":"write","input":1}
{"client":1,"call":1,"return":2,"f":"read","output":null}
{"client":2,"call":3,"return":4,"f":"read","output":1}
"#;
    assert!(linearizable(&Register, h));
}

#[test]
fn register_unknown_write_may_take_effect_late() {
    // The unknown write of 2 was called at 0.5; a read long after sees it.
    let h = r#"
{"client":0,"call":0,"return":1,"f":"write","input":1}
{"client":1,"call":0.5,"return":null,"f":"write","input":2}
{"client":2,"call":2,"return":3,"f":"read","output":1}
{"client":2,"call":100,"return":101,"f":"read","output":2}
"#;
    assert!(linearizable(&Register, h));
}

#[test]
fn register_unknown_write_may_never_happen() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"write","input":1}
{"client":1,"call":0.5,"return":null,"f":"write","input":2}
{"client":2,"call":2,"return":3,"f":"read","output":1}
{"client":2,"call":100,"return":101,"f":"read","output":1}
"#;
    assert!(linearizable(&Register, h));
}

#[test]
fn register_unknown_write_cannot_take_effect_before_its_call() {
    let h = r#"
{"client":2,"call":0,"return":1,"f":"read","output":2}
{"client":1,"call":5,"return":null,"f":"write","input":2}
"#;
    assert!(!linearizable(&Register, h));
}

#[test]
fn register_unknown_write_takes_effect_once() {
    // Seen, then overwritten, then seen again: a single unknown write cannot explain it.
    let h = r#"
{"client":1,"call":0,"return":null,"f":"write","input":2}
{"client":2,"call":1,"return":2,"f":"read","output":2}
{"client":0,"call":3,"return":4,"f":"write","input":1}
{"client":2,"call":5,"return":6,"f":"read","output":2}
"#;
    assert!(!linearizable(&Register, h));
}

#[test]
fn register_failed_cas_is_a_read() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"write","input":1}
{"client":1,"call":2,"return":3,"f":"cas","input":[1,2],"output":false}
"#;
    assert!(!linearizable(&Register, h), "cas on 1 with value 1 cannot fail");
}

#[test]
fn register_unknown_cas_may_or_may_not_swap() {
    let swapped = r#"
{"client":0,"call":0,"return":1,"f":"write","input":1}
{"client":1,"call":2,"return":null,"f":"cas","input":[1,2]}
{"client":2,"call":3,"return":4,"f":"read","output":2}
"#;
    let not_swapped = swapped.replace(r#""output":2"#, r#""output":1"#);
    assert!(linearizable(&Register, swapped));
    assert!(linearizable(&Register, &not_swapped));
}

// ---- kv ----

#[test]
fn kv_append_order_must_match() {
    let ok = r#"
{"client":0,"call":0,"return":5,"f":"append","key":"x","input":"a"}
{"client":1,"call":1,"return":6,"f":"append","key":"x","input":"b"}
{"client":2,"call":7,"return":8,"f":"get","key":"x","output":"ba"}
{"client":2,"call":9,"return":10,"f":"get","key":"y","output":null}
"#;
    assert!(linearizable(&Kv::default(), ok));
    assert!(linearizable(&Kv { partitioned: false }, ok));
    let lost = ok.replace(r#""output":"ba""#, r#""output":"b""#);
    assert!(!linearizable(&Kv::default(), &lost), "an acknowledged append was lost");
}

#[test]
fn kv_keys_are_independent() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"put","key":"x","input":"1"}
{"client":0,"call":2,"return":3,"f":"put","key":"y","input":"2"}
{"client":1,"call":4,"return":5,"f":"get","key":"x","output":"1"}
{"client":1,"call":6,"return":7,"f":"get","key":"y","output":"1"}
"#;
    let Verdict::NotLinearizable(violation) = verdict(&Kv::default(), h) else { panic!("passed") };
    assert_eq!(violation.partition.as_deref(), Some("y"));
    assert_eq!(violation.stuck, 3);
}

#[test]
fn kv_read_of_unknown_put() {
    let h = r#"
{"client":0,"call":0,"return":null,"f":"put","key":"x","input":"v"}
{"client":1,"call":10,"return":11,"f":"get","key":"x","output":"v"}
{"client":1,"call":12,"return":13,"f":"get","key":"x","output":"v"}
"#;
    assert!(linearizable(&Kv::default(), h));
}

#[test]
fn kv_parallel_and_serial_agree() {
    let mut random = rand_source(7);
    let shape = Shape { clients: 20, ops: 600, keys: 6, window: 10.0, unknown: 0.05 };
    let mut h = generate::kv(shape, &mut random);
    let serial = Options { parallel: false, ..Options::default() };
    let parallel = Options { parallel: true, ..Options::default() };
    assert_eq!(check(&Kv::default(), &h, serial).unwrap(), Verdict::Linearizable);
    assert_eq!(check(&Kv::default(), &h, parallel).unwrap(), Verdict::Linearizable);
    generate::corrupt_read(&mut h, 300);
    let a = check(&Kv::default(), &h, serial).unwrap();
    let b = check(&Kv::default(), &h, parallel).unwrap();
    assert!(matches!(a, Verdict::NotLinearizable(_)));
    assert_eq!(a, b, "the same partition is reported whatever the threads do");
}

// ---- budget ----

#[test]
fn budget_gives_unknown() {
    let mut random = rand_source(3);
    let shape = Shape { clients: 30, ops: 1500, keys: 1, window: 40.0, unknown: 0.0 };
    let mut h = generate::kv(shape, &mut random);
    generate::corrupt_read(&mut h, 1400);
    let options =
        Options { budget: Budget { max_steps: Some(2000), deadline: None }, parallel: false };
    assert_eq!(check(&Kv::default(), &h, options).unwrap(), Verdict::Unknown);
}

// ---- etcd ----

#[test]
fn etcd_revisions_and_txn() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"put","input":{"key":"a","value":"1"},"output":{"revision":2}}
{"client":1,"call":2,"return":3,"f":"txn","input":{"compare":[{"key":"a","target":"mod","result":"equal","value":2}],"success":[{"put":{"key":"a","value":"2"}},{"put":{"key":"b","value":"x"}}],"failure":[{"range":{"key":"a"}}]},"output":{"revision":3,"succeeded":true,"results":[{},{}]}}
{"client":0,"call":4,"return":5,"f":"range","input":{"key":"a","range_end":"c"},"output":{"revision":3,"kvs":[{"key":"a","value":"2","create_revision":2,"mod_revision":3,"version":2},{"key":"b","value":"x","create_revision":3,"mod_revision":3,"version":1}],"count":2}}
{"client":1,"call":6,"return":7,"f":"delete","input":{"key":"zzz"},"output":{"revision":3,"deleted":0}}
{"client":1,"call":8,"return":9,"f":"txn","input":{"compare":[{"key":"a","target":"value","result":"equal","value":"1"}],"success":[],"failure":[{"range":{"key":"a"}}]},"output":{"revision":3,"succeeded":false,"results":[{"kvs":[{"key":"a","value":"2"}]}]}}
{"client":1,"call":10,"return":11,"f":"delete","input":{"key":"a","range_end":"\u0000"},"output":{"revision":4,"deleted":2}}
"#;
    assert!(linearizable(&Etcd, h));
}

#[test]
fn etcd_header_revision_is_checked() {
    // The put produced revision 2; a later read claiming revision 1 is a stale read.
    let h = r#"
{"client":0,"call":0,"return":1,"f":"put","input":{"key":"a","value":"1"},"output":{"revision":2}}
{"client":1,"call":2,"return":3,"f":"range","input":{"key":"b"},"output":{"revision":1,"kvs":[]}}
"#;
    assert!(!linearizable(&Etcd, h));
    // Two puts cannot both produce revision 2.
    let h = r#"
{"client":0,"call":0,"return":1,"f":"put","input":{"key":"a","value":"1"},"output":{"revision":2}}
{"client":1,"call":0,"return":1,"f":"put","input":{"key":"b","value":"1"},"output":{"revision":2}}
"#;
    assert!(!linearizable(&Etcd, h));
}

#[test]
fn etcd_txn_that_should_have_failed() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"put","input":{"key":"lock","value":"a"},"output":{"revision":2}}
{"client":1,"call":2,"return":3,"f":"txn","input":{"compare":[{"key":"lock","target":"create","result":"equal","value":0}],"success":[{"put":{"key":"lock","value":"b"}}],"failure":[]},"output":{"revision":3,"succeeded":true,"results":[{}]}}
"#;
    assert!(!linearizable(&Etcd, h));
}

#[test]
fn etcd_lease_revoke_deletes_attached_keys() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"lease_grant","input":{"id":7,"ttl":5},"output":{"revision":1}}
{"client":0,"call":2,"return":3,"f":"put","input":{"key":"a","value":"1","lease":7},"output":{"revision":2}}
{"client":0,"call":4,"return":5,"f":"put","input":{"key":"b","value":"1"},"output":{"revision":3}}
{"client":1,"call":6,"return":7,"f":"lease_revoke","input":{"id":7},"output":{"revision":4}}
{"client":1,"call":8,"return":9,"f":"range","input":{"key":"a","range_end":"z"},"output":{"revision":4,"kvs":[{"key":"b","value":"1"}]}}
{"client":1,"call":10,"return":11,"f":"put","input":{"key":"c","value":"1","lease":7},"output":{"error":"etcdserver: requested lease not found"}}
"#;
    assert!(linearizable(&Etcd, h));
    let kept = h.replace(
        r#"[{"key":"b","value":"1"}]"#,
        r#"[{"key":"a","value":"1"},{"key":"b","value":"1"}]"#,
    );
    assert!(!linearizable(&Etcd, &kept), "a key of a revoked lease survived");
    let wrongly_missing = r#"
{"client":0,"call":0,"return":1,"f":"lease_grant","input":{"id":7,"ttl":5},"output":{}}
{"client":0,"call":2,"return":3,"f":"put","input":{"key":"a","value":"1","lease":7},"output":{"error":"etcdserver: requested lease not found"}}
"#;
    assert!(!linearizable(&Etcd, wrongly_missing));
}

#[test]
fn etcd_unknown_put_seen_late() {
    let h = r#"
{"client":0,"call":0,"return":null,"f":"put","input":{"key":"a","value":"1"}}
{"client":1,"call":5,"return":6,"f":"range","input":{"key":"a"},"output":{"revision":1,"kvs":[]}}
{"client":1,"call":7,"return":8,"f":"range","input":{"key":"a"},"output":{"revision":2,"kvs":[{"key":"a","value":"1","version":1}]}}
"#;
    assert!(linearizable(&Etcd, h));
}

#[test]
fn decode_errors_name_the_operation() {
    let h = history(r#"{"client":0,"call":0,"return":1,"f":"frobnicate"}"#);
    let error = check(&Register, &h, Options::default()).unwrap_err();
    assert!(error.to_string().contains("frobnicate"), "{error}");
}

// ---- generated ----

fn rand_source(seed: u64) -> impl FnMut() -> u64 {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    move || rng.next_u64()
}

/// The generated histories CI checks: a fixed proptest seed unless `PROPTEST_RNG_SEED` names
/// another, so a failure replays. The searches have no budget here: a draw that runs long is a
/// finding (most random seeds once drew a kv history whose search ran for minutes; see
/// `kv_unobserved_unknown_writes_do_not_explode`).
fn generated_config() -> ProptestConfig {
    let mut config = ProptestConfig { cases: 32, ..ProptestConfig::default() };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x6e6e_5eed);
    }
    config
}

proptest! {
    #![proptest_config(generated_config())]

    #[test]
    fn generated_register_histories_are_linearizable(seed: u64, clients in 1usize..8, window in 0.5f64..6.0) {
        let shape = Shape { clients, ops: 120, keys: 1, window, unknown: 0.1 };
        let h = generate::register(shape, &mut rand_source(seed));
        prop_assert_eq!(check(&Register, &h, Options::default()).unwrap(), Verdict::Linearizable);
    }

    #[test]
    fn corrupted_register_histories_are_not(seed: u64, clients in 1usize..8, window in 0.5f64..6.0, at in 0usize..120) {
        let shape = Shape { clients, ops: 120, keys: 1, window, unknown: 0.1 };
        let mut h = generate::register(shape, &mut rand_source(seed));
        prop_assume!(generate::corrupt_read(&mut h, at).is_some());
        prop_assert!(matches!(check(&Register, &h, Options::default()).unwrap(), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn generated_kv_histories_are_linearizable(seed: u64, clients in 1usize..12, keys in 1usize..5, window in 0.5f64..8.0) {
        let shape = Shape { clients, ops: 200, keys, window, unknown: 0.1 };
        let h = generate::kv(shape, &mut rand_source(seed));
        prop_assert_eq!(check(&Kv::default(), &h, Options::default()).unwrap(), Verdict::Linearizable);
        prop_assert_eq!(check(&Kv { partitioned: false }, &h, Options::default()).unwrap(), Verdict::Linearizable);
    }

    #[test]
    fn corrupted_kv_histories_are_not(seed: u64, clients in 1usize..7, keys in 1usize..5, at in 0usize..150) {
        // Few unknown outcomes: proving a violation must try every subset of them, in every order.
        let shape = Shape { clients, ops: 150, keys, window: 3.0, unknown: 0.02 };
        let mut h = generate::kv(shape, &mut rand_source(seed));
        prop_assume!(generate::corrupt_read(&mut h, at).is_some());
        prop_assert!(matches!(check(&Kv::default(), &h, Options::default()).unwrap(), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn generated_etcd_histories_are_linearizable(seed: u64, clients in 1usize..8, keys in 1usize..4, window in 0.5f64..5.0) {
        let shape = Shape { clients, ops: 120, keys, window, unknown: 0.1 };
        let h = generate::etcd(shape, &mut rand_source(seed));
        prop_assert_eq!(check(&Etcd, &h, Options::default()).unwrap(), Verdict::Linearizable);
    }

    #[test]
    fn corrupted_etcd_histories_are_not(seed: u64, clients in 1usize..8, keys in 1usize..4, at in 0usize..120) {
        let shape = Shape { clients, ops: 120, keys, window: 3.0, unknown: 0.1 };
        let mut h = generate::etcd(shape, &mut rand_source(seed));
        prop_assume!(generate::corrupt_read(&mut h, at).is_some());
        prop_assert!(matches!(check(&Etcd, &h, Options::default()).unwrap(), Verdict::NotLinearizable(_)));
    }
}

#[test]
fn etcd_range_options() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"put","input":{"key":"a","value":"1"},"output":{"revision":2}}
{"client":0,"call":2,"return":3,"f":"put","input":{"key":"b","value":"2"},"output":{"revision":3}}
{"client":1,"call":4,"return":5,"f":"range","input":{"key":"a","range_end":"\u0000","limit":1},"output":{"revision":3,"kvs":[{"key":"a","value":"1"}],"count":2}}
{"client":1,"call":6,"return":7,"f":"range","input":{"key":"a","range_end":"c","keys_only":true},"output":{"revision":3,"kvs":[{"key":"a","value":""},{"key":"b","value":""}]}}
{"client":1,"call":8,"return":9,"f":"range","input":{"key":"a","revision":2},"output":{"revision":3,"kvs":[{"key":"a","value":"1","mod_revision":2}]}}
{"client":1,"call":10,"return":11,"f":"put","input":{"key":"a","value":"3","prev_kv":true},"output":{"revision":4,"prev_kv":{"key":"a","value":"1","version":1}}}
"#;
    assert!(linearizable(&Etcd, h));
    let wrong_count = h.replace(r#""count":2"#, r#""count":1"#);
    assert!(!linearizable(&Etcd, &wrong_count));
    // `a` was put at 2 and is unchanged since: a read at 2 must find it (it passed unjudged
    // before the model judged historical reads).
    let wrong_past =
        h.replace(r#""kvs":[{"key":"a","value":"1","mod_revision":2}]"#, r#""kvs":[]"#);
    assert!(!linearizable(&Etcd, &wrong_past));
    let wrong_prev =
        h.replace(r#""prev_kv":{"key":"a","value":"1","version":1}"#, r#""prev_kv":null"#);
    assert!(!linearizable(&Etcd, &wrong_prev));
}

/// The smallest history found among the draws of `generated_kv_histories_are_linearizable` on
/// which the search ran for minutes: five timed-out writes whose effect no read shows, a
/// timed-out put that a read proves took effect, four appends after it. Each unobserved write
/// changes the value, so the memo told none of the orders apart, and the search tried them all
/// in every order. Now they are dropped before the search (`Model::unobserved`); the budget
/// below is far under what the search took without that.
#[test]
fn kv_unobserved_unknown_writes_do_not_explode() {
    let h = r#"
{"client":3,"call":75.80,"return":null,"f":"append","key":"k0","input":"x76y"}
{"client":1,"call":97.56,"return":null,"f":"append","key":"k0","input":"x97y"}
{"client":3,"call":98.97,"return":null,"f":"append","key":"k0","input":"x98y"}
{"client":0,"call":122.75,"return":null,"f":"append","key":"k0","input":"x123y"}
{"client":0,"call":156.59,"return":null,"f":"put","key":"k0","input":"x157y"}
{"client":4,"call":170.07,"return":null,"f":"put","key":"k0","input":"x170y"}
{"client":2,"call":170.78,"return":173.87,"f":"append","key":"k0","input":"x171y"}
{"client":0,"call":171.85,"return":173.08,"f":"append","key":"k0","input":"x172y"}
{"client":1,"call":171.89,"return":176.30,"f":"append","key":"k0","input":"x173y"}
{"client":2,"call":174.96,"return":175.47,"f":"append","key":"k0","input":"x174y"}
{"client":3,"call":175.09,"return":177.54,"f":"get","key":"k0","output":"x170yx171yx172yx173yx174y"}
"#;
    let budget =
        Options { budget: Budget { max_steps: Some(10_000), deadline: None }, parallel: false };
    for model in [Kv::default(), Kv { partitioned: false }] {
        assert_eq!(check(&model, &history(h), budget).unwrap(), Verdict::Linearizable);
    }
    // Observed, the put and the appends still decide: a read of an impossible order fails
    // (the append of x174y was called after those of x171y and x172y returned).
    let swapped = h.replace("x170yx171yx172yx173yx174y", "x170yx174yx171yx172yx173y");
    assert!(!linearizable(&Kv::default(), &swapped));
}

/// Appends of fifty clients in a wrong order are refuted as soon as a pending read's value
/// no longer extends the state (outgrown reads, see the search's module doc), not at the
/// read's return after every order of what lies in between. Shaped like porcupine's `c50-ok`
/// history; without the pruning the search needs more than this budget.
#[test]
fn kv_appends_in_a_wrong_order_are_refuted_early() {
    let shape = Shape { clients: 50, ops: 1700, keys: 8, window: 25.0, unknown: 0.0 };
    let h = generate::kv(shape, &mut rand_source(1));
    let budget =
        Options { budget: Budget { max_steps: Some(10_000), deadline: None }, parallel: false };
    assert_eq!(check(&Kv::default(), &h, budget).unwrap(), Verdict::Linearizable);
}

// ---- differential: the search against brute force on small random histories ----

/// Tries every order consistent with real time; unknown operations may also never happen.
fn brute_force<M: Model>(model: &M, h: &History) -> bool {
    let ops: Vec<M::Op> = h.ops.iter().map(|op| model.decode(op).unwrap()).collect();
    fn go<M: Model>(
        model: &M,
        h: &History,
        ops: &[M::Op],
        done: &mut Vec<bool>,
        state: &M::State,
    ) -> bool {
        let open: Vec<usize> = (0..ops.len()).filter(|&i| !done[i]).collect();
        if open.iter().all(|&i| h.ops[i].is_unknown()) {
            return true;
        }
        let first_return = open.iter().filter_map(|&i| h.ops[i].ret).fold(f64::INFINITY, f64::min);
        for &i in &open {
            if h.ops[i].call > first_return {
                continue;
            }
            if let Some(next) = model.step(state, &ops[i]).resolve(state) {
                done[i] = true;
                let found = go(model, h, ops, done, &next);
                done[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(model, h, &ops, &mut vec![false; ops.len()], &model.init())
}

/// One operation of a generated history: `client` calls `f` at `call` and returns at `ret`
/// (`None`: its outcome is unknown).
fn generated_op(
    client: usize,
    call: u32,
    ret: Option<f64>,
    f: &str,
    key: Option<String>,
    input: serde_json::Value,
    output: serde_json::Value,
) -> detcd_check::history::Operation {
    detcd_check::history::Operation {
        client: client as u64,
        call: call as f64,
        ret,
        f: f.to_string(),
        key,
        input,
        output,
    }
}

fn arbitrary_register_history() -> impl Strategy<Value = History> {
    let op = (0u8..3, 0i64..3, 0i64..3, 0u32..12, 1u32..6, 0u8..6);
    proptest::collection::vec(op, 1..8).prop_map(|ops| {
        let ops = ops
            .into_iter()
            .enumerate()
            .map(|(client, (kind, a, b, call, length, unknown))| {
                let ret = (unknown != 0).then_some((call + length) as f64);
                let (f, input, output) = match kind {
                    0 => ("read", serde_json::Value::Null, serde_json::json!(a)),
                    1 => ("write", serde_json::json!(a), serde_json::Value::Null),
                    _ => ("cas", serde_json::json!([a, b]), serde_json::json!(call % 2 == 0)),
                };
                generated_op(client, call, ret, f, None, input, output)
            })
            .collect();
        History::new(ops)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn search_agrees_with_brute_force(h in arbitrary_register_history()) {
        let expected = brute_force(&Register, &h);
        let verdict = check(&Register, &h, Options::default()).unwrap();
        prop_assert_eq!(verdict == Verdict::Linearizable, expected, "{:#?}", h);
    }
}

#[test]
fn differential_histories_cover_both_verdicts() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = arbitrary_register_history();
    let (mut yes, mut no) = (0, 0);
    for _ in 0..300 {
        let h = strategy.new_tree(&mut runner).unwrap().current();
        if brute_force(&Register, &h) {
            yes += 1;
        } else {
            no += 1;
        }
    }
    assert!(yes > 30 && no > 30, "linearizable {yes}, not {no}");
}

#[test]
fn kv_missing_key_reads_as_null_or_empty() {
    let h = r#"
{"client":0,"call":0,"return":1,"f":"get","key":"x","output":null}
{"client":0,"call":2,"return":3,"f":"get","key":"x","output":""}
{"client":0,"call":4,"return":5,"f":"append","key":"x","input":"a"}
{"client":0,"call":6,"return":7,"f":"get","key":"x","output":"a"}
"#;
    assert!(linearizable(&Kv::default(), h));
    let stale = h.replace(r#""output":"a""#, r#""output":"""#);
    assert!(!linearizable(&Kv::default(), &stale));
}

#[test]
fn violation_is_shrunk_to_the_first_impossible_completion() {
    // The stale read (#2) is the first completion no order explains; later reads of the stale
    // value make the whole history fail too, but the explanation must blame #2.
    let h = r#"
{"client":0,"call":0,"return":1,"f":"write","input":1}
{"client":1,"call":2,"return":3,"f":"write","input":2}
{"client":2,"call":4,"return":6,"f":"read","output":1}
{"client":0,"call":5,"return":7,"f":"write","input":3}
{"client":1,"call":8,"return":9,"f":"read","output":1}
{"client":2,"call":10,"return":11,"f":"read","output":3}
"#;
    let Verdict::NotLinearizable(violation) = verdict(&Register, h) else { panic!("passed") };
    assert_eq!(violation.stuck, 2, "{violation:#?}");
    assert_eq!(violation.window, vec![2], "the write of 3 is concurrent but linearizable");
    let order: Vec<usize> = violation.longest.iter().map(|s| s.op).collect();
    assert_eq!(&order[..2], &[0, 1], "{order:?}");
    assert!(
        violation.message.contains("up to the return of operation #2"),
        "{}",
        violation.message
    );
}

fn arbitrary_kv_history() -> impl Strategy<Value = History> {
    let op = (0u8..3, 0u8..2, 0u8..3, 0u32..12, 1u32..6, 0u8..6);
    proptest::collection::vec(op, 1..8).prop_map(|ops| {
        let ops = ops
            .into_iter()
            .enumerate()
            .map(|(client, (kind, key, value, call, length, unknown))| {
                let ret = (unknown != 0).then_some((call + length) as f64);
                let text = ["", "a", "ab"][value as usize];
                let (f, input, output) = match kind {
                    0 => ("get", serde_json::Value::Null, serde_json::json!(text)),
                    1 => ("put", serde_json::json!(text), serde_json::Value::Null),
                    _ => ("append", serde_json::json!("b"), serde_json::Value::Null),
                };
                generated_op(client, call, ret, f, Some(format!("k{key}")), input, output)
            })
            .collect();
        History::new(ops)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn kv_search_agrees_with_brute_force_split_or_not(h in arbitrary_kv_history()) {
        let expected = brute_force(&Kv { partitioned: false }, &h);
        for model in [Kv::default(), Kv { partitioned: false }] {
            let verdict = check(&model, &h, Options::default()).unwrap();
            prop_assert_eq!(verdict == Verdict::Linearizable, expected, "{:?} {:#?}", model, h);
        }
    }
}

fn arbitrary_kv_append_history() -> impl Strategy<Value = History> {
    // Appends of different suffixes, many unknown outcomes, reads of prefixes and of null, now
    // and then a compare-and-swap: where outgrown reads and unobserved unknown operations are
    // pruned (see the search's module doc and `Model::unobserved`).
    let op = (0u8..9, 0u8..2, 0u8..7, 0u32..12, 1u32..7, 0u8..3, any::<bool>());
    proptest::collection::vec(op, 1..9).prop_map(|ops| {
        let ops = ops
            .into_iter()
            .enumerate()
            .map(|(client, (kind, key, value, call, length, unknown, swapped))| {
                let ret = (unknown != 0).then_some((call + length) as f64);
                let read = ["", "a", "ab", "abc", "b", "ba", "c"][value as usize];
                let suffix = ["a", "b", "c"][value as usize % 3];
                let (f, input, output) = match kind {
                    0 => ("get", serde_json::Value::Null, serde_json::Value::Null),
                    1..=3 => ("get", serde_json::Value::Null, serde_json::json!(read)),
                    4 => ("put", serde_json::json!(suffix), serde_json::Value::Null),
                    5 => ("cas", serde_json::json!([read, suffix]), serde_json::json!(swapped)),
                    _ => ("append", serde_json::json!(suffix), serde_json::Value::Null),
                };
                generated_op(client, call, ret, f, Some(format!("k{key}")), input, output)
            })
            .collect();
        History::new(ops)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn kv_appends_agree_with_brute_force(h in arbitrary_kv_append_history()) {
        let expected = brute_force(&Kv { partitioned: false }, &h);
        for model in [Kv::default(), Kv { partitioned: false }] {
            let verdict = check(&model, &h, Options::default()).unwrap();
            prop_assert_eq!(verdict == Verdict::Linearizable, expected, "{:?} {:#?}", model, h);
        }
    }
}

#[test]
fn kv_append_histories_cover_both_verdicts() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = arbitrary_kv_append_history();
    let (mut yes, mut no) = (0, 0);
    for _ in 0..300 {
        let h = strategy.new_tree(&mut runner).unwrap().current();
        if brute_force(&Kv { partitioned: false }, &h) {
            yes += 1;
        } else {
            no += 1;
        }
    }
    assert!(yes > 30 && no > 30, "linearizable {yes}, not {no}");
}

fn arbitrary_unknown_heavy_history() -> impl Strategy<Value = History> {
    // Few values and mostly unknown outcomes: interchangeable and redundant unknown operations,
    // which the search prunes (symmetry, subsumption), are the rule here.
    let op = (0u8..3, 0i64..2, 0i64..2, 0u32..10, 1u32..8, 0u8..2, any::<bool>());
    proptest::collection::vec(op, 1..10).prop_map(|ops| {
        let ops = ops
            .into_iter()
            .enumerate()
            .map(|(client, (kind, a, b, call, length, unknown, swapped))| {
                let ret = (unknown != 0).then_some((call + length) as f64);
                let (f, input, output) = match kind {
                    0 => ("read", serde_json::Value::Null, serde_json::json!(a)),
                    1 => ("write", serde_json::json!(a), serde_json::Value::Null),
                    _ => ("cas", serde_json::json!([a, b]), serde_json::json!(swapped)),
                };
                generated_op(client, call, ret, f, None, input, output)
            })
            .collect();
        History::new(ops)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn search_agrees_with_brute_force_with_many_unknowns(h in arbitrary_unknown_heavy_history()) {
        let expected = brute_force(&Register, &h);
        let verdict = check(&Register, &h, Options::default()).unwrap();
        prop_assert_eq!(verdict == Verdict::Linearizable, expected, "{:#?}", h);
    }
}

/// The shape of issue #20's swarm seeds: a register whose many writes timed out (unique values
/// nobody read), beside a client whose own writes and reads all completed.
fn timed_out_writes(count: usize, stale_read: bool) -> String {
    let mut lines = Vec::new();
    for i in 0..count {
        let t = (10 * i) as f64;
        lines.push(format!(
            r#"{{"client":{},"call":{t},"return":null,"f":"write","input":{}}}"#,
            100 + i,
            1000 + i
        ));
        lines.push(format!(
            r#"{{"client":0,"call":{},"return":{},"f":"write","input":{i}}}"#,
            t + 1.0,
            t + 2.0
        ));
        let read = if stale_read && i == count - 1 { i.saturating_sub(1) } else { i };
        lines.push(format!(
            r#"{{"client":1,"call":{},"return":{},"f":"read","output":{read}}}"#,
            t + 3.0,
            t + 4.0
        ));
        lines.push(format!(
            r#"{{"client":2,"call":{},"return":{},"f":"cas","input":[{i},{i}],"output":true}}"#,
            t + 5.0,
            t + 6.0
        ));
    }
    lines.join("\n")
}

#[test]
fn many_timed_out_writes_nobody_read_are_decided() {
    // Each of the 30 timed-out writes may take effect at any later moment: without pruning the
    // search tries every subset of them (2^30) before it can refute the last read.
    let budget = Options {
        budget: Budget { max_steps: Some(200_000), ..Budget::default() },
        ..Options::default()
    };
    let ok = check(&Register, &history(&timed_out_writes(30, false)), budget).unwrap();
    assert_eq!(ok, Verdict::Linearizable);
    let stale = check(&Register, &history(&timed_out_writes(30, true)), budget).unwrap();
    let Verdict::NotLinearizable(violation) = stale else { panic!("stale read: {stale:?}") };
    // The last read (#118) returned the value written before client 0's last write (#117).
    assert_eq!(violation.stuck, 118, "{}", violation.message);
}
