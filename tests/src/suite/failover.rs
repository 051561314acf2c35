//! A recipe waiting through the member its client talks to survives that member's death: the
//! wait's watch reopens on another endpoint and still sees the event it waits for.

use super::support::*;
use crate::servers::Servers;
use detcd_core::recipes::Barrier;
use std::time::Duration;

/// A barrier waiter whose client starts on member 0; member 0 is killed while it waits, then the
/// barrier is released through the others. The waiter must return.
pub async fn a_wait_survives_the_death_of_its_member(servers: &mut dyn Servers) {
    let endpoints = servers.endpoints();
    assert!(endpoints.len() >= 3, "needs a member to kill and a quorum without it");
    let waiter_client = client(&endpoints); // Talks to member 0 first.
    let others = client(&endpoints[1..]);
    let barrier = Barrier::new(&others, "suite-failover").expect("valid key");
    barrier.hold().await.expect("hold");
    let waiter = Barrier::new(&waiter_client, "suite-failover").expect("valid key");
    let mut waiting = spawn(async move { waiter.wait().await });
    assert_blocked(&mut waiting, "a wait on a held barrier").await;
    tokio::task::block_in_place(|| servers.kill(0));
    tokio::time::sleep(Duration::from_secs(1)).await;
    release_retrying(&barrier).await;
    let limit = Duration::from_secs(20);
    finishes_within(waiting, limit, "the wait after its member died").await.expect("wait");
}

/// Releases the barrier, retrying while the survivors elect a leader.
async fn release_retrying(barrier: &Barrier<detcd_proto::client::GrpcClient>) {
    for _ in 0..50 {
        if barrier.release().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the surviving members never took the release");
}
