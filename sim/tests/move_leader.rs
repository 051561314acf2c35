//! `MoveLeader` in whole simulated clusters (`member::move_leader`): asked of a follower it is
//! refused (`NotLeader`), to a member the cluster does not have it is refused
//! (`BadLeaderTransferee`), and asked of the leader it hands leadership to the target, which
//! every member then names, and the cluster serves writes under the new leader. The transfer's
//! raft messages cross the simulated network like every other.
//!
//! Each test runs on several seeds, each twice under madsim's determinism check.
#![cfg(madsim)]

mod support;

use detcd_core::member::MoveLeaderRequest;
use detcd_core::Error;
use detcd_sim::check_determinism;
use detcd_sim::client::Outcome;
use detcd_sim::cluster::{Cluster, ClusterOptions};
use std::time::Duration;
use support::{on_client, put};

const SEEDS: std::ops::Range<u64> = 0..3;
const ELECTION_LIMIT: Duration = Duration::from_secs(15);

async fn move_leader_to_a_follower() {
    let cluster = Cluster::start(ClusterOptions::default());
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    assert!(cluster.wait_for_all_ready(ELECTION_LIMIT).await, "every member ready");
    let target = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    on_client(vec![target], move |mut client| async move {
        let asked_follower = client.call(MoveLeaderRequest { target_id: target }).await;
        assert_eq!(asked_follower, Outcome::Failed(Error::NotLeader));
    })
    .await;
    on_client(vec![leader], move |mut client| async move {
        let unknown = client.call(MoveLeaderRequest { target_id: 0xdead }).await;
        assert_eq!(unknown, Outcome::Failed(Error::BadLeaderTransferee));
        let itself = client.call(MoveLeaderRequest { target_id: leader }).await;
        assert!(itself.is_ok(), "moving to the leader itself is done at once: {itself:?}");
        let moved = client.call(MoveLeaderRequest { target_id: target }).await;
        assert!(moved.is_ok(), "n{leader} -> n{target}: {moved:?}");
    })
    .await;
    let all_name_target = || {
        cluster
            .ids()
            .into_iter()
            .all(|id| cluster.member(id).and_then(|m| m.leader()) == Some(target))
    };
    let mut waited = Duration::ZERO;
    while !all_name_target() && waited < Duration::from_secs(5) {
        madsim::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert!(all_name_target(), "every member names n{target} leader");
    on_client(cluster.ids(), |mut client| async move {
        let mut written = false;
        for _ in 0..10 {
            if client.call(put("after", "move")).await.is_ok() {
                written = true;
                break;
            }
            madsim::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(written, "the cluster serves writes under its new leader");
    })
    .await;
}

#[test]
fn the_leader_moves_leadership_to_the_member_asked_for() {
    for seed in SEEDS {
        check_determinism(seed, move_leader_to_a_follower);
    }
}
