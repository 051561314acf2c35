//! A three-member `detcd` cluster driven by etcdctl: membership, replication, follower writes.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl::ok;

#[test]
fn three_members_list_each_other_and_elect_one_leader() {
    let cluster = Cluster::start(3);
    let e = &cluster.endpoints();
    let members = ok(e, &["member", "list", "-w", "table"]);
    for node in &cluster.nodes {
        // Every member published its client URL through raft before it said it was ready.
        let row = format!(
            "| started | {} | http://127.0.0.1:{} | http://{} |",
            node.name,
            node.peer_port,
            node.endpoint()
        );
        assert!(members.contains(&row), "no {row} in\n{members}");
    }
    let status = ok(e, &["endpoint", "status", "-w", "table"]);
    assert_eq!(status.matches("|      true |").count(), 1, "exactly one leader:\n{status}");
    assert_eq!(status.matches("|     false |      false |").count(), 2, "{status}");
}

#[test]
fn a_write_on_any_member_is_read_on_every_member() {
    let cluster = Cluster::start(3);
    for (i, node) in cluster.nodes.iter().enumerate() {
        let key = format!("k{i}");
        assert_eq!(ok(&node.endpoint(), &["put", &key, "v"]), "OK\n", "{}", cluster.logs());
    }
    for node in &cluster.nodes {
        let got = ok(&node.endpoint(), &["get", "k", "--prefix", "--keys-only"]);
        assert_eq!(got, "k0\n\nk1\n\nk2\n\n", "on {}", node.name);
    }
}
