//! `--quota-backend-bytes` and the NOSPACE alarm across three real members, with the real
//! etcdctl: the leader raises the alarm through raft, so every member reports it and refuses
//! writes; reads, deletes, compaction, defragment and `alarm disarm` still work, and after them
//! writes succeed again. Auto-compaction that would compact is refused at start-up.

use detcd_tests::cluster::{detcd_binary, Cluster};
use detcd_tests::etcdctl::{ok, run};
use std::process::Command;

const NOSPACE: &str = "etcdserver: mvcc: database space exceeded";

fn health(endpoint: &str) -> String {
    let output = Command::new("curl")
        .args(["-s", &format!("http://{endpoint}/health")])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn nospace_is_raised_by_the_leader_for_every_member_and_lifted_by_compact_defrag_disarm() {
    let mut cluster = Cluster::plan(3);
    for node in &mut cluster.nodes {
        node.args.extend(["--quota-backend-bytes".to_string(), "20000".to_string()]);
    }
    cluster.start_planned();
    let all = cluster.endpoints();
    let first = cluster.nodes[0].endpoint();
    let value = "v".repeat(2000);
    let mut puts = 0;
    let refusal = loop {
        let put = run(&first, &["put", "key", &value]);
        if !put.ok {
            break put.stderr;
        }
        puts += 1;
        assert!(puts < 20, "20 puts of 2000 bytes fit a quota of 20000 bytes");
    };
    assert!(refusal.contains(NOSPACE), "{refusal}");
    assert!(puts >= 8, "the quota counts what is stored: only {puts} puts fit");

    let listed = ok(&all, &["alarm", "list"]);
    assert_eq!(listed.lines().count(), 1, "one alarm, raised once: {listed}");
    assert!(listed.trim_end().ends_with(" alarm:NOSPACE"), "{listed}");
    for node in &cluster.nodes {
        let endpoint = node.endpoint();
        assert_eq!(health(&endpoint), r#"{"health":"false"}"#, "{endpoint}");
        let put = run(&endpoint, &["put", "small", "x"]);
        assert!(!put.ok && put.stderr.contains(NOSPACE), "{endpoint}: {}", put.stderr);
        let grant = run(&endpoint, &["lease", "grant", "60"]);
        assert!(!grant.ok && grant.stderr.contains(NOSPACE), "{endpoint}: {}", grant.stderr);
        assert_eq!(ok(&endpoint, &["get", "key", "--print-value-only"]), format!("{value}\n"));
    }

    assert_eq!(ok(&all, &["del", "nothing-here"]), "0\n", "deletes still apply");
    let revision = current_revision(&all);
    ok(&all, &["compact", &revision.to_string(), "--physical"]);
    ok(&all, &["defrag"]);
    let still = run(&all, &["put", "small", "x"]);
    assert!(!still.ok && still.stderr.contains(NOSPACE), "the alarm stays until disarmed");
    let disarmed = ok(&all, &["alarm", "disarm"]);
    assert_eq!(disarmed, listed, "disarm answers the alarm it lowered");
    assert_eq!(ok(&all, &["alarm", "list"]), "");
    assert_eq!(ok(&all, &["put", "small", "x"]), "OK\n");
    for node in &cluster.nodes {
        assert_eq!(health(&node.endpoint()), r#"{"health":"true"}"#);
    }
}

/// The revision in a `get -w json` header.
fn current_revision(endpoints: &str) -> i64 {
    let json = ok(endpoints, &["get", "key", "-w", "json"]);
    let at = json.find("\"revision\":").expect("a revision in the header") + "\"revision\":".len();
    let digits: String = json[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a number")
}

#[test]
fn auto_compaction_that_would_compact_is_refused_in_one_line() {
    let output = Command::new(detcd_binary())
        .args(["--auto-compaction-retention", "1h"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("auto-compaction is not implemented"), "{stderr}");
}
