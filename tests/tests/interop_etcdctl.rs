//! Interop with etcd's own Go recipes (`clientv3/concurrency`, driven by `etcdctl lock` and
//! `etcdctl elect`): our Mutex and etcd's exclude each other on the same name in both orders, and
//! our Election and etcd's take turns and observe each other. Run against real etcd 3.4 and
//! against detcd, one member each.

use detcd_core::recipes::{Election, Mutex, RecipeError, Session};
use detcd_proto::client::GrpcClient;
use detcd_tests::background::Background;
use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl;
use detcd_tests::real_etcd::EtcdCluster;
use detcd_tests::servers::Servers;
use detcd_tests::suite::support::{self, assert_blocked, finishes, spawn};
use std::time::Duration;
use tokio::task::block_in_place;

/// How long a blocked `etcdctl` is watched to be sure it blocks.
const QUIET_FOR: Duration = Duration::from_millis(1500);
/// How long an unblocked `etcdctl` may take to say so.
const SPEAKS_WITHIN: Duration = Duration::from_secs(10);

fn etcdctl(servers: &dyn Servers, args: &[&str]) -> Background {
    Background::start(etcdctl::command(&servers.endpoints().join(","), args))
}

/// `etcdctl lock` runs this while holding the lock; it prints the lock key and revision etcdctl
/// exports, then (after a pause) that it is about to return and let etcdctl unlock.
const HOLD_SCRIPT: &str = "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV\"; sleep 2; echo releasing";

/// The `<key> <revision>` line `HOLD_SCRIPT` prints.
fn lock_line(line: Option<String>, prefix: &str) -> i64 {
    let line = line.expect("etcdctl printed the lock it holds");
    let Some((key, revision)) = line.split_once(" ") else {
        panic!("not `<key> <revision>`: {line:?}")
    };
    assert!(key.starts_with(&format!("{prefix}/")), "etcdctl's lock key {key} not under {prefix}/");
    revision.parse().expect("a revision")
}

async fn etcdctl_holds_and_our_mutex_waits(servers: &dyn Servers, client: &GrpcClient) {
    let mut holder = etcdctl(servers, &["lock", "interop-lock", "--", "sh", "-c", HOLD_SCRIPT]);
    let their_revision =
        lock_line(block_in_place(|| holder.next_line(SPEAKS_WITHIN)), "interop-lock");

    let session = support::session(client).await;
    let mut mutex = Mutex::new(&session, "interop-lock").expect("valid prefix");
    assert_eq!(mutex.try_lock().await, Err(RecipeError::Locked), "etcdctl holds the lock");
    let mut ours = spawn(async move { mutex.lock().await.map(|()| mutex) });
    assert_blocked(&mut ours, "our lock while etcdctl holds it").await;
    let mutex = finishes(ours, "our lock after etcdctl releases").await.expect("lock");
    // Our lock returned only after etcdctl's command ended (it printed `releasing` first).
    let last = block_in_place(|| holder.next_line(Duration::ZERO));
    assert_eq!(last.as_deref(), Some("releasing"), "our lock returned while etcdctl held it");
    assert!(mutex.revision() > their_revision, "fencing tokens must increase across clients");
    assert!(block_in_place(|| holder.wait_exit(SPEAKS_WITHIN)).is_some_and(|s| s.success()));
    let _ = session.close().await;
}

async fn our_mutex_holds_and_etcdctl_waits(servers: &dyn Servers, client: &GrpcClient) {
    let session = support::session(client).await;
    let mut mutex = Mutex::new(&session, "interop-lock2").expect("valid prefix");
    mutex.lock().await.expect("free lock");
    let script = "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV\"";
    let mut waiter = etcdctl(servers, &["lock", "interop-lock2", "--", "sh", "-c", script]);
    assert_eq!(block_in_place(|| waiter.next_line(QUIET_FOR)), None, "etcdctl took a held lock");
    assert!(!waiter.has_exited(), "etcdctl gave up: {}", waiter.stderr());
    let our_token = mutex.revision();
    mutex.unlock().await.expect("unlock");
    let their_revision =
        lock_line(block_in_place(|| waiter.next_line(SPEAKS_WITHIN)), "interop-lock2");
    assert!(
        their_revision > our_token,
        "etcdctl locked at {their_revision}, before our {our_token}"
    );
    assert!(block_in_place(|| waiter.wait_exit(SPEAKS_WITHIN)).is_some_and(|s| s.success()));
    let _ = session.close().await;
}

/// Reads lines until `value` (etcdctl prints a leader as its key line, then its value line).
fn wait_for_value(tool: &Background, value: &str) -> bool {
    while let Some(line) = tool.next_line(SPEAKS_WITHIN) {
        if line == value {
            return true;
        }
    }
    false
}

async fn elections_take_turns_with_etcdctl(servers: &dyn Servers, client: &GrpcClient) {
    let observer = etcdctl(servers, &["elect", "-l", "interop-elect"]);
    let alice = etcdctl(servers, &["elect", "interop-elect", "alice"]);
    assert!(block_in_place(|| wait_for_value(&alice, "alice")), "etcdctl did not win");
    assert!(block_in_place(|| wait_for_value(&observer, "alice")), "etcdctl observer missed alice");

    let session = Session::new(client.clone()).await.expect("session");
    let election = Election::new(&session, "interop-elect").expect("valid prefix");
    assert_eq!(election.leader().await.expect("a leader").value, b"alice");
    let mut bob = election;
    let mut campaign = spawn(async move { bob.campaign("bob").await.map(|_| bob) });
    assert_blocked(&mut campaign, "our campaign while etcdctl leads").await;
    alice.interrupt(); // etcdctl resigns on Ctrl-C.
    let mut bob = finishes(campaign, "our campaign after etcdctl resigns").await.expect("won");
    assert!(block_in_place(|| wait_for_value(&observer, "bob")), "etcdctl observer missed bob");

    let carol = etcdctl(servers, &["elect", "interop-elect", "carol"]);
    assert_eq!(block_in_place(|| carol.next_line(QUIET_FOR)), None, "etcdctl won while we lead");
    bob.resign().await.expect("resign");
    assert!(block_in_place(|| wait_for_value(&carol, "carol")), "etcdctl did not win after us");
    assert!(block_in_place(|| wait_for_value(&observer, "carol")), "observer missed carol");
    let _ = session.close().await;
}

async fn interop(servers: &dyn Servers) {
    let client = support::client(&servers.endpoints());
    etcdctl_holds_and_our_mutex_waits(servers, &client).await;
    our_mutex_holds_and_etcdctl_waits(servers, &client).await;
    elections_take_turns_with_etcdctl(servers, &client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_recipes_and_etcdctls_interoperate_on_real_etcd() {
    let etcd = tokio::task::spawn_blocking(|| EtcdCluster::start(1)).await.expect("etcd");
    interop(&etcd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_recipes_and_etcdctls_interoperate_on_detcd() {
    let detcd = tokio::task::spawn_blocking(|| Cluster::start(1)).await.expect("detcd");
    interop(&detcd).await;
}
