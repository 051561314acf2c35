//! Membership changes sent to a follower are forwarded to the leader (as etcd's followers do),
//! and `member update` changes a member's peer URLs.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl::{ok, run};

/// The endpoint of some member that is not the leader.
fn follower_endpoint(cluster: &Cluster) -> String {
    for node in &cluster.nodes {
        let status = ok(&node.endpoint(), &["endpoint", "status"]);
        // "127.0.0.1:port, id, version, db size, is leader, ..."
        if status.split(", ").nth(4) == Some("false") {
            return node.endpoint();
        }
    }
    panic!("no follower among {}", cluster.endpoints());
}

/// Whether `output` begins with `words`, however they are spaced.
fn says(output: &str, words: &[&str]) -> bool {
    output.split_whitespace().take(words.len()).eq(words.iter().copied())
}

#[test]
fn a_follower_adds_updates_and_removes_a_member_through_the_leader() {
    let mut cluster = Cluster::start(3);
    let follower = follower_endpoint(&cluster);
    let planned = cluster.plan_node();
    let peer_url = cluster.peer_url(planned);

    let added = ok(
        &follower,
        &["member", "add", "infra4", "--learner", &format!("--peer-urls={peer_url}")],
    );
    let id = added.split_whitespace().nth(1).expect("member id").to_string();
    let listed = ok(&follower, &["member", "list"]);
    assert!(listed.contains(&format!("{id}, unstarted, , {peer_url}, , true")), "{listed}");

    let moved = "http://127.0.0.1:1";
    let updated = ok(&follower, &["member", "update", &id, &format!("--peer-urls={moved}")]);
    // etcdctl prints ids with `%16x`: space-padded when shorter than 16 digits.
    assert!(says(&updated, &["Member", &id, "updated"]), "{updated}");
    // Only the members that run (the planned one never starts).
    for node in &cluster.nodes[..planned] {
        let listed = run(&node.endpoint(), &["member", "list"]);
        let row = format!("{id}, unstarted, , {moved}, , true");
        assert!(listed.stdout.contains(&row), "{listed:?}\n{}", cluster.logs());
    }

    let unknown = run(&follower, &["member", "update", "1234", "--peer-urls=http://127.0.0.1:2"]);
    assert!(!unknown.ok && unknown.stderr.contains("member not found"), "{unknown:?}");

    let removed = ok(&follower, &["member", "remove", &id]);
    assert!(says(&removed, &["Member", &id, "removed"]), "{removed}");
    assert_eq!(ok(&follower, &["member", "list"]).lines().count(), 3);
    assert_eq!(ok(&follower, &["put", "still", "writable"]), "OK\n");
}
