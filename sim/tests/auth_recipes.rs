//! The server-side Lock and Election calls check their caller, as etcd's v3lock and v3election
//! servers do (they run the recipes over an in-process client with the caller's credentials).
//!
//! With auth on, a user with readwrite on the prefix `a/` locks, campaigns, proclaims, resigns
//! and unlocks; a user who may only read `a/` may see the leader but neither lock, campaign,
//! proclaim for, resign nor unlock someone else's key; a user with no permission may not even
//! see the leader or observe; an anonymous caller and a bad token get etcd's errors; the member
//! itself is never checked. The calls run on a follower, so the writes the recipes make are
//! forwarded and checked in apply on every member. Several seeds, each twice under madsim's
//! determinism check.
#![cfg(madsim)]

mod support;

use detcd_core::auth::request::*;
use detcd_core::auth::{Caller, Permission, PermissionType};
use detcd_core::client::ClientError;
use detcd_core::recipes::{RecipeError, RecipeResult};
use detcd_core::Error;
use detcd_sim::check_determinism;
use detcd_sim::client::SimClient;
use detcd_sim::cluster::{Cluster, ClusterOptions};
use detcd_sim::transport::Carried;
use std::time::Duration;
use support::{answer_with_retry, on_client};

const SEEDS: std::ops::Range<u64> = 0..3;
const LIMIT: Duration = Duration::from_secs(15);
/// How long a lock that must wait is given.
const WAIT: Duration = Duration::from_secs(2);

async fn ok<R: Carried + std::fmt::Debug>(client: &mut SimClient, request: R) -> R::Answer {
    answer_with_retry(client, request, 40).await
}

/// The etcd error a recipe call was refused with; panics on success or on another failure.
fn refused<T: std::fmt::Debug>(what: &str, result: RecipeResult<T>) -> Error {
    match result {
        Err(RecipeError::Client(ClientError::Etcd(error))) => error,
        other => panic!("{what}: expected an etcd error, got {other:?}"),
    }
}

/// A successful recipe call's answer; panics with `what` otherwise.
fn done<T: std::fmt::Debug>(what: &str, result: RecipeResult<T>) -> T {
    result.unwrap_or_else(|error| panic!("{what} failed: {error:?}"))
}

fn on_prefix(kind: PermissionType, key: &str) -> Permission {
    let mut end = key.as_bytes().to_vec();
    *end.last_mut().expect("a key") += 1;
    Permission { kind, key: key.into(), range_end: end }
}

/// Users root, alice (readwrite on `a/`), bob (read on `a/`) and carol (nothing); auth on.
/// Returns the tokens of alice, bob and carol.
async fn users_and_roles(client: &mut SimClient) -> [String; 3] {
    client.caller = Caller::anonymous();
    for name in ["root", "alice", "bob", "carol"] {
        let password = format!("{name}-pw");
        ok(client, AuthUserAddRequest { name: name.into(), password, no_password: false }).await;
    }
    ok(client, AuthUserGrantRoleRequest { user: "root".into(), role: "root".into() }).await;
    for (role, user, kind) in
        [("writer", "alice", PermissionType::ReadWrite), ("reader", "bob", PermissionType::Read)]
    {
        ok(client, AuthRoleAddRequest { name: role.into() }).await;
        let perm = Some(on_prefix(kind, "a/"));
        ok(client, AuthRoleGrantPermissionRequest { name: role.into(), perm }).await;
        ok(client, AuthUserGrantRoleRequest { user: user.into(), role: role.into() }).await;
    }
    ok(client, AuthEnableRequest {}).await;
    let mut tokens = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let login = AuthenticateRequest { name: name.into(), password: format!("{name}-pw") };
        tokens.push(ok(client, login).await.token);
    }
    tokens.try_into().expect("three tokens")
}

async fn lock_and_election_follow_the_callers_permissions() {
    let cluster = Cluster::start(ClusterOptions { members: 3, ..ClusterOptions::default() });
    let leader = cluster.wait_for_leader(LIMIT).await.expect("a leader");
    assert!(cluster.wait_for_all_ready(LIMIT).await, "every member ready");
    let [alice, bob, carol] =
        on_client(cluster.ids(), |mut client| async move { users_and_roles(&mut client).await })
            .await;
    // Let every member learn the tokens (the token table is replicated).
    madsim::time::sleep(Duration::from_secs(1)).await;
    let follower = cluster.ids().into_iter().find(|id| *id != leader).expect("a follower");
    let member = cluster.member(follower).expect("the follower runs");
    let (alice, bob, carol) =
        (Caller::with_token(alice), Caller::with_token(bob), Caller::with_token(carol));
    let on_member = cluster.members[&follower].node.spawn(async move {
        // Lock: write on the lock's own key needed.
        let (_, key) = done("alice's lock", member.lock(&alice, b"a/job", 0).await);
        assert!(key.starts_with(b"a/job/"), "owner key {key:?}");
        // A permitted waiter watches the owner key under its own credentials, and waits.
        let waiting = madsim::time::timeout(WAIT, member.lock(&alice, b"a/job", 0)).await;
        assert!(waiting.is_err(), "a second lock was granted while held: {waiting:?}");
        let bobs = member.lock(&bob, b"a/job", 0).await;
        assert_eq!(refused("bob's lock", bobs), Error::PermissionDenied);
        let carols = member.lock(&carol, b"a/other", 0).await;
        assert_eq!(refused("carol's lock", carols), Error::PermissionDenied);
        let anonymous = member.lock(&Caller::anonymous(), b"a/other", 0).await;
        assert_eq!(refused("an anonymous lock", anonymous), Error::UserEmpty);
        let forged = member.lock(&Caller::with_token("not-a-token"), b"a/other", 0).await;
        assert_eq!(refused("a lock with a bad token", forged), Error::InvalidAuthToken);
        let unlocked = member.unlock(&bob, &key).await;
        assert_eq!(refused("bob unlocks alice's lock", unlocked), Error::PermissionDenied);
        member.unlock(&alice, &key).await.expect("alice unlocks");

        // Election: the leader is read, campaigning and proclaiming write.
        let (_, leader) =
            done("alice's campaign", member.campaign(&alice, b"a/el", 0, b"v1").await);
        let (_, seen) = done("bob reads the leader", member.election_leader(&bob, b"a/el").await);
        assert_eq!(seen.value, b"v1");
        let carol_reads = member.election_leader(&carol, b"a/el").await;
        assert_eq!(refused("carol reads the leader", carol_reads), Error::PermissionDenied);
        let mut observer = member.observe(&carol, b"a/el").expect("an observer");
        assert_eq!(refused("carol observes", observer.next().await), Error::PermissionDenied);
        let mut observer = member.observe(&bob, b"a/el").expect("an observer");
        assert_eq!(done("bob observes", observer.next().await).value, b"v1");
        let proclaimed = member.proclaim(&bob, &leader, b"bob").await;
        assert_eq!(refused("bob proclaims", proclaimed), Error::PermissionDenied);
        let campaigned = member.campaign(&bob, b"a/el", 0, b"bob").await;
        assert_eq!(refused("bob campaigns", campaigned), Error::PermissionDenied);
        let resigned = member.resign(&bob, &leader).await;
        assert_eq!(refused("bob resigns alice", resigned), Error::PermissionDenied);
        done("alice proclaims", member.proclaim(&alice, &leader, b"v2").await);
        let (_, seen) = done("the leader", member.election_leader(&bob, b"a/el").await);
        assert_eq!(seen.value, b"v2", "bob's proclaim changed nothing, alice's did");
        done("alice resigns", member.resign(&alice, &leader).await);

        // The member's own calls are never checked.
        let (_, key) = done("the member's lock", member.lock(&Caller::Internal, b"b/job", 0).await);
        member.unlock(&Caller::Internal, &key).await.expect("the member unlocks");
    });
    on_member.await.expect("the member's task");
}

#[test]
fn lock_and_election_check_the_callers_permissions() {
    for seed in SEEDS {
        check_determinism(seed, lock_and_election_follow_the_callers_permissions);
    }
}
