//! Lock and election under auth, held to real etcd 3.4: the same session runs against etcd and
//! detcd (one member each) and must print and answer the same.
//!
//! - etcdctl 3.4's `lock` and `elect` run etcd's client recipes over KV with `--user`'s token:
//!   a user with readwrite on the name's prefix locks and campaigns, a user who may only read
//!   it is refused (and may still watch for a leader with `elect -l`), a user without a role
//!   may not even do that.
//! - etcd's Lock and Election gRPC services, called with a token as etcd's clients send it
//!   (`token` metadata), run their recipes for that caller: the same users get the same answers,
//!   and a call without a token gets etcd's "user name is empty".

use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::auth_client::AuthClient;
use detcd_proto::v3electionpb as epb;
use detcd_proto::v3electionpb::election_client::ElectionClient;
use detcd_proto::v3lockpb as lpb;
use detcd_proto::v3lockpb::lock_client::LockClient;
use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl;
use detcd_tests::normalize::normalize;
use detcd_tests::real_etcd::EtcdCluster;
use detcd_tests::servers::Servers;
use std::process::Command;
use std::time::Duration;

/// How soon a refused Lock or Campaign must answer (one granted would wait for alice's).
const REFUSED_WITHIN: Duration = Duration::from_secs(10);

/// root; alice with readwrite on the prefix `job`, bob with read on it, carol with no role.
const SETUP: &[&str] = &[
    "user add root:rootpw",
    "user grant-role root root",
    "user add alice:alicepw",
    "user add bob:bobpw",
    "user add carol:carolpw",
    "role add jobs",
    "role grant-permission jobs --prefix readwrite job",
    "user grant-role alice jobs",
    "role add peek",
    "role grant-permission peek --prefix read job",
    "user grant-role bob peek",
    "auth enable",
];

fn set_up(servers: &dyn Servers) {
    let endpoints = servers.endpoints().join(",");
    for line in SETUP {
        etcdctl::ok(&endpoints, &line.split_whitespace().collect::<Vec<_>>());
    }
}

/// `etcdctl <args>` cut off after `seconds`: whether it ended by itself, and what it printed
/// (the error lines without the client's JSON logs), normalised.
fn etcdctl_for(endpoints: &str, seconds: u32, args: &[&str]) -> (bool, String) {
    let output = Command::new("timeout")
        .arg(seconds.to_string())
        .arg(etcdctl::path())
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .args(args)
        .output()
        .expect("etcdctl runs");
    let ended = output.status.code() != Some(124);
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (ended, normalize(&printed))
}

/// The etcdctl session: one line per step (the step, whether it ended, what it printed).
fn etcdctl_session(servers: &dyn Servers) -> Vec<String> {
    let endpoints = servers.endpoints().join(",");
    let steps: &[(u32, &[&str])] = &[
        (10, &["--user=alice:alicepw", "lock", "job", "echo", "got-it"]),
        (10, &["--user=bob:bobpw", "lock", "job", "echo", "got-it"]),
        (10, &["--user=carol:carolpw", "lock", "job", "echo", "got-it"]),
        (3, &["--user=alice:alicepw", "elect", "job-el", "v1"]),
        (10, &["--user=bob:bobpw", "elect", "job-el", "v2"]),
        (3, &["--user=bob:bobpw", "elect", "-l", "job-el"]),
        (10, &["--user=carol:carolpw", "elect", "-l", "job-el"]),
    ];
    let mut seen = Vec::new();
    for (seconds, args) in steps {
        let (ended, printed) = etcdctl_for(&endpoints, *seconds, args);
        seen.push(format!("etcdctl {}: ended={ended} printed={printed:?}", args.join(" ")));
    }
    seen
}

/// `message` with `token` as etcd's clients send it.
fn with_token<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert("token", token.parse().expect("a token is ASCII"));
    }
    request
}

fn status_line(step: &str, status: tonic::Status) -> String {
    format!("{step}: {:?} {:?}", status.code(), status.message())
}

/// The gRPC session: the refusals as lines, after the permitted calls are asserted.
async fn grpc_session(servers: &dyn Servers) -> Vec<String> {
    let url = format!("http://{}", servers.endpoints()[0]);
    let auth = AuthClient::connect(url.clone()).await.expect("auth client");
    let login = |name: &'static str| {
        let request = pb::AuthenticateRequest { name: name.into(), password: format!("{name}pw") };
        let mut auth = auth.clone();
        async move { auth.authenticate(request).await.expect("login").into_inner().token }
    };
    let (alice, bob, carol) = (login("alice").await, login("bob").await, login("carol").await);
    let mut locks = LockClient::connect(url.clone()).await.expect("lock client");
    let mut elections = ElectionClient::connect(url).await.expect("election client");
    let mut seen = Vec::new();

    let lock = |lease| lpb::LockRequest { name: b"job".to_vec(), lease };
    let held = locks.lock(with_token(lock(0), Some(&alice))).await.expect("alice locks");
    let key = held.into_inner().key;
    assert!(key.starts_with(b"job/"), "owner key {key:?}");
    for (who, token) in [("bob", Some(bob.as_str())), ("nobody", None)] {
        // A lock granted without the permission would wait for alice's: bounded.
        let refused = tokio::time::timeout(REFUSED_WITHIN, locks.lock(with_token(lock(0), token)));
        let refused = refused.await.expect("refused, not waiting").expect_err("lock refused");
        seen.push(status_line(&format!("lock by {who}"), refused));
    }
    let unlock = || lpb::UnlockRequest { key: key.clone() };
    let refused = locks.unlock(with_token(unlock(), Some(&bob))).await.expect_err("bob unlocks");
    seen.push(status_line("unlock by bob", refused));
    locks.unlock(with_token(unlock(), Some(&alice))).await.expect("alice unlocks");

    let campaign = |value: &str| epb::CampaignRequest {
        name: b"job-el".to_vec(),
        lease: 0,
        value: value.as_bytes().to_vec(),
    };
    let won = elections.campaign(with_token(campaign("a"), Some(&alice))).await;
    let leader = won.expect("alice campaigns").into_inner().leader.expect("a leader key");
    let ask = || epb::LeaderRequest { name: b"job-el".to_vec() };
    let seen_by_bob = elections.leader(with_token(ask(), Some(&bob))).await.expect("bob reads");
    assert_eq!(seen_by_bob.into_inner().kv.expect("the leader").value, b"a");
    let refused = elections.leader(with_token(ask(), Some(&carol))).await.expect_err("carol");
    seen.push(status_line("leader by carol", refused));
    let bobs = elections.campaign(with_token(campaign("b"), Some(&bob)));
    let refused = tokio::time::timeout(REFUSED_WITHIN, bobs).await.expect("refused, not waiting");
    seen.push(status_line("campaign by bob", refused.expect_err("bob campaigns")));
    let proclaim = |value: &str| epb::ProclaimRequest {
        leader: Some(leader.clone()),
        value: value.as_bytes().to_vec(),
    };
    let refused = elections.proclaim(with_token(proclaim("b"), Some(&bob))).await;
    seen.push(status_line("proclaim by bob", refused.expect_err("bob proclaims")));
    let resign = || epb::ResignRequest { leader: Some(leader.clone()) };
    let refused = elections.resign(with_token(resign(), Some(&bob))).await;
    seen.push(status_line("resign by bob", refused.expect_err("bob resigns alice")));
    elections.proclaim(with_token(proclaim("c"), Some(&alice))).await.expect("alice proclaims");
    let now = elections.leader(with_token(ask(), Some(&bob))).await.expect("bob reads");
    assert_eq!(now.into_inner().kv.expect("the leader").value, b"c");
    elections.resign(with_token(resign(), Some(&alice))).await.expect("alice resigns");
    seen
}

/// Differences between etcd's and detcd's lines of a session.
fn differences(etcd: &[String], detcd: &[String]) -> Vec<String> {
    assert_eq!(etcd.len(), detcd.len(), "etcd: {etcd:#?}\ndetcd: {detcd:#?}");
    let pairs = etcd.iter().zip(detcd);
    pairs.filter(|(e, d)| e != d).map(|(e, d)| format!("etcd:  {e}\ndetcd: {d}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_and_election_check_permissions_as_etcd_does() {
    let (etcd, detcd) = tokio::task::spawn_blocking(|| {
        let etcd = std::thread::spawn(|| EtcdCluster::start(1));
        let mut detcd = Cluster::plan(1);
        detcd.nodes[0].args.push("--bcrypt-cost=4".into());
        detcd.start_planned();
        let etcd = etcd.join().expect("etcd starts");
        set_up(&etcd);
        set_up(&detcd);
        (etcd, detcd)
    })
    .await
    .expect("clusters");
    let on_etcd = grpc_session(&etcd).await;
    let on_detcd = grpc_session(&detcd).await;
    let differ = differences(&on_etcd, &on_detcd);
    assert!(differ.is_empty(), "gRPC answers differ:\n{}", differ.join("\n"));
    // etcd 3.4 answers its Lock and Election servers' refusals under `Unknown`, with the text.
    assert!(on_detcd[0].contains("Unknown") && on_detcd[0].contains("permission denied"));
    assert!(on_detcd[1].contains("user name is empty"), "{}", on_detcd[1]);

    let (on_etcd, on_detcd, detcd) = tokio::task::spawn_blocking(move || {
        (etcdctl_session(&etcd), etcdctl_session(&detcd), detcd)
    })
    .await
    .expect("etcdctl sessions");
    let differ = differences(&on_etcd, &on_detcd);
    assert!(differ.is_empty(), "etcdctl output differs:\n{}", differ.join("\n"));
    // What the session must show, on detcd as on etcd (etcdctl's `elect -l` reports a
    // refused observation as a lost observer).
    let printed = |step: usize, text: &str| on_detcd[step].contains(&format!("printed=\"{text}"));
    let denied = "Error: etcdserver: permission denied";
    assert!(printed(0, "got-it") && printed(1, denied) && printed(2, denied), "{on_detcd:#?}");
    assert!(on_detcd[3].contains("ended=false") && on_detcd[3].contains("v1"), "{on_detcd:#?}");
    assert!(printed(4, denied) && printed(6, "Error: elect: observer lost"), "{on_detcd:#?}");
    drop(detcd);
}
