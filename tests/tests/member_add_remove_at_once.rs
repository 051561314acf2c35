//! `member add` and `member remove` answer as etcd's do (`member::admit`, `Member::remove_members`):
//! a voter added to a one-member cluster is answered at once, before it runs (the cluster then
//! waits for it, as etcd's does), and joins when started; removing the leader through a follower
//! answers success, since the removal committed, whatever became of the leader's raft after it.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl::{ok, run};
use std::time::{Duration, Instant};

#[test]
fn a_voter_added_to_a_one_member_cluster_is_answered_at_once_and_joins_when_started() {
    let mut cluster = Cluster::start(1);
    let first = cluster.nodes[0].endpoint();
    let added = cluster.plan_node();
    let peer_url = cluster.peer_url(added);
    let started = Instant::now();
    let answer = ok(&first, &["member", "add", "infra2", &format!("--peer-urls={peer_url}")]);
    assert!(started.elapsed() < Duration::from_secs(4), "answered after {:?}", started.elapsed());
    assert!(answer.contains(" added to cluster "), "{answer}");
    let members = ok(&first, &["member", "list"]);
    // "id, unstarted, , peer-url, , false": a voter that has not started yet.
    let new = members.lines().find(|line| line.contains(&peer_url)).expect("listed");
    assert!(new.contains("unstarted") && new.ends_with(", false"), "{members}");
    cluster.start_joining(added);
    let second = cluster.nodes[added].endpoint();
    assert_eq!(ok(&second, &["put", "k", "v"]), "OK\n");
    assert_eq!(ok(&first, &["get", "k", "--print-value-only"]), "v\n");
}

#[test]
fn removing_the_leader_through_a_follower_answers_success() {
    let cluster = Cluster::start(3);
    let statuses: Vec<(String, String)> = cluster
        .nodes
        .iter()
        .map(|node| {
            let status = ok(&node.endpoint(), &["endpoint", "status"]);
            // "127.0.0.1:port, id, version, db size, is leader, ..."
            let fields: Vec<&str> = status.split(", ").collect();
            (node.endpoint(), format!("{}|{}", fields[1], fields[4]))
        })
        .collect();
    let leader_id = statuses
        .iter()
        .find_map(|(_, s)| s.strip_suffix("|true").map(str::to_string))
        .expect("a leader");
    let follower = statuses.iter().find(|(_, s)| s.ends_with("|false")).expect("a follower");
    let removed = run(&follower.0, &["member", "remove", &leader_id]);
    assert!(removed.ok, "{}\n{}", removed.stdout, removed.stderr);
    assert!(
        removed.stdout.contains(&format!("{leader_id} removed from cluster")),
        "{}",
        removed.stdout
    );
    let members = ok(&follower.0, &["member", "list"]);
    assert_eq!(members.lines().count(), 2, "{members}");
    assert!(!members.contains(&leader_id), "{members}");
}
