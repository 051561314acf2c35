//! etcd 3.6's probes as the simulator sees them (`member::health`, the same function the server's
//! `/livez` and `/readyz` render): a member cut off from its peers stays alive, since its own
//! replica still serves reads, but is not ready, since no linearizable read gets through; once
//! the network heals it is ready again.
#![cfg(madsim)]

use detcd_core::member::{all_passed, HealthProbe};
use detcd_sim::check_determinism;
use detcd_sim::cluster::{Cluster, ClusterOptions};
use detcd_sim::faults::{Fault, Target};
use std::collections::BTreeSet;
use std::time::Duration;

const ELECTION_LIMIT: Duration = Duration::from_secs(15);

/// The names of the checks that failed.
fn failed(outcomes: &[detcd_core::member::CheckOutcome]) -> Vec<&'static str> {
    outcomes.iter().filter(|o| o.failure.is_some()).map(|o| o.name).collect()
}

async fn stranded_member_is_alive_but_not_ready() {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let leader = cluster.wait_for_leader(ELECTION_LIMIT).await.expect("leader");
    assert!(cluster.wait_for_all_ready(ELECTION_LIMIT).await, "every member ready");
    let follower = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    let member = cluster.member(follower).expect("follower runs");
    let none = BTreeSet::new();
    let ready = member.probe(HealthProbe::Readyz, &none).await;
    assert!(all_passed(&ready), "{ready:?}");
    assert_eq!(ready.len(), 4, "every readyz check ran: {ready:?}");

    cluster.apply(&Fault::Strand { target: Target::Member(follower) }, &[]);
    let alive = member.probe(HealthProbe::Livez, &none).await;
    assert!(all_passed(&alive), "{alive:?}");
    let ready = member.probe(HealthProbe::Readyz, &none).await;
    assert_eq!(failed(&ready), ["linearizable_read"], "{ready:?}");
    let skipped = BTreeSet::from(["linearizable_read".to_string()]);
    assert!(all_passed(&member.probe(HealthProbe::Readyz, &skipped).await));

    cluster.apply(&Fault::HealNetwork, &[]);
    let deadline = madsim::time::Instant::now() + ELECTION_LIMIT;
    loop {
        let ready = member.probe(HealthProbe::Readyz, &none).await;
        if all_passed(&ready) {
            break;
        }
        assert!(madsim::time::Instant::now() < deadline, "never ready again: {ready:?}");
        madsim::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn a_stranded_member_is_alive_but_not_ready_until_the_network_heals() {
    for seed in 0..3 {
        check_determinism(seed, stranded_member_is_alive_but_not_ready);
    }
}
