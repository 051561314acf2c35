//! etcd 3.5's calls in whole simulated clusters, served by the same core the server runs:
//! - `MemberList{linearizable}` (`member::read_index`): a stranded follower still lists its own
//!   view, but refuses a linearizable list until the network heals;
//! - `Downgrade` (`member::downgrade`): enabled through a follower, the state reaches every
//!   member through raft, survives a crash and restart, and a cancel clears it;
//! - `RangeStream` (etcd 3.7, `member::range_stream`): a range over many keys, asked of a
//!   follower, comes in chunks that merge into the plain range at the same revision.
//!
//! Each test runs on several seeds, each twice under madsim's determinism check.
#![cfg(madsim)]

mod support;

use detcd_core::api::{RangeRequest, RequestOp, TxnRequest};
use detcd_core::apply::{DowngradeAction, DowngradeInfo, DowngradeRequest};
use detcd_core::member::{MemberListRequest, RangeStreamRequest};
use detcd_core::Error;
use detcd_sim::check_determinism;
use detcd_sim::client::Outcome;
use detcd_sim::cluster::{Cluster, ClusterOptions};
use detcd_sim::faults::{Fault, Target};
use std::time::Duration;
use support::{on_client, put};

const SEEDS: std::ops::Range<u64> = 0..3;
const ELECTION_LIMIT: Duration = Duration::from_secs(15);

async fn stranded_member_refuses_a_linearizable_member_list() {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    assert!(cluster.wait_for_all_ready(ELECTION_LIMIT).await, "every member ready");
    let follower = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    let member = cluster.member(follower).expect("follower runs");
    let linearizable = MemberListRequest { linearizable: true };
    let listed = member.call(linearizable).await.expect("linearizable list");
    assert_eq!(listed.len(), 3);

    cluster.apply(&Fault::Strand { target: Target::Member(follower) }, &[]);
    let own_view = member.call(MemberListRequest::default()).await.expect("its own view");
    assert_eq!(own_view, listed);
    let refused = member.call(linearizable).await;
    assert!(
        matches!(refused, Err(Error::NoLeader | Error::Timeout | Error::LeaderChanged)),
        "{refused:?}"
    );

    cluster.apply(&Fault::HealNetwork, &[]);
    let deadline = madsim::time::Instant::now() + ELECTION_LIMIT;
    while member.call(linearizable).await.is_err() {
        assert!(madsim::time::Instant::now() < deadline, "never linearizable again");
        madsim::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until every running member has applied `expected`.
async fn all_report(cluster: &Cluster, expected: &DowngradeInfo) {
    let deadline = madsim::time::Instant::now() + ELECTION_LIMIT;
    loop {
        let members: Vec<_> =
            cluster.ids().into_iter().filter_map(|id| cluster.member(id)).collect();
        if members.len() == 3 && members.iter().all(|m| m.downgrade_info() == *expected) {
            return;
        }
        assert!(madsim::time::Instant::now() < deadline, "never all {expected:?}");
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
}

fn downgrade(action: DowngradeAction, version: &str) -> DowngradeRequest {
    DowngradeRequest { action, version: version.into() }
}

async fn downgrade_state_is_replicated_and_survives_a_restart() {
    let cluster = Cluster::start(ClusterOptions::default());
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    assert!(cluster.wait_for_all_ready(ELECTION_LIMIT).await, "every member ready");
    let follower = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    on_client(vec![follower], |mut client| async move {
        let wrong = client.call(downgrade(DowngradeAction::Validate, "3.4.0")).await;
        assert_eq!(wrong, Outcome::Failed(Error::InvalidDowngradeTargetVersion));
        let enabled = client.call(downgrade(DowngradeAction::Enable, "3.3")).await;
        assert!(
            matches!(&enabled, Outcome::Ok(answer) if answer.version == "3.4.0"),
            "{enabled:?}"
        );
    })
    .await;
    let on = DowngradeInfo { enabled: true, target_version: "3.3.0".into() };
    all_report(&cluster, &on).await;

    cluster.crash(follower);
    cluster.restart(follower);
    assert!(cluster.wait_for_all_ready(ELECTION_LIMIT).await, "the restarted member is ready");
    all_report(&cluster, &on).await;

    on_client(vec![follower], |mut client| async move {
        let again = client.call(downgrade(DowngradeAction::Enable, "3.3.0")).await;
        assert_eq!(again, Outcome::Failed(Error::DowngradeInProcess));
        let cancelled = client.call(downgrade(DowngradeAction::Cancel, "")).await;
        assert!(cancelled.is_ok(), "{cancelled:?}");
    })
    .await;
    all_report(&cluster, &DowngradeInfo::default()).await;
}

async fn a_range_streams_in_chunks() {
    let cluster = Cluster::start(ClusterOptions::default());
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    assert!(cluster.wait_for_all_ready(ELECTION_LIMIT).await, "every member ready");
    let follower = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    on_client(vec![follower], |mut client| async move {
        for batch in 0..12 {
            let keys = (0..100).map(|i| format!("key/{:05}", batch * 100 + i));
            let success = keys.map(|key| RequestOp::Put(put(&key, "v"))).collect();
            let written = client.call(TxnRequest { success, ..Default::default() }).await;
            assert!(written.is_ok(), "{written:?}");
        }
        let all =
            RangeRequest { key: "key/".into(), range_end: "key0".into(), ..Default::default() };
        let Outcome::Ok(plain) = client.call(all.clone()).await else { panic!("a plain range") };
        let at = RangeRequest { revision: plain.header.revision, ..all };
        let Outcome::Ok(chunks) = client.call(RangeStreamRequest(at)).await else {
            panic!("a stream")
        };
        assert_eq!(chunks.len(), 2, "1200 keys, 1000 a chunk");
        assert!(chunks[0].header.is_none() && chunks[0].count == 0);
        let last = chunks.last().expect("a chunk");
        assert_eq!(last.header.as_ref().map(|h| h.revision), Some(plain.header.revision));
        let kvs: Vec<_> = chunks.iter().flat_map(|chunk| chunk.kvs.clone()).collect();
        assert_eq!((kvs, last.more, last.count), (plain.kvs, plain.more, plain.count));
    })
    .await;
}

#[test]
fn a_range_streams_in_chunks_that_merge_into_the_plain_range() {
    for seed in SEEDS {
        check_determinism(seed, a_range_streams_in_chunks);
    }
}

#[test]
fn a_stranded_member_refuses_a_linearizable_member_list_until_the_network_heals() {
    for seed in SEEDS {
        check_determinism(seed, stranded_member_refuses_a_linearizable_member_list);
    }
}

#[test]
fn the_downgrade_state_reaches_every_member_and_survives_a_restart() {
    for seed in SEEDS {
        check_determinism(seed, downgrade_state_is_replicated_and_survives_a_restart);
    }
}
