//! Authentication and permissions in simulated clusters: the simulator's clients carry a caller
//! (a token, as a real client sends one) and members check it exactly where the server's do.
//!
//! Each run sets up users and roles with auth off, enables it, authenticates a user whose token
//! then works on every member (the token table is replicated), and checks that what the user may
//! do follows the permissions in force: allowed writes and reads succeed, others are refused with
//! etcd's errors, a revoked permission refuses at once, and every member ends with the same auth
//! store. Several seeds, each twice under madsim's determinism check.
#![cfg(madsim)]

mod support;

use detcd_core::api::{PutRequest, RangeRequest};
use detcd_core::auth::request::*;
use detcd_core::auth::{Caller, Permission, PermissionType};
use detcd_core::Error;
use detcd_sim::check_determinism;
use detcd_sim::client::{Outcome, SimClient};
use detcd_sim::cluster::{Cluster, ClusterOptions};
use detcd_sim::transport::Carried;
use std::time::Duration;
use support::{answer_with_retry, on_client, put};

const SEEDS: std::ops::Range<u64> = 0..3;

async fn ok<R: Carried + std::fmt::Debug>(client: &mut SimClient, request: R) -> R::Answer {
    answer_with_retry(client, request, 40).await
}

/// The error `request` is refused with (asked again through elections and timeouts).
async fn refused<R: Carried + std::fmt::Debug>(client: &mut SimClient, request: R) -> Error {
    for _ in 0..40 {
        match client.call(request.clone()).await {
            Outcome::Failed(error) => return error,
            Outcome::Ok(_) => panic!("{request:?} succeeded"),
            Outcome::Unknown(_) => madsim::time::sleep(Duration::from_millis(500)).await,
        }
    }
    panic!("no answer to {request:?}");
}

fn get(key: &str) -> RangeRequest {
    RangeRequest { key: key.into(), ..Default::default() }
}

fn prefix(key: &str) -> Permission {
    let mut end = key.as_bytes().to_vec();
    *end.last_mut().expect("a key") += 1;
    Permission { kind: PermissionType::ReadWrite, key: key.into(), range_end: end }
}

async fn permissions_follow_the_auth_store() {
    let cluster = Cluster::start(ClusterOptions { members: 3, ..ClusterOptions::default() });
    cluster.wait_for_leader(Duration::from_secs(15)).await.expect("a leader");
    on_client(cluster.ids(), |mut client| async move {
        client.caller = Caller::anonymous();
        let user = |name: &str| AuthUserAddRequest {
            name: name.into(),
            password: format!("{name}-pw"),
            no_password: false,
        };
        ok(&mut client, user("root")).await;
        ok(&mut client, AuthUserGrantRoleRequest { user: "root".into(), role: "root".into() })
            .await;
        ok(&mut client, user("alice")).await;
        ok(&mut client, AuthRoleAddRequest { name: "r".into() }).await;
        let grant = AuthRoleGrantPermissionRequest { name: "r".into(), perm: Some(prefix("a/")) };
        ok(&mut client, grant).await;
        ok(&mut client, AuthUserGrantRoleRequest { user: "alice".into(), role: "r".into() }).await;
        ok(&mut client, AuthEnableRequest {}).await;
        assert_eq!(refused(&mut client, put("a/1", "v")).await, Error::UserEmpty);

        let login = |name: &str, password: &str| AuthenticateRequest {
            name: name.into(),
            password: password.into(),
        };
        assert_eq!(refused(&mut client, login("alice", "wrong")).await, Error::AuthFailed);
        let alice = ok(&mut client, login("alice", "alice-pw")).await.token;
        let root = ok(&mut client, login("root", "root-pw")).await.token;

        // The token works on every member: the client starts at each in turn.
        for start in 0..3 {
            client.start_at(start);
            client.caller = Caller::with_token(alice.clone());
            ok(&mut client, put("a/1", "v")).await;
            assert_eq!(ok(&mut client, get("a/1")).await.kvs.len(), 1);
            assert_eq!(refused(&mut client, put("b/1", "v")).await, Error::PermissionDenied);
            assert_eq!(refused(&mut client, get("b/1")).await, Error::PermissionDenied);
            let list = refused(&mut client, AuthUserListRequest {}).await;
            assert_eq!(list, Error::PermissionDenied);
        }

        client.caller = Caller::with_token(root.clone());
        let revoke = AuthRoleRevokePermissionRequest {
            role: "r".into(),
            key: b"a/".to_vec(),
            range_end: b"a0".to_vec(),
        };
        ok(&mut client, revoke).await;
        client.caller = Caller::with_token(alice.clone());
        assert_eq!(refused(&mut client, put("a/2", "v")).await, Error::PermissionDenied);
        client.caller = Caller::with_token("not-a-token");
        assert_eq!(refused(&mut client, put("a/2", "v")).await, Error::InvalidAuthToken);
        client.caller = Caller::with_token(root);
        let status = ok(&mut client, AuthStatusRequest {}).await;
        assert!(status.enabled);
        ok(&mut client, PutRequest { key: "b/1".into(), value: "v".into(), ..Default::default() })
            .await;
    })
    .await;
    madsim::time::sleep(Duration::from_secs(1)).await;
    let stores: Vec<_> = cluster
        .ids()
        .into_iter()
        .map(|id| cluster.member(id).expect("running").replica().lock().machine.auth().clone())
        .collect();
    assert!(stores.windows(2).all(|pair| pair[0] == pair[1]), "members' auth stores differ");
}

#[test]
fn permissions_follow_the_auth_store_on_every_member() {
    for seed in SEEDS {
        check_determinism(seed, permissions_follow_the_auth_store);
    }
}

/// A linearizable read is judged by the permissions in force at its read, not by a replica that
/// is behind: a follower cut off from its peers (clients still reach it) before a permission is
/// granted must not deny a read of it afterwards on its stale copy (it cannot serve the read at
/// all until it catches up), and once it is back it serves the read.
async fn a_stale_follower_does_not_judge_a_linearizable_read() {
    let mut cluster = Cluster::start(ClusterOptions { members: 3, ..ClusterOptions::default() });
    let leader = cluster.wait_for_leader(Duration::from_secs(15)).await.expect("a leader");
    cluster.wait_for_all_ready(Duration::from_secs(15)).await;
    let ids = cluster.ids();
    let follower = *ids.iter().find(|id| **id != leader).expect("a follower");
    let at = |id| ids.iter().position(|i| *i == id).expect("a member");
    let (alice, root) = on_client(ids.clone(), |mut client| async move {
        client.caller = Caller::anonymous();
        for name in ["root", "alice"] {
            let password = format!("{name}-pw");
            ok(&mut client, AuthUserAddRequest { name: name.into(), password, no_password: false })
                .await;
        }
        ok(&mut client, AuthUserGrantRoleRequest { user: "root".into(), role: "root".into() })
            .await;
        ok(&mut client, AuthRoleAddRequest { name: "r".into() }).await;
        ok(&mut client, AuthUserGrantRoleRequest { user: "alice".into(), role: "r".into() }).await;
        ok(&mut client, AuthEnableRequest {}).await;
        let login =
            |name: &str| AuthenticateRequest { name: name.into(), password: format!("{name}-pw") };
        (ok(&mut client, login("alice")).await.token, ok(&mut client, login("root")).await.token)
    })
    .await;
    // Let every member learn both tokens before the follower is cut off.
    madsim::time::sleep(Duration::from_secs(1)).await;
    let split = detcd_sim::faults::Fault::Split { minority: vec![follower] };
    cluster.apply(&split, &[]);
    let (leader_at, follower_at) = (at(leader), at(follower));
    let token = alice.clone();
    on_client(ids.clone(), move |mut client| async move {
        client.start_at(leader_at);
        client.pinned = true;
        client.caller = Caller::with_token(root);
        let grant = AuthRoleGrantPermissionRequest { name: "r".into(), perm: Some(prefix("a/")) };
        ok(&mut client, grant).await;
        client.start_at(follower_at);
        client.caller = Caller::with_token(alice);
        let answer = client.call(get("a/1")).await;
        assert!(
            !matches!(answer, Outcome::Failed(Error::PermissionDenied)),
            "a read of a key granted before it was called was denied: {answer:?}"
        );
    })
    .await;
    cluster.apply(&detcd_sim::faults::Fault::HealNetwork, &[]);
    on_client(ids, move |mut client| async move {
        client.start_at(follower_at);
        client.pinned = true;
        client.caller = Caller::with_token(token);
        ok(&mut client, get("a/1")).await;
    })
    .await;
}

#[test]
fn a_stale_follower_does_not_judge_a_linearizable_read_on_its_copy() {
    for seed in SEEDS {
        check_determinism(seed, a_stale_follower_does_not_judge_a_linearizable_read);
    }
}
