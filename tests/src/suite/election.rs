//! Election: campaign, leader, proclaim, resign and observe as etcd's `concurrency.Election`:
//! one leader at a time, a second campaign waits for the first to resign, observers see every
//! leader change, and only the leader may proclaim.

use super::support::*;
use detcd_core::kv::KeyValue;
use detcd_core::recipes::{Election, Observer, RecipeError};
use detcd_proto::client::GrpcClient;

async fn next_leader(observer: &mut Observer<GrpcClient>) -> String {
    let next = tokio::time::timeout(UNBLOCKS_WITHIN, observer.next()).await;
    let leader: KeyValue = next.expect("observer saw no change").expect("observe");
    String::from_utf8(leader.value).expect("utf-8 value")
}

pub async fn campaign_proclaim_resign_leader_and_observe(client: GrpcClient) {
    let (one, two) = (session(&client).await, session(&client).await);
    let mut alice = Election::new(&one, "suite-election").expect("valid prefix");
    let alice_revision = alice.campaign("alice").await.expect("first campaign wins");
    assert_eq!(alice.leader().await.expect("a leader").value, b"alice");
    let mut observer = alice.observe();
    assert_eq!(next_leader(&mut observer).await, "alice");

    let mut bob = Election::new(&two, "suite-election").expect("valid prefix");
    assert_eq!(bob.proclaim("bob").await, Err(RecipeError::NotLeader));
    let mut campaigning = spawn(async move { bob.campaign("bob").await.map(|rev| (bob, rev)) });
    assert_blocked(&mut campaigning, "a campaign while another leads").await;

    alice.proclaim("alice-again").await.expect("the leader proclaims");
    assert_eq!(next_leader(&mut observer).await, "alice-again");
    assert_eq!(alice.leader().await.expect("a leader").value, b"alice-again");

    alice.resign().await.expect("resign");
    let (mut bob, bob_revision) = finishes(campaigning, "the second campaign").await.unwrap();
    assert!(bob_revision > alice_revision, "leader revisions must increase");
    assert_eq!(next_leader(&mut observer).await, "bob");
    assert_eq!(alice.proclaim("usurper").await, Err(RecipeError::NotLeader));

    bob.resign().await.expect("resign");
    assert_eq!(bob.leader().await.map(|kv| kv.value), Err(RecipeError::NoLeader));
    let _ = (one.close().await, two.close().await);
}
