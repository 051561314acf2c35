//! The JSON gateway under auth, held to real etcd 3.4 with `curl` as etcd's docs use it:
//! `/v3/auth/authenticate` returns a token, which later calls carry in the `Authorization`
//! header; the same session runs against etcd and detcd (one member each, set up with etcdctl)
//! and must get the same HTTP statuses and the same error bodies. A call without a token is
//! refused as etcd refuses it ("user name is empty"), a bad token is "invalid auth token", a
//! user without the permission gets "permission denied", over KV, Lock and the Auth service,
//! and a streaming observe runs for the caller too.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl;
use detcd_tests::real_etcd::EtcdCluster;
use detcd_tests::servers::Servers;
use serde_json::Value;
use std::process::Command;

/// root; alice with readwrite on the prefix `job`, bob with read on it.
const SETUP: &[&str] = &[
    "user add root:rootpw",
    "user grant-role root root",
    "user add alice:alicepw",
    "user add bob:bobpw",
    "role add jobs",
    "role grant-permission jobs --prefix readwrite job",
    "user grant-role alice jobs",
    "role add peek",
    "role grant-permission peek --prefix read job",
    "user grant-role bob peek",
    "auth enable",
];

/// `curl -X POST http://<endpoint><path> [-H Authorization: <token>] -d <body>`: the HTTP
/// status and the body as JSON.
fn post(endpoint: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut curl = Command::new("curl");
    curl.args(["-sS", "--max-time", "15", "-X", "POST", "-w", "\n%{http_code}"]);
    if let Some(token) = token {
        curl.args(["-H", &format!("Authorization: {token}")]);
    }
    let output = curl.arg(format!("http://{endpoint}{path}")).args(["-d", body]).output();
    let text = String::from_utf8_lossy(&output.expect("curl runs").stdout).into_owned();
    let (json, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let code = code.trim().parse().unwrap_or_else(|_| panic!("no HTTP status in {text:?}"));
    let json = serde_json::from_str(json).unwrap_or_else(|e| panic!("{path}: {e} in {json:?}"));
    (code, json)
}

/// Who calls: the user whose token the call carries.
#[derive(Clone, Copy, Debug)]
enum Who {
    Nobody,
    Forged,
    Root,
    Alice,
    Bob,
}

/// The session: (who, path, body).
const STEPS: &[(Who, &str, &str)] = &[
    // "job/1" = am9iLzE=, "v" = dg==, "job" = am9i, "other" = b3RoZXI=
    (Who::Nobody, "/v3/kv/put", r#"{"key":"am9iLzE=","value":"dg=="}"#),
    (Who::Forged, "/v3/kv/put", r#"{"key":"am9iLzE=","value":"dg=="}"#),
    (Who::Alice, "/v3/kv/put", r#"{"key":"am9iLzE=","value":"dg=="}"#),
    (Who::Bob, "/v3/kv/put", r#"{"key":"am9iLzE=","value":"dg=="}"#),
    (Who::Alice, "/v3/kv/put", r#"{"key":"b3RoZXI=","value":"dg=="}"#),
    (Who::Nobody, "/v3/kv/range", r#"{"key":"am9iLzE="}"#),
    (Who::Bob, "/v3/kv/range", r#"{"key":"am9iLzE="}"#),
    (Who::Bob, "/v3/kv/range", r#"{"key":"b3RoZXI="}"#),
    (Who::Root, "/v3/kv/range", r#"{"key":"b3RoZXI="}"#),
    (Who::Bob, "/v3/kv/deleterange", r#"{"key":"am9iLzE="}"#),
    (Who::Nobody, "/v3/lock/lock", r#"{"name":"am9i"}"#),
    (Who::Bob, "/v3/lock/lock", r#"{"name":"am9i"}"#),
    (Who::Alice, "/v3/auth/user/list", "{}"),
    (Who::Nobody, "/v3/auth/user/list", "{}"),
    (Who::Root, "/v3/auth/user/list", "{}"),
    (Who::Bob, "/v3/election/leader", r#"{"name":"am9i"}"#),
];

/// What a step got: its status, and the body when it failed (a success's body holds ids and
/// revisions that differ between servers; the assertions below look at some of them).
fn session(servers: &dyn Servers) -> (Vec<String>, Vec<Value>) {
    let endpoint = servers.endpoints()[0].clone();
    let login = |name: &str, password: &str| {
        let body = format!(r#"{{"name":"{name}","password":"{password}"}}"#);
        post(&endpoint, "/v3/auth/authenticate", None, &body)
    };
    let token = |name: &str| {
        let (code, answer) = login(name, &format!("{name}pw"));
        assert_eq!(code, 200, "{name} logs in: {answer}");
        answer["token"].as_str().expect("a token").to_string()
    };
    let (root, alice, bob) = (token("root"), token("alice"), token("bob"));
    let (code, wrong) = login("alice", "wrong");
    let mut seen = vec![format!("login with a wrong password: {code} {wrong}")];
    let mut answers = Vec::new();
    for (who, path, body) in STEPS {
        let token = match who {
            Who::Nobody => None,
            Who::Forged => Some("not-a-token"),
            Who::Root => Some(root.as_str()),
            Who::Alice => Some(alice.as_str()),
            Who::Bob => Some(bob.as_str()),
        };
        let (code, answer) = post(&endpoint, path, token, body);
        let shown = if code == 200 { String::new() } else { answer.to_string() };
        seen.push(format!("{who:?} {path} {body}: {code} {shown}"));
        answers.push(answer);
    }
    // Observe streams for the caller too: bob, who may read the election, sees alice's value.
    let campaign = r#"{"name":"am9iLWVs","value":"YQ=="}"#; // "job-el", "a"
    let (code, won) = post(&endpoint, "/v3/election/campaign", Some(&alice), campaign);
    assert_eq!(code, 200, "alice campaigns: {won}");
    seen.push(format!("bob observes: {:?}", observe(&endpoint, &bob, r#"{"name":"am9iLWVs"}"#)));
    (seen, answers)
}

/// The leaders' values (or errors) `/v3/election/observe` streams to `token` within 3 s.
fn observe(endpoint: &str, token: &str, body: &str) -> Vec<String> {
    let output = Command::new("curl")
        .args(["-sS", "-N", "--max-time", "3", "-X", "POST"])
        .args(["-H", &format!("Authorization: {token}")])
        .arg(format!("http://{endpoint}/v3/election/observe"))
        .args(["-d", body])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = |line: &str| -> String {
        let value: Value = serde_json::from_str(line).expect("a JSON line");
        let kv = &value["result"]["kv"]["value"];
        kv.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())
    };
    text.lines().map(line).collect()
}

#[test]
fn the_gateway_takes_the_authorization_header_and_refuses_as_etcd_does() {
    let etcd = std::thread::spawn(|| EtcdCluster::start(1));
    let mut detcd = Cluster::plan(1);
    detcd.nodes[0].args.push("--bcrypt-cost=4".into());
    detcd.start_planned();
    let etcd = etcd.join().expect("etcd starts");
    for servers in [&etcd as &dyn Servers, &detcd] {
        let endpoints = servers.endpoints().join(",");
        for line in SETUP {
            etcdctl::ok(&endpoints, &line.split_whitespace().collect::<Vec<_>>());
        }
    }
    let (on_etcd, _) = session(&etcd);
    let (on_detcd, answers) = session(&detcd);
    let differ: Vec<String> = on_etcd
        .iter()
        .zip(&on_detcd)
        .filter(|(e, d)| e != d)
        .map(|(e, d)| format!("etcd:  {e}\ndetcd: {d}"))
        .collect();
    assert!(differ.is_empty(), "the gateway answers differ:\n{}", differ.join("\n"));
    // What the session must show, on detcd as on etcd.
    let at = |path: &str, who: &str| {
        let step = STEPS.iter().position(|(w, p, _)| *p == path && format!("{w:?}") == who);
        step.expect("a step") + 1
    };
    assert!(on_detcd[at("/v3/kv/put", "Nobody")].contains("400"), "{on_detcd:#?}");
    assert!(on_detcd[at("/v3/kv/put", "Nobody")].contains("user name is empty"));
    assert!(on_detcd[at("/v3/kv/put", "Forged")].contains("401"), "{on_detcd:#?}");
    assert!(on_detcd[at("/v3/kv/put", "Alice")].contains(": 200"), "{on_detcd:#?}");
    assert!(on_detcd[at("/v3/kv/put", "Bob")].contains("403"), "{on_detcd:#?}");
    assert!(on_detcd[at("/v3/lock/lock", "Bob")].contains("permission denied"));
    let users = &answers[at("/v3/auth/user/list", "Root") - 1]["users"];
    assert_eq!(users.as_array().map(Vec::len), Some(3), "root lists the users: {users}");
    assert_eq!(on_detcd.last().expect("observed"), r#"bob observes: ["YQ=="]"#);
    let read = &answers[at("/v3/kv/range", "Bob") - 1];
    assert_eq!(read["kvs"][0]["value"], "dg==", "bob reads what alice wrote: {read}");
}
