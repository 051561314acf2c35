//! A three-member `detcd` cluster driven by etcdctl: membership, replication, follower writes.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl::ok;
use std::time::Duration;

#[test]
fn three_members_list_each_other_and_elect_one_leader() {
    let cluster = Cluster::start(3);
    let e = &cluster.endpoints();
    // A member's publish is applied on the others within a heartbeat or so.
    let members = member_list_once_complete(e, cluster.nodes.len());
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

/// `member add`, then the new member starts with `--initial-cluster-state existing`, catches up,
/// publishes itself, and can be removed again with `member remove`.
#[test]
fn a_member_added_with_etcdctl_joins_and_can_be_removed() {
    let mut cluster = Cluster::start(3);
    let e = cluster.endpoints();
    ok(&e, &["put", "before", "join"]);
    let new = cluster.plan_node();
    let peer_url = cluster.peer_url(new);
    // Sent to the leader here; membership_forwarding.rs shows a follower forwarding them.
    let leader = leader_endpoint(&cluster);
    let added = ok(&leader, &["member", "add", "infra4", &format!("--peer-urls={peer_url}")]);
    assert!(added.contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\""), "{added}");
    let id = added.split_whitespace().nth(1).expect("member id").to_string();
    cluster.start_joining(new);
    let fourth = cluster.nodes[new].endpoint();
    assert_eq!(ok(&fourth, &["get", "before"]), "before\njoin\n");
    let members = ok(&fourth, &["member", "list"]);
    let row = format!("{id}, started, infra4, {peer_url}, http://{fourth}, false");
    assert!(members.contains(&row), "no {row} in\n{members}");
    let removed = ok(&leader, &["member", "remove", &id]);
    // etcdctl prints ids with `%16x`: space-padded when shorter than 16 digits.
    let words: Vec<&str> = removed.split_whitespace().take(3).collect();
    assert_eq!(words, ["Member", id.as_str(), "removed"], "{removed}");
    assert_eq!(ok(&e, &["member", "list"]).lines().count(), 3);
    // As etcd's: the removed member stops for good.
    assert!(cluster.nodes[new].exits_within(Duration::from_secs(20)), "the removed member runs on");
    let log = cluster.nodes[new].log_text();
    assert!(log.contains("permanently removed from the cluster"), "{log}");
}

/// `member list -w table` once every one of `size` members shows a client URL.
fn member_list_once_complete(e: &str, size: usize) -> String {
    let mut table = String::new();
    for _ in 0..50 {
        table = ok(e, &["member", "list", "-w", "table"]);
        let complete = table
            .lines()
            .filter(|l| {
                l.contains("| started |")
                    && l.contains("| http://127.0.0.1:")
                    && !l.contains("|                        |")
            })
            .count();
        if complete == size {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    table
}

/// The endpoint of the member `endpoint status` reports as leader.
fn leader_endpoint(cluster: &Cluster) -> String {
    for node in &cluster.nodes {
        let status = ok(&node.endpoint(), &["endpoint", "status"]);
        // "127.0.0.1:port, id, version, db size, is leader, ..."
        if status.split(", ").nth(4) == Some("true") {
            return node.endpoint();
        }
    }
    panic!("no leader among {}", cluster.endpoints());
}
