//! Replication, specified as runs of whole simulated clusters (issue: openraft over the core).
//!
//! Each test runs on several seeds, each twice under madsim's determinism check; every
//! acknowledged write must survive whatever the test does
//! to the cluster, and revisions seen by a reader never go backwards.
#![cfg(madsim)]

mod support;

use detcd_core::api::PutRequest;
use detcd_core::raft::types::NodeId;
use detcd_sim::check_determinism;
use detcd_sim::client::{Outcome, SimClient};
use detcd_sim::cluster::{Cluster, ClusterOptions, MemberSlot};
use detcd_sim::transport::Carried;
use std::collections::BTreeMap;
use std::time::Duration;
use support::{answer_with_retry, get, on_client, put, spawn_client};

const SEEDS: std::ops::Range<u64> = 0..3;
const ELECTION_LIMIT: Duration = Duration::from_secs(15);

/// Writes `count` keys `{prefix}{i}`, returning those whose write was acknowledged.
async fn write_keys(client: &mut SimClient, prefix: &str, count: usize) -> Vec<String> {
    let mut acked = Vec::new();
    for i in 0..count {
        let key = format!("{prefix}{i:03}");
        if client.call(put(&key, &key)).await.is_ok() {
            acked.push(key);
        }
    }
    acked
}

/// Reads every key linearizably (retrying through elections); panics on a lost one.
async fn assert_present(client: &mut SimClient, keys: &[String]) -> i64 {
    let mut last_revision = 0;
    for key in keys {
        let range = read_with_retry(client, get(key, false)).await;
        assert_eq!(range.kvs.len(), 1, "acknowledged write of {key} is lost");
        assert_eq!(range.kvs[0].value, key.as_bytes());
        assert!(range.header.revision >= last_revision, "revision went backwards");
        last_revision = range.header.revision;
    }
    last_revision
}

async fn read_with_retry<R: Carried + std::fmt::Debug>(
    client: &mut SimClient,
    request: R,
) -> R::Answer {
    answer_with_retry(client, request, 40).await
}

fn cluster(members: usize) -> Cluster {
    Cluster::start(ClusterOptions { members, ..ClusterOptions::default() })
}

async fn elected_and_replicated(members: usize) {
    let cluster = cluster(members);
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await;
    assert!(leader.is_some(), "no leader elected within {ELECTION_LIMIT:?}");
    let acked = on_client(cluster.ids(), |mut client| async move {
        let acked = write_keys(&mut client, "k", 20).await;
        assert_present(&mut client, &acked).await;
        acked
    })
    .await;
    assert_eq!(acked.len(), 20, "a healthy cluster acknowledges every write");
    madsim::time::sleep(Duration::from_secs(1)).await;
    // Every member applied the same writes: equal revisions and equal key-space hashes.
    let hashes: Vec<(i64, u32)> = cluster
        .ids()
        .into_iter()
        .map(|id| {
            let member = cluster.member(id).expect("running");
            let revision = member.status().revision;
            (revision, member.hash_kv(revision).expect("hash").hash)
        })
        .collect();
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "members diverged: {hashes:?}");
    assert_eq!(hashes[0].0, 21, "20 puts raise the revision from 1 to 21");
}

#[test]
fn three_members_elect_a_leader_and_replicate_writes() {
    for seed in SEEDS {
        check_determinism(seed, || elected_and_replicated(3));
    }
}

#[test]
fn five_members_elect_a_leader_and_replicate_writes() {
    for seed in SEEDS {
        check_determinism(seed, || elected_and_replicated(5));
    }
}

async fn leader_crash() {
    let cluster = cluster(3);
    let first = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let ids = cluster.ids();
    let before =
        on_client(ids.clone(), |mut c| async move { write_keys(&mut c, "a", 10).await }).await;
    cluster.crash(first);
    let second = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("re-election");
    assert_ne!(first, second, "the crashed leader cannot lead");
    let after =
        on_client(ids.clone(), |mut c| async move { write_keys(&mut c, "b", 10).await }).await;
    assert!(!after.is_empty(), "the surviving majority accepts writes");
    cluster.restart(first);
    madsim::time::sleep(Duration::from_secs(3)).await;
    let all: Vec<String> = before.into_iter().chain(after).collect();
    on_client(ids, move |mut c| async move { assert_present(&mut c, &all).await }).await;
}

#[test]
fn a_crashed_leader_is_replaced_and_loses_no_acknowledged_write() {
    for seed in SEEDS {
        check_determinism(seed, leader_crash);
    }
}

async fn follower_restart() {
    let cluster = cluster(3);
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let follower = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    let ids = cluster.ids();
    let acked =
        on_client(ids.clone(), |mut c| async move { write_keys(&mut c, "f", 10).await }).await;
    cluster.crash(follower);
    let more =
        on_client(ids.clone(), |mut c| async move { write_keys(&mut c, "g", 10).await }).await;
    cluster.restart(follower);
    madsim::time::sleep(Duration::from_secs(3)).await;
    let member = cluster.member(follower).expect("restarted follower runs");
    let expected = (acked.len() + more.len()) as i64 + 1;
    assert_eq!(
        member.status().revision,
        expected,
        "the follower caught up from its disk and the leader"
    );
}

#[test]
fn a_follower_restarts_from_its_disk_and_catches_up() {
    for seed in SEEDS {
        check_determinism(seed, follower_restart);
    }
}

async fn whole_cluster_restart() {
    let cluster = cluster(3);
    cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let ids = cluster.ids();
    let acked =
        on_client(ids.clone(), |mut c| async move { write_keys(&mut c, "w", 15).await }).await;
    for id in cluster.ids() {
        cluster.crash(id);
    }
    for id in cluster.ids() {
        cluster.restart(id);
    }
    cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader after restart");
    let revision =
        on_client(ids, move |mut c| async move { assert_present(&mut c, &acked).await }).await;
    assert!(revision >= 16, "revisions never go backwards across a full restart");
}

#[test]
fn the_whole_cluster_crashes_and_restarts_without_losing_acknowledged_writes() {
    for seed in SEEDS {
        check_determinism(seed, whole_cluster_restart);
    }
}

fn small_snapshots(config: &mut detcd_core::member::MemberConfig) {
    config.snapshot_entries = 20;
    config.snapshot_catchup_entries = 0;
}

async fn snapshot_catch_up() {
    let cluster =
        Cluster::start(ClusterOptions { configure: small_snapshots, ..ClusterOptions::default() });
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let lagging = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    cluster.isolate(lagging);
    let ids = cluster.ids();
    let acked = on_client(ids, |mut c| async move { write_keys(&mut c, "s", 60).await }).await;
    let leader_member = cluster.member(leader).expect("leader runs");
    let purged = leader_member.metrics().purged;
    assert!(purged.is_some(), "the leader purged its log behind a snapshot");
    cluster.rejoin(lagging);
    madsim::time::sleep(Duration::from_secs(5)).await;
    let member = cluster.member(lagging).expect("running");
    assert_eq!(member.status().revision, acked.len() as i64 + 1, "caught up by snapshot install");
    assert!(member.metrics().snapshot.is_some(), "the lagging member installed a snapshot");
}

#[test]
fn a_member_cut_off_past_log_compaction_catches_up_by_snapshot() {
    for seed in SEEDS {
        check_determinism(seed, snapshot_catch_up);
    }
}

fn torn_disks() -> ClusterOptions {
    let mut options = ClusterOptions::default();
    options.disk_faults.torn_write_probability = 1.0;
    options
}

async fn crashes_with_torn_tails() {
    let cluster = Cluster::start(torn_disks());
    cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let ids = cluster.ids();
    let mut acked = Vec::new();
    for round in 0..3 {
        let prefix = format!("t{round}-");
        acked.extend(
            on_client(
                ids.clone(),
                move |mut c| async move { write_keys(&mut c, &prefix, 8).await },
            )
            .await,
        );
        let victim = ids[round % ids.len()];
        cluster.crash(victim);
        madsim::time::sleep(Duration::from_millis(300)).await;
        cluster.restart(victim);
        cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader after crash");
    }
    madsim::time::sleep(Duration::from_secs(2)).await;
    for id in cluster.ids() {
        match cluster.slot(id) {
            Some(MemberSlot::Running(_)) => {}
            Some(MemberSlot::Failed(reason)) => {
                panic!("n{id} did not recover its torn WAL: {reason}")
            }
            _ => panic!("n{id} is not running after its restart"),
        }
    }
    on_client(ids, move |mut c| async move { assert_present(&mut c, &acked).await }).await;
}

#[test]
fn unsynced_loss_and_torn_tails_on_crash_lose_no_acknowledged_write() {
    for seed in SEEDS {
        check_determinism(seed, crashes_with_torn_tails);
    }
}

async fn corrupted_middle_record() -> String {
    let cluster = cluster(3);
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let victim = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    on_client(cluster.ids(), |mut c| async move { write_keys(&mut c, "c", 20).await }).await;
    madsim::time::sleep(Duration::from_secs(1)).await;
    cluster.crash(victim);
    let disk = &cluster.members[&victim].disk;
    let segment = disk.paths().into_iter().find(|p| p.starts_with("wal/")).expect("a WAL segment");
    let length = disk.durable_bytes(&segment).expect("segment bytes").len() as u64;
    disk.corrupt_byte(&segment, length / 2).expect("corrupt");
    cluster.restart(victim);
    madsim::time::sleep(Duration::from_secs(1)).await;
    match cluster.slot(victim) {
        Some(MemberSlot::Failed(reason)) => reason,
        _ => panic!("a WAL damaged before its tail must refuse to start"),
    }
}

#[test]
fn a_corrupted_middle_record_makes_recovery_fail_loudly() {
    for seed in SEEDS {
        let reason = check_determinism(seed, corrupted_middle_record);
        assert!(reason.contains("wal/"), "the error names the file: {reason}");
        assert!(reason.contains("offset"), "the error names the offset: {reason}");
    }
}

async fn membership_under_load() {
    let mut cluster = cluster(3);
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    cluster.add_node(4, None);
    let writer_ids = vec![1, 2, 3, 4];
    let writes =
        on_client(writer_ids.clone(), |mut c| async move { write_keys(&mut c, "m", 30).await });
    let member = cluster.member(leader).expect("leader");
    let change = async {
        member.add_learner(4, detcd_sim::transport::member_info(4)).await.expect("add learner");
        member.promote([4].into()).await.expect("promote");
        let removed = if leader == 2 { 3 } else { 2 };
        member.remove_members([removed].into()).await.expect("remove");
        removed
    };
    let (acked, removed) = futures_join(writes, change).await;
    let voters: BTreeMap<NodeId, bool> =
        member.member_list().into_iter().map(|m| (m.id, m.is_learner)).collect();
    assert_eq!(voters.get(&4), Some(&false), "member 4 was promoted to voter");
    assert!(!voters.contains_key(&removed), "member {removed} was removed");
    madsim::time::sleep(Duration::from_secs(2)).await;
    let survivors: Vec<NodeId> = writer_ids.into_iter().filter(|id| *id != removed).collect();
    on_client(survivors, move |mut c| async move { assert_present(&mut c, &acked).await }).await;
    // The removed member no longer takes part: it cannot get a write committed.
    let outcome = on_client(vec![removed], |mut c| async move {
        c.timeout = Duration::from_secs(2);
        c.call(put("after-removal", "x")).await
    })
    .await;
    assert!(!outcome.is_ok(), "a removed member must not serve writes, got {outcome:?}");
}

async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    futures::future::join(a, b).await
}

#[test]
fn membership_changes_under_load_and_a_removed_member_stops_serving() {
    for seed in SEEDS {
        check_determinism(seed, membership_under_load);
    }
}

#[test]
fn replication_runs_are_deterministic() {
    for seed in 0..2 {
        check_determinism(seed, leader_crash);
    }
}

fn grant(id: i64, ttl: i64) -> detcd_core::api::LeaseGrantRequest {
    detcd_core::api::LeaseGrantRequest { ttl, id }
}

fn put_with_lease(key: &str, lease: i64) -> PutRequest {
    PutRequest { key: key.into(), value: b"v".to_vec(), lease, ..Default::default() }
}

fn keep_alive(id: i64) -> detcd_core::api::LeaseKeepAliveRequest {
    detcd_core::api::LeaseKeepAliveRequest { id }
}

async fn present(client: &mut SimClient, key: &str) -> bool {
    !read_with_retry(client, get(key, false)).await.kvs.is_empty()
}

/// A lease nobody keeps alive expires on the leader's clock, and its keys go with it.
async fn lease_expiry() -> (bool, bool, i64) {
    let cluster = cluster(3);
    cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    on_client(cluster.ids(), |mut c| async move {
        assert!(c.call(grant(7, 3)).await.is_ok(), "grant");
        assert!(c.call(put_with_lease("leased", 7)).await.is_ok(), "put with lease");
        let before = present(&mut c, "leased").await;
        madsim::time::sleep(Duration::from_secs(5)).await;
        let after = present(&mut c, "leased").await;
        let request = detcd_core::api::LeaseTimeToLiveRequest::default();
        let ttl = read_with_retry(&mut c, request).await.ttl;
        (before, after, ttl)
    })
    .await
}

#[test]
fn an_unrenewed_lease_expires_on_the_leader_and_deletes_its_keys() {
    for seed in SEEDS {
        let (before, after, ttl) = check_determinism(seed, lease_expiry);
        assert!(before, "the key exists while the lease lives");
        assert!(!after, "3 s TTL + 0.5 s check + 3 s revoke retry: gone after 5 s");
        assert_eq!(ttl, -1, "an expired lease reports ttl -1");
    }
}

/// Keep-alives reach whoever leads; a new leader gives every lease its full TTL back, so a kept
/// lease survives the failover even though the old leader's countdown is lost.
async fn keep_alive_across_failover() -> Vec<bool> {
    let cluster = cluster(3);
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let ids = cluster.ids();
    let client = spawn_client(ids, |mut c| async move {
        assert!(c.call(grant(9, 4)).await.is_ok(), "grant");
        assert!(c.call(put_with_lease("kept", 9)).await.is_ok(), "put with lease");
        let mut seen = Vec::new();
        for _ in 0..12 {
            let _ = c.call(keep_alive(9)).await;
            madsim::time::sleep(Duration::from_secs(1)).await;
            if let Outcome::Ok(range) = c.call(get("kept", true)).await {
                seen.push(!range.kvs.is_empty());
            }
        }
        seen
    });
    madsim::time::sleep(Duration::from_secs(3)).await;
    cluster.crash(leader);
    cluster.wait_for_leader(ELECTION_LIMIT).await.expect("re-election");
    client.await.expect("client")
}

#[test]
fn a_kept_alive_lease_survives_leader_failover() {
    for seed in SEEDS {
        let seen = check_determinism(seed, keep_alive_across_failover);
        assert!(seen.len() >= 8, "enough observations: {seen:?}");
        assert!(seen.iter().all(|present| *present), "the kept-alive key never vanished: {seen:?}");
    }
}

/// Followers' clocks running fast do not expire leases: only the leader counts.
async fn followers_with_fast_clocks() -> bool {
    let cluster = cluster(3);
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    for id in cluster.ids().into_iter().filter(|id| *id != leader) {
        let node = cluster.members[&id].node.id();
        detcd_core::runtime::node_clock::set_skew(
            node,
            detcd_core::runtime::ClockSkew { offset_nanos: 0, rate: 4.0 },
        );
    }
    on_client(cluster.ids(), |mut c| async move {
        assert!(c.call(grant(11, 6)).await.is_ok(), "grant");
        assert!(c.call(put_with_lease("slow", 11)).await.is_ok(), "put");
        // 3 s of true time = 12 s on the followers' clocks, twice the TTL.
        madsim::time::sleep(Duration::from_secs(3)).await;
        present(&mut c, "slow").await
    })
    .await
}

#[test]
fn fast_follower_clocks_do_not_expire_leases() {
    for seed in SEEDS {
        assert!(
            check_determinism(seed, followers_with_fast_clocks),
            "the lease outlived the followers' fast clocks"
        );
    }
}
