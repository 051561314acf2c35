//! The client recipes against a simulated 3-member cluster with faults, judged by detcd-check.
//!
//! Each scenario runs several clients (their own madsim nodes, their own addresses) through one
//! recipe while the test isolates members, crashes the leader and, for locks, pauses a holder past
//! its lease TTL. Every client operation is recorded with virtual call/return times into the
//! matching checker's history, and the checker's verdict must be ok; asserts only check that the
//! run did enough work to mean something.
//!
//! Recording conventions, chosen so a legal run can never be flagged: a hold starts when the lock
//! call *returned* and ends when the unlock was *called* (the release takes effect somewhere in
//! between, and the checker takes points); likewise a barrier is up from its hold's return to its
//! release's call.
#![cfg(madsim)]

use detcd_check::verdict::SafetyVerdict;
use detcd_core::client::Client;
use detcd_core::raft::types::NodeId;
use detcd_core::recipes::*;
use detcd_sim::cluster::{Cluster, ClusterOptions};
use detcd_sim::etcd_client::SimEtcdClient;
use detcd_sim::run_seed;
use madsim::rand::{thread_rng, Rng};
use madsim::runtime::{Handle, NodeHandle};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

const SEEDS: std::ops::Range<u64> = 0..3;
const ELECTION_LIMIT: Duration = Duration::from_secs(15);
/// Session TTL in the fault scenarios (seconds): short, so a pause can outlive it.
const TTL: i64 = 5;
/// Clients stop starting operations after this many virtual seconds.
const WORK_UNTIL: f64 = 24.0;

/// Virtual seconds since the simulation started.
fn now() -> f64 {
    madsim::time::TimeHandle::current().elapsed().as_secs_f64()
}

async fn sleep_ms(ms: u64) {
    madsim::time::sleep(Duration::from_millis(ms)).await;
}

async fn jitter(low: u64, high: u64) {
    let ms = thread_rng().gen_range(low..high);
    sleep_ms(ms).await;
}

/// A new client node with its own address.
fn client_node() -> NodeHandle {
    static CLIENTS: AtomicU32 = AtomicU32::new(0);
    let n = CLIENTS.fetch_add(1, Ordering::Relaxed);
    let ip = IpAddr::V4(Ipv4Addr::new(10, 9, (n >> 8) as u8, (n % 250) as u8 + 1));
    Handle::current().create_node().name(format!("client{n}")).ip(ip).build()
}

/// Runs `body` with a fresh client on `node`.
fn spawn_client<F, T>(
    node: &NodeHandle,
    ids: Vec<NodeId>,
    body: impl FnOnce(SimEtcdClient) -> F + Send + 'static,
) -> madsim::task::JoinHandle<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    node.spawn(async move {
        let client = SimEtcdClient::connect(ids).await.expect("client endpoint");
        body(client).await
    })
}

/// Runs `body` on a new client node and waits for it.
async fn on_client<F, T>(
    ids: Vec<NodeId>,
    body: impl FnOnce(SimEtcdClient) -> F + Send + 'static,
) -> T
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    spawn_client(&client_node(), ids, body).await.expect("client task")
}

async fn cluster() -> Cluster {
    let cluster = Cluster::start(ClusterOptions::default());
    cluster.wait_for_leader(ELECTION_LIMIT).await.expect("a leader");
    cluster
}

/// The fault plan every scenario runs: isolate the leader, let it rejoin, crash the new leader,
/// restart it. Ends by healing everything.
async fn faults(cluster: &Cluster) {
    sleep_ms(3_000).await;
    if let Some(leader) = cluster.wait_for_leader(ELECTION_LIMIT).await {
        cluster.isolate(leader);
        sleep_ms(4_000).await;
        cluster.rejoin(leader);
    }
    sleep_ms(3_000).await;
    if let Some(leader) = cluster.wait_for_leader(ELECTION_LIMIT).await {
        cluster.crash(leader);
        sleep_ms(3_000).await;
        cluster.restart(leader);
    }
}

/// A session, retried until the cluster grants one.
async fn session(client: &SimEtcdClient, ttl: i64) -> Session<SimEtcdClient> {
    loop {
        match Session::with_ttl(client.clone(), ttl).await {
            Ok(session) => return session,
            Err(_) => sleep_ms(300).await,
        }
    }
}

fn assert_ok(name: &str, verdict: &SafetyVerdict) {
    assert!(verdict.is_ok(), "{name} checker found violations: {verdict:#?}");
}

// ---------------------------------------------------------------------------------------------
// Mutex: mutual exclusion, token order, and a fenced counter, with a holder paused past its TTL.

use detcd_check::lock::{Hold, LockHistory, ProtectedWrite};

/// A counter that accepts a write only with a token not older than the newest it accepted.
#[derive(Default)]
struct FencedCounter {
    value: i64,
    newest: i64,
    applied: Vec<ProtectedWrite>,
}

impl FencedCounter {
    fn write(&mut self, client: u64, token: i64, read: i64) {
        if token < self.newest {
            return;
        }
        self.newest = token;
        self.value = read + 1;
        self.applied.push(ProtectedWrite { client, token, read, wrote: read + 1, time: now() });
    }
}

#[derive(Default)]
struct LockRun {
    holds: Vec<Hold>,
    counter: FencedCounter,
    /// Which client holds the lock right now (as far as it knows).
    holding: Option<u64>,
    /// When the pause of client 0 began.
    paused_at: Option<f64>,
}

type Shared<T> = Arc<StdMutex<T>>;

async fn lock_client(client: SimEtcdClient, me: u64, run: Shared<LockRun>) {
    while now() < WORK_UNTIL {
        let session = session(&client, TTL).await;
        let mut mutex = Mutex::new(&session, "mutex").expect("valid prefix");
        while now() < WORK_UNTIL && !session.is_done() {
            if mutex.lock().await.is_err() {
                sleep_ms(200).await;
                continue;
            }
            let acquired = now();
            let token = mutex.revision();
            let read = {
                let mut run = run.lock().unwrap();
                run.holding = Some(me);
                run.counter.value
            };
            jitter(50, 300).await;
            let released = {
                let mut run = run.lock().unwrap();
                run.counter.write(me, token, read);
                run.holding = None;
                now()
            };
            let _ = mutex.unlock().await;
            {
                let mut run = run.lock().unwrap();
                let lease_expired = run.paused_at.filter(|t| acquired <= *t && *t <= released);
                let hold =
                    Hold { client: me, token, acquired, released: Some(released), lease_expired };
                run.holds.push(hold);
            }
            jitter(0, 200).await;
        }
        let _ = session.close().await;
    }
}

/// Pauses client 0's node while it holds the lock, for longer than its TTL.
async fn pause_a_holder(node: madsim::task::NodeId, run: Shared<LockRun>) {
    sleep_ms(14_000).await;
    while run.lock().unwrap().holding != Some(0) {
        if now() > WORK_UNTIL - 2.0 {
            return;
        }
        sleep_ms(10).await;
    }
    run.lock().unwrap().paused_at = Some(now());
    Handle::current().pause(node);
    sleep_ms((TTL as u64 + 4) * 1_000).await;
    Handle::current().resume(node);
}

async fn mutex_under_faults() -> (LockHistory, bool) {
    let cluster = cluster().await;
    let run: Shared<LockRun> = Arc::default();
    let mut clients = Vec::new();
    let mut first_node = None;
    for me in 0..4u64 {
        let node = client_node();
        first_node.get_or_insert(node.id());
        let run = run.clone();
        clients.push(spawn_client(&node, cluster.ids(), move |c| lock_client(c, me, run)));
    }
    let pause = pause_a_holder(first_node.expect("a client"), run.clone());
    futures::join!(faults(&cluster), pause, futures::future::join_all(clients));
    let run = run.lock().unwrap();
    let paused = run.paused_at.is_some();
    let history = LockHistory {
        holds: run.holds.clone(),
        writes: run.counter.applied.clone(),
        initial: 0,
        fenced: true,
    };
    (history, paused)
}

#[test]
fn mutex_excludes_and_fences_under_partitions_crashes_and_a_paused_holder() {
    let mut paused_runs = 0;
    for seed in SEEDS {
        let (history, paused) = run_seed(seed, mutex_under_faults);
        assert!(history.holds.len() >= 10, "seed {seed}: only {} holds", history.holds.len());
        eprintln!(
            "seed {seed}: holds {} writes {} paused {paused}",
            history.holds.len(),
            history.writes.len()
        );
        assert_ok("lock", &detcd_check::lock::check(&history));
        paused_runs += paused as usize;
    }
    assert!(paused_runs > 0, "no run paused a holder");
}

// ---------------------------------------------------------------------------------------------
// Cancel-safety and bad input.

async fn dropped_lock_leaves_no_key() -> Result<(), String> {
    let cluster = cluster().await;
    on_client(cluster.ids(), |client| async move {
        let holder = session(&client, 60).await;
        let quitter = session(&client, 60).await;
        let latecomer = session(&client, 60).await;
        let mut held = Mutex::new(&holder, "cancel").unwrap();
        held.lock().await.map_err(|e| e.to_string())?;
        let mut dropped = Mutex::new(&quitter, "cancel").unwrap();
        let waited = madsim::time::timeout(Duration::from_secs(1), dropped.lock()).await;
        if waited.is_ok() {
            return Err("the second lock must wait".into());
        }
        sleep_ms(1_000).await; // The dropped lock's clean-up runs in the background.
        held.unlock().await.map_err(|e| e.to_string())?;
        let mut late = Mutex::new(&latecomer, "cancel").unwrap();
        // The quitter's session is alive for another minute: only a deleted key lets this through.
        match madsim::time::timeout(Duration::from_secs(5), late.lock()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => {
                Err("a dropped lock() left its key behind and blocks the next session".into())
            }
        }
    })
    .await
}

#[test]
fn a_dropped_lock_call_leaves_no_key_behind() {
    for seed in SEEDS {
        run_seed(seed, dropped_lock_leaves_no_key).unwrap();
    }
}

async fn bad_input() -> Vec<String> {
    let cluster = cluster().await;
    on_client(cluster.ids(), |client| async move {
        let mut errors = Vec::new();
        let session = session(&client, 60).await;
        errors.push(Mutex::new(&session, "").err().expect("empty prefix refused").to_string());
        let db = DoubleBarrier::new(&session, "db", 0);
        errors.push(db.err().expect("count 0 refused").to_string());
        // A session whose lease is revoked behind its back.
        let doomed = Session::with_ttl(client.clone(), 60).await.unwrap();
        let revoke = detcd_core::api::LeaseRevokeRequest { id: doomed.lease() };
        client.lease_revoke(revoke).await.unwrap();
        let mut mutex = Mutex::new(&doomed, "revoked").unwrap();
        errors.push(mutex.lock().await.err().expect("lock on a revoked lease").to_string());
        let done = madsim::time::timeout(Duration::from_secs(30), doomed.done()).await;
        assert!(done.is_ok(), "the session notices its lease is gone");
        errors
    })
    .await
}

#[test]
fn bad_input_gets_clear_errors() {
    let errors = run_seed(1, bad_input);
    assert!(errors[0].contains("mutex prefix") && errors[0].contains("empty"), "{}", errors[0]);
    assert!(errors[1].contains("count"), "{}", errors[1]);
    assert!(errors[2].contains("session expired"), "{}", errors[2]);
}
