//! The seed guide's etcdctl session against one `detcd` member, output compared with what etcd
//! 3.4's etcdctl prints for etcd.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl::{self, ok};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn put_get_prefix_delete() {
    let cluster = Cluster::start(1);
    let e = &cluster.endpoints();
    assert_eq!(ok(e, &["put", "key1", "value1"]), "OK\n");
    assert_eq!(ok(e, &["put", "key2", "value2"]), "OK\n");
    assert_eq!(ok(e, &["put", "key3", "value3"]), "OK\n");
    assert_eq!(ok(e, &["get", "key1"]), "key1\nvalue1\n");
    assert_eq!(ok(e, &["get", "key", "--prefix"]), "key1\nvalue1\nkey2\nvalue2\nkey3\nvalue3\n");
    assert_eq!(ok(e, &["del", "key1"]), "1\n");
    assert_eq!(ok(e, &["del", "key", "--prefix"]), "2\n");
    assert_eq!(ok(e, &["get", "key", "--prefix"]), "");
}

#[test]
fn member_list_and_endpoint_status_tables() {
    let cluster = Cluster::start(1);
    let e = &cluster.endpoints();
    let members = ok(e, &["member", "list", "-w", "table"]);
    assert!(members.contains("| started | infra1 |"), "{members}");
    assert!(members.contains(&format!("http://{e}")), "{members}");
    let status = ok(e, &["endpoint", "status", "-w", "table"]);
    assert!(status.contains("RAFT APPLIED INDEX"), "{status}");
    assert!(status.contains("|      true |      false |"), "leader, not learner: {status}");
}

/// `etcdctl watch` prints each event as type, key, value; a watch from revision 1 replays history.
#[test]
fn watch_prints_puts_and_deletes() {
    let cluster = Cluster::start(1);
    let e = &cluster.endpoints();
    ok(e, &["put", "stock1", "100"]);
    ok(e, &["put", "stock2", "200"]);
    ok(e, &["del", "stock1"]);
    let (mut watch, received) = spawn_lines(e, &["watch", "stock", "--prefix", "--rev=1"]);
    // A DELETE prints the key and an empty value line.
    let expected = ["PUT", "stock1", "100", "PUT", "stock2", "200", "DELETE", "stock1", ""];
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        match received.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    // A live event after the replay arrives too.
    ok(e, &["put", "stock3", "300"]);
    for _ in 0..3 {
        if let Ok(line) = received.recv_timeout(Duration::from_secs(10)) {
            seen.push(line);
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let mut all = expected.to_vec();
    all.extend(["PUT", "stock3", "300"]);
    assert_eq!(seen, all);
}

#[test]
fn lease_grant_attach_keep_alive_revoke() {
    let cluster = Cluster::start(1);
    let e = &cluster.endpoints();
    let granted = ok(e, &["lease", "grant", "300"]);
    // "lease 694d5765fc71500b granted with TTL(300s)"
    let id = granted.split_whitespace().nth(1).expect("lease id").to_string();
    assert_eq!(granted, format!("lease {id} granted with TTL(300s)\n"));
    assert_eq!(ok(e, &["put", "sample", "value", &format!("--lease={id}")]), "OK\n");
    assert_eq!(ok(e, &["get", "sample"]), "sample\nvalue\n");
    let ttl = ok(e, &["lease", "timetolive", &id, "--keys"]);
    assert!(ttl.contains("attached keys([sample])"), "{ttl}");
    assert_eq!(ok(e, &["lease", "list"]), format!("found 1 leases\n{id}\n"));
    assert_eq!(keep_alive_once(e, &id), format!("lease {id} keepalived with TTL(300)\n"));
    assert_eq!(ok(e, &["lease", "revoke", &id]), format!("lease {id} revoked\n"));
    assert_eq!(ok(e, &["get", "sample"]), "");
}

/// `lease keep-alive --once`, retried while the new leader's lessor is not yet counting down:
/// the core promotes its lease countdown on its next expiry tick after winning an election, and
/// answers "not a primary lessor" until then (etcd's clients retry that error too).
fn keep_alive_once(e: &str, id: &str) -> String {
    for _ in 0..50 {
        let run = etcdctl::run(e, &["lease", "keep-alive", "--once", id]);
        if run.ok {
            return run.stdout;
        }
        assert!(run.stderr.contains("not a primary lessor"), "{}", run.stderr);
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("keep-alive kept failing with 'not a primary lessor'");
}

#[test]
fn txn_from_stdin_takes_the_branch_its_compares_choose() {
    let cluster = Cluster::start(1);
    let e = &cluster.endpoints();
    ok(e, &["put", "user1", "bad"]);
    let script = "value(\"user1\") = \"bad\"\n\ndel user1\n\nput fail yes\n\n";
    let run = etcdctl::run_with_stdin(e, &["txn"], script);
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(run.stdout, "SUCCESS\n\n1\n");
    let run = etcdctl::run_with_stdin(e, &["txn"], script);
    assert_eq!(run.stdout, "FAILURE\n\nOK\n");
    assert_eq!(ok(e, &["get", "fail"]), "fail\nyes\n");
}

#[test]
fn compaction_makes_old_revisions_unreadable() {
    let cluster = Cluster::start(1);
    let e = &cluster.endpoints();
    for value in ["v1", "v2", "v3"] {
        ok(e, &["put", "foo", value]); // revisions 2, 3, 4
    }
    assert_eq!(ok(e, &["get", "foo", "--rev=2"]), "foo\nv1\n");
    assert_eq!(ok(e, &["compaction", "3"]), "compacted revision 3\n");
    let old = etcdctl::run(e, &["get", "foo", "--rev=2"]);
    assert!(!old.ok);
    assert!(
        old.stderr.contains("etcdserver: mvcc: required revision has been compacted"),
        "{}",
        old.stderr
    );
    assert_eq!(ok(e, &["get", "foo", "--rev=3"]), "foo\nv2\n");
    let future = etcdctl::run(e, &["get", "foo", "--rev=99"]);
    assert!(future.stderr.contains("required revision is a future revision"), "{}", future.stderr);
}

#[test]
fn health_answers_over_http_on_the_client_port() {
    let cluster = Cluster::start(1);
    // etcdctl prints the health line on stderr.
    let health = etcdctl::run(&cluster.endpoints(), &["endpoint", "health"]);
    assert!(health.ok && health.stderr.contains("is healthy"), "{health:?}");
}

/// The seed guide's distributed lock: a second `etcdctl lock` waits until the first holder is
/// interrupted (which revokes its session), then gets the lock under a different key.
#[test]
fn lock_is_handed_over_when_the_holder_is_interrupted() {
    let cluster = Cluster::start(1);
    let e = &cluster.endpoints();
    let (mut first, first_lines) = spawn_lines(e, &["lock", "mutex"]);
    let first_key = first_lines.recv_timeout(Duration::from_secs(10)).expect("first holds");
    assert!(first_key.starts_with("mutex/"), "{first_key}");
    let (mut second, second_lines) = spawn_lines(e, &["lock", "mutex"]);
    assert!(
        second_lines.recv_timeout(Duration::from_secs(2)).is_err(),
        "the second locker must wait while the first holds the lock"
    );
    interrupt(&first);
    let _ = first.wait();
    let second_key = second_lines.recv_timeout(Duration::from_secs(10)).expect("second holds");
    assert!(second_key.starts_with("mutex/") && second_key != first_key, "{second_key}");
    interrupt(&second);
    let _ = second.wait();
}

/// Starts etcdctl and hands its stdout over line by line.
fn spawn_lines(e: &str, args: &[&str]) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = etcdctl::command(e, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("etcdctl starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (child, received)
}

/// SIGINT, as Ctrl-C in the seed guide's terminal: etcdctl closes its session on the way out.
fn interrupt(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}
