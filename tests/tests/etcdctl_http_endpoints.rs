//! etcdctl with `http://` endpoints (issue #9): etcd 3.4's clientv3 dials its Maintenance calls
//! with the endpoint string as the gRPC target, so they carry `:authority: http://host:port`,
//! which h2 alone resets with PROTOCOL_ERROR; detcd repairs it on the client port. Every command
//! here failed before that repair; the other etcdctl tests pass `host:port` and never saw it.
//! Also: `endpoint status` reports the bytes of the member's data directory as its DB SIZE.

use detcd_tests::background::Background;
use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl::{command, ok};
use std::time::Duration;

/// `http://host:port` for every member, comma-separated.
fn http_endpoints(cluster: &Cluster) -> String {
    let urls: Vec<String> =
        cluster.nodes.iter().map(|n| format!("http://{}", n.endpoint())).collect();
    urls.join(",")
}

/// The rows of an etcdctl table (the lines between the header and bottom rules).
fn table_rows(table: &str) -> Vec<&str> {
    table.lines().filter(|line| line.starts_with("| http://")).collect()
}

/// The `dbSize` numbers of `endpoint status -w json`.
fn db_sizes(json: &str) -> Vec<u64> {
    json.split("\"dbSize\":")
        .skip(1)
        .map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("dbSize is a number")
        })
        .collect()
}

#[test]
fn one_member_answers_maintenance_calls_on_an_http_endpoint() {
    let cluster = Cluster::start(1);
    let e = &http_endpoints(&cluster);
    for i in 0..20 {
        assert_eq!(ok(e, &["put", &format!("k{i}"), "some value"]), "OK\n", "{}", cluster.logs());
    }
    assert_eq!(ok(e, &["get", "k7"]), "k7\nsome value\n");

    let status = ok(e, &["endpoint", "status", "-w", "table"]);
    let rows = table_rows(&status);
    assert_eq!(rows.len(), 1, "{status}");
    assert!(rows[0].starts_with(&format!("| {e} |")), "{status}");
    assert!(rows[0].contains("|      true |      false |"), "the leader's row: {status}");
    assert!(!rows[0].contains(" 0 B "), "a data directory with 20 puts is not empty: {status}");

    let sizes = db_sizes(&ok(e, &["endpoint", "status", "-w", "json"]));
    assert_eq!(sizes.len(), 1);
    assert!(sizes[0] > 0, "dbSize after puts: {sizes:?}");

    // The same hash whether the endpoint carries a scheme or not.
    let hashkv = ok(e, &["endpoint", "hashkv"]);
    let plain = ok(&cluster.nodes[0].endpoint(), &["endpoint", "hashkv"]);
    let hash = hashkv.trim().rsplit(", ").next().expect("hash");
    assert_eq!(hashkv, format!("{e}, {hash}\n"));
    assert_eq!(plain, format!("{}, {hash}\n", cluster.nodes[0].endpoint()));

    let cluster_status = ok(e, &["endpoint", "status", "--cluster"]);
    assert!(cluster_status.starts_with(&format!("{e}, ")), "{cluster_status}");

    let file = cluster.scratch().join("over-http.db");
    let file = file.to_str().expect("utf-8 path");
    let saved = ok(e, &["snapshot", "save", file]);
    assert!(saved.contains(&format!("Snapshot saved at {file}")), "{saved}");
    assert!(std::fs::metadata(file).expect("the saved file").len() > 0);

    let defrag = ok(e, &["defrag"]);
    assert_eq!(defrag, format!("Finished defragmenting etcd member[{e}]\n"));
}

#[test]
fn three_members_answer_maintenance_calls_on_http_endpoints() {
    let cluster = Cluster::start(3);
    let e = &http_endpoints(&cluster);
    ok(e, &["put", "shared", "value"]);

    let status = ok(e, &["endpoint", "status", "-w", "table"]);
    assert_eq!(table_rows(&status).len(), 3, "{status}");
    assert_eq!(status.matches("|      true |      false |").count(), 1, "one leader:\n{status}");
    assert_eq!(status.matches("|     false |      false |").count(), 2, "{status}");

    // --cluster dials the members' advertised client URLs, which always carry http://.
    let first = format!("http://{}", cluster.nodes[0].endpoint());
    let cluster_status = ok(&first, &["endpoint", "status", "--cluster", "-w", "table"]);
    for node in &cluster.nodes {
        let row = format!("| http://{} |", node.endpoint());
        assert!(cluster_status.contains(&row), "no {row} in\n{cluster_status}");
    }
    assert!(db_sizes(&ok(e, &["endpoint", "status", "-w", "json"])).iter().all(|&size| size > 0));

    let hashes = hashes_once_equal(&first);
    assert_eq!(hashes.len(), 3, "{hashes:?}");

    let file = cluster.scratch().join("three.db");
    let file = file.to_str().expect("utf-8 path");
    let saved = ok(&first, &["snapshot", "save", file]);
    assert!(saved.contains(&format!("Snapshot saved at {file}")), "{saved}");
    assert!(std::fs::metadata(file).expect("the saved file").len() > 0);

    let defrag = ok(&first, &["defrag", "--cluster"]);
    for node in &cluster.nodes {
        let line = format!("Finished defragmenting etcd member[http://{}]", node.endpoint());
        assert!(defrag.contains(&line), "no {line} in\n{defrag}");
    }
}

/// Puts, gets and a watch keep working when every request carries a repaired authority.
#[test]
fn kv_and_watch_work_over_http_endpoints() {
    let cluster = Cluster::start(3);
    let e = &http_endpoints(&cluster);
    let watch = Background::start(command(e, &["watch", "w", "--prefix"]));
    // The watch is established before the put only once it has printed nothing yet and had time
    // to connect; retry the put until the event shows up so a slow start cannot fail the test.
    let mut seen = Vec::new();
    for attempt in 0..20 {
        ok(e, &["put", &format!("w{attempt}"), "v"]);
        if let Some(line) = watch.next_line(Duration::from_millis(500)) {
            seen.push(line);
            break;
        }
    }
    assert_eq!(seen.first().map(String::as_str), Some("PUT"), "{}", cluster.logs());
    for node in &cluster.nodes {
        let got =
            ok(&format!("http://{}", node.endpoint()), &["get", "w", "--prefix", "--keys-only"]);
        assert!(got.starts_with("w0\n"), "on {}: {got}", node.name);
    }
}

/// `endpoint hashkv --cluster` once every member has applied the same writes.
fn hashes_once_equal(endpoint: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    for _ in 0..50 {
        let out = ok(endpoint, &["endpoint", "hashkv", "--cluster"]);
        hashes = out.lines().map(|l| l.rsplit(", ").next().unwrap_or("").to_string()).collect();
        if hashes.windows(2).all(|pair| pair[0] == pair[1]) {
            return hashes;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("members' hashes never agreed: {hashes:?}");
}
