//! Loading histories: JSON Lines and Jepsen EDN, and their errors.

use detcd_check::edn::{self, Workload};
use detcd_check::jsonl::{self, LoadError};
use serde_json::json;

#[test]
fn jsonl_round_trip_and_unknown_returns() {
    let text = r#"
# comment
{"client":0,"call":0,"return":1,"f":"write","input":1}
{"client":1,"call":0.5,"f":"write","input":2}
{"client":2,"call":2,"return":null,"f":"read"}
"#;
    let history = jsonl::parse("h", text).unwrap();
    assert_eq!(history.len(), 3);
    assert!(history.ops[1].is_unknown(), "a missing return is unknown");
    assert!(history.ops[2].is_unknown());
    let again = jsonl::parse("h", &jsonl::to_string(&history)).unwrap();
    assert_eq!(again, history);
}

#[test]
fn jsonl_errors_name_file_and_line() {
    let error = jsonl::parse(
        "f.jsonl",
        "{\"client\":0,\"call\":0,\"return\":1,\"f\":\"read\"}\n\nnot json\n",
    )
    .unwrap_err();
    assert!(matches!(error, LoadError::Parse { line: 3, .. }), "{error}");
    assert!(error.to_string().starts_with("f.jsonl:3: "), "{error}");
    let error =
        jsonl::parse("f.jsonl", r#"{"client":0,"call":5,"return":1,"f":"read"}"#).unwrap_err();
    assert!(error.to_string().contains("before `call`"), "{error}");
    let error = jsonl::parse("f.jsonl", r#"{"call":5,"return":6,"f":"read"}"#).unwrap_err();
    assert!(error.to_string().contains("client"), "{error}");
}

#[test]
fn edn_register_history() {
    let text = r#"
{:process 0, :type :invoke, :f :write, :value 3}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :write, :value 3}
{:process 1, :type :ok, :f :read, :value 3}
{:process 2, :type :invoke, :f :cas, :value [3 4]}
{:process 2, :type :fail, :f :cas, :value [3 4]}
{:process 3, :type :invoke, :f :write, :value 5}
{:process 3, :type :info, :f :write, :value 5}
{:process 4, :type :invoke, :f :write, :value 6}
{:process 4, :type :fail, :f :write, :value 6}
{:process :nemesis, :type :info, :f :start, :value nil}
{:process 5, :type :invoke, :f :read, :value nil}
"#;
    let history = edn::parse_workload("h.edn", text, Workload::Register).unwrap();
    let summary: Vec<(u64, &str, serde_json::Value, serde_json::Value, bool)> = history
        .ops
        .iter()
        .map(|op| (op.client, op.f.as_str(), op.input.clone(), op.output.clone(), op.is_unknown()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, "write", json!(3), json!(null), false),
            (1, "read", json!(null), json!(3), false),
            (2, "cas", json!([3, 4]), json!(false), false),
            (3, "write", json!(5), json!(null), true),
            (5, "read", json!(null), json!(null), true),
        ],
        "failed writes are dropped; :info and never-completed are unknown"
    );
    assert!(
        history.ops[0].call < history.ops[1].call
            && history.ops[1].call < history.ops[0].ret.unwrap()
    );
}

#[test]
fn edn_key_value_history() {
    let text = "[{:process 0, :type :invoke, :f :write, :value [:x 1]}\n {:process 0, :type :ok, :f :write, :value [:x 1]}\n {:process 0, :type :invoke, :f :read, :value [\"y\" nil]}\n {:process 0, :type :ok, :f :read, :value [\"y\" 2]}]";
    let history = edn::parse_workload("h.edn", text, Workload::KeyValue).unwrap();
    assert_eq!(history.ops[0].f, "put");
    assert_eq!(history.ops[0].key.as_deref(), Some("x"));
    assert_eq!(history.ops[1].f, "get");
    assert_eq!(history.ops[1].key.as_deref(), Some("y"));
    assert_eq!(history.ops[1].output, json!(2));
}

#[test]
fn edn_errors_name_the_line() {
    let text = "{:process 0, :type :invoke, :f :write, :value 3}\n{:process 0, :type :ok :f\n";
    let error = edn::parse_workload("h.edn", text, Workload::Register).unwrap_err();
    assert!(error.to_string().starts_with("h.edn:2: "), "{error}");
    let text = "{:process 0, :type :ok, :f :write, :value 3}\n";
    let error = edn::parse_workload("h.edn", text, Workload::Register).unwrap_err();
    assert!(error.to_string().contains("never invoked"), "{error}");
    let text = "{:process 0, :type :invoke, :f :write, :value 3}\n";
    let error = edn::parse_workload("h.edn", text, Workload::KeyValue).unwrap_err();
    assert!(error.to_string().contains("[key value]"), "{error}");
}
