//! `--experimental-initial-corrupt-check` on real members: a restarted member asks every running
//! peer for its hash at the member's own revision before serving, and starts when they agree.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl;

#[test]
fn a_restarted_member_compares_its_hash_with_every_peer_before_serving() {
    let mut cluster = Cluster::plan(3);
    for node in &mut cluster.nodes {
        node.args.push("--experimental-initial-corrupt-check".into());
    }
    cluster.start_planned();
    let endpoints = cluster.endpoints();
    for i in 0..10 {
        etcdctl::ok(&endpoints, &["put", &format!("k{i}"), &format!("v{i}")]);
    }
    etcdctl::ok(&endpoints, &["del", "k3"]);

    cluster.restart(0);
    let log = cluster.nodes[0].log_text();
    assert_eq!(log.matches("peer's hash matches").count(), 2, "{log}");
    assert!(log.contains("initial corruption checking passed"), "{log}");
    assert!(!log.contains("cannot fetch hash"), "{log}");
    let value = etcdctl::ok(&cluster.nodes[0].endpoint(), &["get", "k9", "--print-value-only"]);
    assert_eq!(value.trim(), "v9");
}
