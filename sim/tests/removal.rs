//! A member removed from the cluster stops serving, as etcd's does (`member::removal`), specified
//! as runs of whole simulated clusters: whether it applied its own removal or was cut off when
//! the removal committed, it ends its watch streams and refuses its clients (`Stopped`: ask
//! another member), so nobody waits on it for revisions it will never see.
//!
//! Each test runs on several seeds, each twice under madsim's determinism check.
#![cfg(madsim)]

mod support;

use detcd_core::raft::types::NodeId;
use detcd_core::watch::WatchCreateRequest;
use detcd_core::Error;
use detcd_sim::check_determinism;
use detcd_sim::client::Outcome;
use detcd_sim::cluster::{Cluster, ClusterOptions};
use detcd_sim::faults::{Fault, Target};
use detcd_sim::watch_client::WatchClient;
use std::time::Duration;
use support::{get, on_client, put};

const SEEDS: std::ops::Range<u64> = 0..3;
const ELECTION_LIMIT: Duration = Duration::from_secs(15);

/// Waits up to `limit` for member `id` to know it was removed.
async fn until_removed(cluster: &Cluster, id: NodeId, limit: Duration) -> bool {
    let deadline = madsim::time::Instant::now() + limit;
    while madsim::time::Instant::now() < deadline {
        if cluster.member(id).is_some_and(|m| m.is_removed()) {
            return true;
        }
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A follower with a watcher on it is removed: it refuses reads and ends the watch stream, and
/// the cluster goes on without it.
async fn removed_while_watched(cut_off: bool) {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    assert!(cluster.wait_for_all_ready(ELECTION_LIMIT).await, "every member ready");
    let removed = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    let stream = on_client(vec![removed], move |_| async move {
        let stream = WatchClient::open(removed, Duration::from_secs(1)).await.expect("stream");
        let watch = WatchCreateRequest { key: b"w".to_vec(), ..Default::default() };
        stream.create(watch).await.expect("watch created");
        stream
    })
    .await;
    if cut_off {
        // It never hears of its removal from the leader: it learns of it from a peer's answer
        // to its election calls once the network heals.
        cluster.apply(&Fault::Strand { target: Target::Member(removed) }, &[]);
    }
    let member = cluster.member(leader).expect("leader runs");
    member.remove_members([removed].into()).await.expect("member removed");
    cluster.apply(&Fault::HealNetwork, &[]);
    assert!(
        until_removed(&cluster, removed, Duration::from_secs(20)).await,
        "n{removed} still serves 20 s after its removal (cut off: {cut_off})"
    );
    on_client(vec![removed], move |mut client| async move {
        assert_eq!(client.call(get("w", true)).await, Outcome::Failed(Error::Stopped));
        let mut ended = false;
        for _ in 0..5 {
            if stream.poll(Duration::from_millis(500)).await.is_err() {
                ended = true;
                break;
            }
        }
        assert!(ended, "the removed member's watch stream goes on");
    })
    .await;
    let others: Vec<NodeId> = cluster.ids().into_iter().filter(|id| *id != removed).collect();
    on_client(others, |mut client| async move {
        let mut answered = false;
        for _ in 0..20 {
            if matches!(client.call(put("w", "after")).await, Outcome::Ok(_)) {
                answered = true;
                break;
            }
            madsim::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(answered, "the remaining members serve writes");
    })
    .await;
}

#[test]
fn a_member_that_applies_its_own_removal_stops_serving() {
    for seed in SEEDS {
        check_determinism(seed, || removed_while_watched(false));
    }
}

#[test]
fn a_member_cut_off_when_its_removal_committed_stops_once_a_peer_answers_it() {
    for seed in SEEDS {
        check_determinism(seed, || removed_while_watched(true));
    }
}
