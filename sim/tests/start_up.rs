//! A member's start-up, specified as runs of whole simulated clusters: a (re)started member serves
//! clients only once it is ready (`Member::until_ready`: caught up with the cluster, its client
//! URLs published through raft), so it never answers from the past.
//!
//! Each test runs on several seeds, each twice under madsim's determinism check.
#![cfg(madsim)]

mod support;

use detcd_core::raft::types::NodeId;
use detcd_core::Error;
use detcd_sim::check_determinism;
use detcd_sim::client::{Outcome, SimClient};
use detcd_sim::cluster::{Cluster, ClusterOptions};
use detcd_sim::faults::{Fault, Target};
use detcd_sim::transport::Carried;
use detcd_sim::transport::{client_urls, member_info};
use detcd_sim::watch_client::WatchClient;
use std::time::Duration;
use support::{answer_with_retry, get, put};

const SEEDS: std::ops::Range<u64> = 0..3;
const ELECTION_LIMIT: Duration = Duration::from_secs(15);

/// A client on its own node, giving up on a call after a second; runs `body` there.
async fn on_client<F, T>(ids: Vec<NodeId>, body: impl FnOnce(SimClient) -> F + Send + 'static) -> T
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    support::on_client(ids, |mut client| {
        client.timeout = Duration::from_secs(1);
        body(client)
    })
    .await
}

/// Puts `key` = `value{i}` for i in 0..count and returns the revision of the last acknowledged
/// put and its value; panics if none is acknowledged.
async fn overwrite(client: &mut SimClient, key: &str, count: usize) -> (i64, String) {
    let mut last = None;
    for i in 0..count {
        let value = format!("value{i}");
        if let Outcome::Ok(response) = client.call(put(key, &value)).await {
            last = Some((response.header.revision, value));
        }
    }
    last.expect("a healthy cluster acknowledges a put")
}

/// The first answer to `request` (retried on refusals and timeouts for up to 30 s of virtual time).
async fn first_answer<R: Carried + std::fmt::Debug>(
    client: &mut SimClient,
    request: R,
) -> R::Answer {
    answer_with_retry(client, request, 60).await
}

/// A follower crashes, the cluster moves on, and the follower restarts cut off from its peers
/// (its clients still reach it): it holds only its old state, so it must refuse every read and
/// every watch until it has caught up, and then answer nothing older than the cluster's state.
async fn restarted_member_behind() {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let behind = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    let ids = cluster.ids();
    let (before, _) =
        on_client(ids.clone(), |mut c| async move { overwrite(&mut c, "k", 5).await }).await;
    // What the follower itself acknowledged before its crash.
    let served = on_client(vec![behind], move |mut c| async move {
        loop {
            let range = first_answer(&mut c, get("k", true)).await;
            if range.header.revision >= before {
                return range.header.revision;
            }
            madsim::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    cluster.crash(behind);
    let (acked, value) =
        on_client(ids.clone(), |mut c| async move { overwrite(&mut c, "k", 5).await }).await;
    assert!(acked > served, "the cluster moved on while the follower was down");

    cluster.apply(&Fault::Strand { target: Target::Member(behind) }, &[]);
    cluster.restart(behind);
    madsim::time::sleep(Duration::from_secs(1)).await;
    let member = cluster.member(behind).expect("the follower runs again");
    assert!(!member.is_ready(), "a member cut off from its peers cannot be ready");
    assert!(member.status().revision < acked, "the restarted follower holds only its old state");
    on_client(vec![behind], move |mut c| async move {
        for serializable in [true, false, true] {
            let outcome = c.call(get("k", serializable)).await;
            assert_eq!(
                outcome,
                Outcome::Failed(Error::Stopped),
                "a member that is not ready refuses (serializable: {serializable})"
            );
        }
        let opened = WatchClient::open(behind, Duration::from_secs(1)).await;
        assert!(opened.is_err(), "a member that is not ready opens no watch stream");
    })
    .await;

    cluster.apply(&Fault::HealNetwork, &[]);
    for serializable in [true, false] {
        let (seen_revision, seen_value) = on_client(vec![behind], move |mut c| async move {
            let range = first_answer(&mut c, get("k", serializable)).await;
            (range.header.revision, range.kvs.first().map(|kv| kv.value.clone()))
        })
        .await;
        assert!(
            seen_revision >= acked && seen_revision >= served,
            "a restarted member answered from revision {seen_revision}, older than {acked} \
             (serializable: {serializable})"
        );
        assert_eq!(seen_value, Some(value.clone().into_bytes()), "the newest acknowledged value");
    }
    assert!(member.is_ready(), "once it answers, it is ready");
}

#[test]
fn a_restarted_member_that_is_behind_never_answers_from_older_state() {
    for seed in SEEDS {
        check_determinism(seed, restarted_member_behind);
    }
}

/// Every member crashes at once and restarts: each member's first answer, serializable or
/// linearizable, shows the last write acknowledged before the crash.
async fn whole_cluster_restart() {
    let cluster = Cluster::start(ClusterOptions::default());
    cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    let ids = cluster.ids();
    let (acked, value) =
        on_client(ids.clone(), |mut c| async move { overwrite(&mut c, "w", 10).await }).await;
    for id in cluster.ids() {
        cluster.crash(id);
    }
    for id in cluster.ids() {
        cluster.restart(id);
    }
    for id in ids {
        for serializable in [true, false] {
            let value = value.clone();
            on_client(vec![id], move |mut c| async move {
                let range = first_answer(&mut c, get("w", serializable)).await;
                assert!(
                    range.header.revision >= acked,
                    "n{id} answered from revision {} after a restart, older than the acknowledged \
                     {acked} (serializable: {serializable})",
                    range.header.revision
                );
                let seen = range.kvs.first().map(|kv| kv.value.clone());
                assert_eq!(seen, Some(value.into_bytes()), "n{id} lost an acknowledged write");
            })
            .await;
        }
    }
}

#[test]
fn a_write_acknowledged_before_a_whole_cluster_restart_is_visible_after_it() {
    for seed in SEEDS {
        check_determinism(seed, whole_cluster_restart);
    }
}

/// The cluster starts knowing every member's name and peer URL only; each member publishes its
/// client URLs itself (a follower through the leader), and so does a member added later.
async fn members_publish() {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    cluster.add_node(4, None);
    let member = cluster.member(leader).expect("leader runs");
    member.add_learner(4, member_info(4)).await.expect("add learner");
    for _ in 0..100 {
        let published = cluster.ids().into_iter().all(|id| {
            cluster.member(id).is_some_and(|m| {
                m.is_ready()
                    && m.member_list().iter().all(|s| s.info.client_urls == client_urls(s.id))
            })
        });
        if published {
            return;
        }
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
    let lists: Vec<_> = cluster
        .ids()
        .into_iter()
        .filter_map(|id| cluster.member(id))
        .map(|m| (m.id(), m.is_ready(), m.member_list()))
        .collect();
    panic!("not every member published its client URLs within 10 s: {lists:?}");
}

#[test]
fn every_member_publishes_its_client_urls_through_raft() {
    for seed in SEEDS {
        check_determinism(seed, members_publish);
    }
}
