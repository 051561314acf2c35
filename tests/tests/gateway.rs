//! etcd's HTTP/JSON gateway on a real `detcd`, driven with `curl` exactly as etcd's docs do:
//! base64 keys and values, 64-bit integers as strings, proto field names, streaming watch and
//! keep-alive answers as `{"result":..}` lines, and the gateway's errors.

use detcd_tests::cluster::Cluster;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `curl -X POST http://<endpoint><path> -d <body>`: (HTTP status, body as JSON).
fn post(endpoint: &str, path: &str, body: &str) -> (u16, Value) {
    let output = Command::new("curl")
        .args(["-sS", "-L", "--max-time", "15", "-X", "POST", "-w", "\n%{http_code}"])
        .arg(format!("http://{endpoint}{path}"))
        .args(["-d", body])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (json, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let code = code.trim().parse().unwrap_or_else(|_| panic!("no HTTP status in {text:?}"));
    let json = serde_json::from_str(json).unwrap_or_else(|e| panic!("{path}: {e} in {json:?}"));
    (code, json)
}

/// A successful call's answer.
fn ok(endpoint: &str, path: &str, body: &str) -> Value {
    let (code, answer) = post(endpoint, path, body);
    assert_eq!(code, 200, "{path} {body}: {answer}");
    answer
}

/// A streaming call cut off after `seconds`: its lines, parsed.
fn stream_for(endpoint: &str, path: &str, body: &str, seconds: u32) -> std::process::Child {
    Command::new("curl")
        .args(["-sS", "-N", "--max-time", &seconds.to_string(), "-X", "POST"])
        .arg(format!("http://{endpoint}{path}"))
        .args(["-d", body])
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl runs")
}

fn lines(child: std::process::Child) -> Vec<Value> {
    let output = child.wait_with_output().expect("curl ends");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
}

#[test]
fn kv_txn_compaction_and_errors_over_http() {
    let cluster = Cluster::start(1);
    let ep = cluster.nodes[0].endpoint();

    let put = ok(&ep, "/v3/kv/put", r#"{"key":"Zm9v","value":"YmFy"}"#);
    let revision: i64 =
        put["header"]["revision"].as_str().expect("revision string").parse().unwrap();
    assert!(revision >= 2, "{put}");

    let range = ok(&ep, "/v3/kv/range", r#"{"key":"Zm9v"}"#);
    assert_eq!(range["count"], json!("1"));
    assert_eq!(range["kvs"][0]["key"], json!("Zm9v"));
    assert_eq!(range["kvs"][0]["value"], json!("YmFy"));
    assert_eq!(range["kvs"][0]["version"], json!("1"));

    let txn = r#"{"compare":[{"key":"Zm9v","result":"EQUAL","target":"VALUE","value":"YmFy"}],
        "success":[{"request_put":{"key":"Zm9v","value":"YmF6"}}],
        "failure":[{"request_range":{"key":"Zm9v"}}]}"#;
    let answer = ok(&ep, "/v3/kv/txn", txn);
    assert_eq!(answer["succeeded"], json!(true), "{answer}");
    assert!(answer["responses"][0]["response_put"].is_object(), "{answer}");
    let failed = ok(&ep, "/v3/kv/txn", txn);
    assert!(failed.get("succeeded").is_none(), "false is left out: {failed}");
    assert_eq!(failed["responses"][0]["response_range"]["kvs"][0]["value"], json!("YmF6"));

    let compacted = ok(&ep, "/v3/kv/compaction", &format!(r#"{{"revision":"{revision}"}}"#));
    assert!(compacted["header"].is_object());
    let (code, old) =
        post(&ep, "/v3/kv/range", &format!(r#"{{"key":"Zm9v","revision":{}}}"#, revision - 1));
    assert_eq!(code, 400, "{old}");
    assert_eq!(old["code"], json!(11));
    assert_eq!(old["error"], json!("etcdserver: mvcc: required revision has been compacted"));
    assert_eq!(old["message"], old["error"]);

    let deleted = ok(&ep, "/v3/kv/deleterange", r#"{"key":"Zm9v","prev_kv":true}"#);
    assert_eq!(deleted["deleted"], json!("1"));
    assert_eq!(deleted["prev_kvs"][0]["value"], json!("YmF6"));

    for malformed in ["{", r#"{"key":5}"#, r#"{"nonsense":"Zm9v"}"#, "[]"] {
        let (code, error) = post(&ep, "/v3/kv/put", malformed);
        assert_eq!(code, 400, "{malformed}: {error}");
        assert_eq!(error["code"], json!(3), "{malformed}: {error}");
        assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{error}");
    }
    let (code, error) = post(&ep, "/v3/kv/put", r#"{"value":"YmFy"}"#);
    assert_eq!((code, error["error"].clone()), (400, json!("etcdserver: key is not provided")));
    drop(cluster);
}

#[test]
fn leases_watch_members_lock_and_election_over_http() {
    let cluster = Cluster::start(1);
    let ep = cluster.nodes[0].endpoint();

    let granted = ok(&ep, "/v3/lease/grant", r#"{"TTL":"60"}"#);
    let id = granted["ID"].as_str().expect("lease id as a string").to_string();
    assert_eq!(granted["TTL"], json!("60"));
    let leases = ok(&ep, "/v3/lease/leases", "");
    assert_eq!(leases["leases"][0]["ID"], json!(id));
    let alive = lines(stream_for(&ep, "/v3/lease/keepalive", &format!(r#"{{"ID":"{id}"}}"#), 10));
    assert_eq!(alive.len(), 1, "{alive:?}");
    assert_eq!(alive[0]["result"]["TTL"], json!("60"));
    let ttl = ok(&ep, "/v3/kv/lease/timetolive", &format!(r#"{{"ID":"{id}","keys":true}}"#));
    assert_eq!(ttl["grantedTTL"], json!("60"), "{ttl}");

    let watching = stream_for(&ep, "/v3/watch", r#"{"create_request":{"key":"d2F0Y2hlZA=="}}"#, 4);
    std::thread::sleep(Duration::from_millis(1500));
    ok(&ep, "/v3/kv/put", r#"{"key":"d2F0Y2hlZA==","value":"MQ=="}"#);
    let seen = lines(watching);
    assert_eq!(seen[0]["result"]["created"], json!(true), "{seen:?}");
    let event = &seen[1]["result"]["events"][0];
    assert_eq!(
        (event["kv"]["key"].clone(), event["kv"]["value"].clone()),
        (json!("d2F0Y2hlZA=="), json!("MQ=="))
    );
    assert!(event.get("type").is_none(), "PUT is the default and left out: {event}");

    let locked = ok(&ep, "/v3/lock/lock", &format!(r#"{{"name":"bG9jaw==","lease":"{id}"}}"#));
    let key = locked["key"].as_str().expect("owner key").to_string();
    ok(&ep, "/v3/lock/unlock", &format!(r#"{{"key":"{key}"}}"#));

    let won = ok(
        &ep,
        "/v3/election/campaign",
        &format!(r#"{{"name":"ZWxlYw==","lease":"{id}","value":"djE="}}"#),
    );
    assert_eq!(won["leader"]["lease"], json!(id));
    let leader = ok(&ep, "/v3/election/leader", r#"{"name":"ZWxlYw=="}"#);
    assert_eq!(leader["kv"]["value"], json!("djE="));
    let observed = lines(stream_for(&ep, "/v3/election/observe", r#"{"name":"ZWxlYw=="}"#, 2));
    assert_eq!(observed[0]["result"]["kv"]["value"], json!("djE="), "{observed:?}");
    let resign = format!(r#"{{"leader":{}}}"#, won["leader"]);
    ok(&ep, "/v3/election/resign", &resign);
    let (code, none) = post(&ep, "/v3/election/leader", r#"{"name":"ZWxlYw=="}"#);
    assert_eq!((code, none["error"].clone()), (500, json!("election: no leader")));

    let members = ok(&ep, "/v3/cluster/member/list", "{}");
    assert_eq!(members["members"][0]["name"], json!("infra1"));
    let status = ok(&ep, "/v3/maintenance/status", "{}");
    assert_eq!(status["leader"], members["members"][0]["ID"]);
    let db_size = status["dbSize"].as_str().and_then(|bytes| bytes.parse::<u64>().ok());
    assert!(db_size.is_some_and(|bytes| bytes > 0), "the data dir's bytes: {status}");

    ok(&ep, "/v3/lease/revoke", &format!(r#"{{"ID":"{id}"}}"#));
    let (code, gone) = post(&ep, "/v3/lease/revoke", &format!(r#"{{"ID":"{id}"}}"#));
    assert_eq!((code, gone["code"].clone()), (404, json!(5)), "{gone}");
    drop(cluster);
}

#[test]
fn the_gateway_also_answers_under_v3beta_and_v3alpha_and_metrics_name_the_version() {
    let cluster = Cluster::start(1);
    let ep = cluster.nodes[0].endpoint();
    for prefix in ["/v3beta", "/v3alpha"] {
        ok(&ep, &format!("{prefix}/kv/put"), r#"{"key":"Zm9v","value":"YmFy"}"#);
        let range = ok(&ep, &format!("{prefix}/kv/range"), r#"{"key":"Zm9v"}"#);
        assert_eq!(range["kvs"][0]["value"], json!("YmFy"), "{prefix}: {range}");
    }
    let unknown = Command::new("curl")
        .args(["-sS", "--max-time", "15", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .arg(format!("http://{ep}/v3gamma/kv/range"))
        .args(["-d", r#"{"key":"Zm9v"}"#])
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&unknown.stdout), "404");

    let output = Command::new("curl")
        .args(["-sS", "--max-time", "15"])
        .arg(format!("http://{ep}/metrics"))
        .output()
        .expect("curl runs");
    let metrics = String::from_utf8_lossy(&output.stdout);
    assert!(metrics.contains("etcd_server_version{server_version=\"3.4.23\"} 1"), "{metrics}");
    assert!(metrics.contains("etcd_cluster_version{cluster_version=\"3.4\"} 1"), "{metrics}");
}
