//! `Maintenance.Downgrade` (etcd 3.5) over gRPC, with etcd's validation, errors and codes:
//! detcd's cluster version is 3.4, so the one valid target is 3.3; ENABLE records it through
//! raft (every member's `Status.downgradeInfo` shows it, a restarted member still does), a
//! second ENABLE is refused while it is in progress, CANCEL clears it, and a CANCEL with nothing
//! enabled is refused. With auth on, only root may call it.

use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::auth_client::AuthClient;
use detcd_proto::etcdserverpb::downgrade_request::DowngradeAction;
use detcd_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl;
use std::time::Duration;
use tonic::Code;

type Answer = Result<String, (Code, String)>;

/// `endpoint`'s answer to Downgrade `action` with `version` (sent with `token` when given): the
/// cluster version, or the error's code and message.
async fn downgrade(endpoint: &str, action: i32, version: &str, token: Option<&str>) -> Answer {
    let mut client =
        MaintenanceClient::connect(format!("http://{endpoint}")).await.expect("connects");
    let mut request =
        tonic::Request::new(pb::DowngradeRequest { action, version: version.to_string() });
    if let Some(token) = token {
        request.metadata_mut().insert("token", token.parse().expect("a token is ASCII"));
    }
    match client.downgrade(request).await {
        Ok(answer) => {
            let answer = answer.into_inner();
            assert!(answer.header.is_some_and(|h| h.member_id != 0), "a header");
            Ok(answer.version)
        }
        Err(status) => Err((status.code(), status.message().to_string())),
    }
}

async fn status(endpoint: &str) -> pb::StatusResponse {
    let mut client =
        MaintenanceClient::connect(format!("http://{endpoint}")).await.expect("connects");
    client.status(pb::StatusRequest {}).await.expect("status").into_inner()
}

/// `endpoint`'s `Status.downgradeInfo` as (enabled, target version).
async fn downgrade_info(endpoint: &str) -> (bool, String) {
    let info = status(endpoint).await.downgrade_info.expect("downgradeInfo is reported");
    (info.enabled, info.target_version)
}

/// Waits until every member reports `expected` (members apply at their own pace).
async fn all_report(endpoints: &[String], expected: (bool, &str)) {
    let expected = (expected.0, expected.1.to_string());
    for _ in 0..100 {
        let mut seen = Vec::new();
        for endpoint in endpoints {
            seen.push(downgrade_info(endpoint).await);
        }
        if seen.iter().all(|info| *info == expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the members never all reported {expected:?}");
}

fn refused(code: Code, message: &str) -> Answer {
    Err((code, message.to_string()))
}

const VALIDATE: i32 = DowngradeAction::Validate as i32;
const ENABLE: i32 = DowngradeAction::Enable as i32;
const CANCEL: i32 = DowngradeAction::Cancel as i32;
const FORMAT: &str = "etcdserver: wrong downgrade target version format";
const TARGET: &str = "etcdserver: invalid downgrade target version";
const IN_PROGRESS: &str = "etcdserver: cluster has a downgrade job in progress";
const NONE_IN_FLIGHT: &str = "etcdserver: no inflight downgrade job";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downgrade_validates_enables_and_cancels_as_etcd_and_the_state_is_replicated() {
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start(3)).await.expect("cluster");
    let endpoints: Vec<String> = cluster.nodes.iter().map(|node| node.endpoint()).collect();
    let leader = status(&endpoints[0]).await.leader;
    let mut follower = None;
    for (index, endpoint) in endpoints.iter().enumerate() {
        if status(endpoint).await.header.expect("header").member_id != leader {
            follower = Some(index);
        }
    }
    let follower = follower.expect("a follower");
    let asked = endpoints[follower].as_str();
    all_report(&endpoints, (false, "")).await;

    // VALIDATE: the target reads as etcd reads versions, and must be 3.3 (one minor below 3.4).
    for version in ["3.3.0", "3.3", "3.3.9-rc.1+build"] {
        assert_eq!(downgrade(asked, VALIDATE, version, None).await, Ok("3.4.0".into()));
    }
    for version in ["", "three", "3", "v3.3", "3.3.0.1", "3..3"] {
        let answer = downgrade(asked, VALIDATE, version, None).await;
        assert_eq!(answer, refused(Code::InvalidArgument, FORMAT), "{version:?}");
    }
    for version in ["3.4.0", "3.4", "3.2.0", "3.5", "4.3.0", "2.3"] {
        let answer = downgrade(asked, VALIDATE, version, None).await;
        assert_eq!(answer, refused(Code::InvalidArgument, TARGET), "{version:?}");
    }
    // The same checks guard ENABLE; nothing was enabled by them.
    assert_eq!(downgrade(asked, ENABLE, "x", None).await, refused(Code::InvalidArgument, FORMAT));
    assert_eq!(downgrade(asked, ENABLE, "3.4", None).await, refused(Code::InvalidArgument, TARGET));
    let cancel = downgrade(asked, CANCEL, "", None).await;
    assert_eq!(cancel, refused(Code::FailedPrecondition, NONE_IN_FLIGHT));
    let unknown = downgrade(asked, 7, "3.3.0", None).await;
    assert_eq!(unknown, refused(Code::Unknown, "etcdserver: unknown method"));
    all_report(&endpoints, (false, "")).await;

    // ENABLE on a follower goes through raft: every member shows it.
    assert_eq!(downgrade(asked, ENABLE, "3.3", None).await, Ok("3.4.0".into()));
    all_report(&endpoints, (true, "3.3.0")).await;
    for endpoint in &endpoints {
        let again = downgrade(endpoint, ENABLE, "3.3.0", None).await;
        assert_eq!(again, refused(Code::FailedPrecondition, IN_PROGRESS));
        let validate = downgrade(endpoint, VALIDATE, "3.3.0", None).await;
        assert_eq!(validate, refused(Code::FailedPrecondition, IN_PROGRESS));
    }

    // A restarted member still has it (its WAL and snapshot hold the replicated state).
    let restarted = (follower + 1) % endpoints.len();
    tokio::task::block_in_place(|| cluster.restart(restarted));
    assert_eq!(downgrade_info(&endpoints[restarted]).await, (true, "3.3.0".into()));

    // CANCEL clears it, whatever version it names; a second CANCEL has nothing to cancel.
    assert_eq!(downgrade(&endpoints[restarted], CANCEL, "junk", None).await, Ok("3.4.0".into()));
    all_report(&endpoints, (false, "")).await;
    let cancel = downgrade(asked, CANCEL, "", None).await;
    assert_eq!(cancel, refused(Code::FailedPrecondition, NONE_IN_FLIGHT));
    assert_eq!(downgrade(asked, VALIDATE, "3.3.0", None).await, Ok("3.4.0".into()));
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auth_on_only_root_may_downgrade() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(1)).await.expect("cluster");
    let endpoint = cluster.nodes[0].endpoint();
    let setup = endpoint.clone();
    tokio::task::spawn_blocking(move || {
        for line in [
            "user add root:rootpw",
            "user grant-role root root",
            "user add alice:alicepw",
            "auth enable",
        ] {
            etcdctl::ok(&setup, &line.split_whitespace().collect::<Vec<_>>());
        }
    })
    .await
    .expect("auth set up");
    let mut auth = AuthClient::connect(format!("http://{endpoint}")).await.expect("connects");
    let mut login = async |name: &str| {
        let request = pb::AuthenticateRequest { name: name.into(), password: format!("{name}pw") };
        auth.authenticate(request).await.expect("login").into_inner().token
    };
    let root = login("root").await;
    let alice = login("alice").await;

    let denied = downgrade(&endpoint, VALIDATE, "3.3.0", Some(&alice)).await;
    assert_eq!(denied, refused(Code::PermissionDenied, "etcdserver: permission denied"));
    let anonymous = downgrade(&endpoint, ENABLE, "3.3.0", None).await;
    assert!(anonymous.is_err(), "{anonymous:?}");
    assert_eq!(downgrade(&endpoint, ENABLE, "3.3.0", Some(&root)).await, Ok("3.4.0".into()));
    assert_eq!(downgrade(&endpoint, CANCEL, "", Some(&root)).await, Ok("3.4.0".into()));
    drop(cluster);
}
