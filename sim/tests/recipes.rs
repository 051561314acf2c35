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
const TTL: i64 = 10;
/// Clients stop starting operations after this many virtual seconds.
const WORK_UNTIL: f64 = 36.0;

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
    sleep_ms(16_000).await;
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
        errors.push(mutex.lock().await.expect_err("lock on a revoked lease").to_string());
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

// ---------------------------------------------------------------------------------------------
// RWMutex: writers exclude everyone, strict FIFO.

use detcd_check::rwlock::{Kind, RwHold};

async fn rw_client(client: SimEtcdClient, me: u64, run: Shared<Vec<RwHold>>) {
    while now() < WORK_UNTIL {
        let session = session(&client, TTL).await;
        let mut rw = RwMutex::new(&session, "rw").expect("valid prefix");
        while now() < WORK_UNTIL && !session.is_done() {
            let kind = if thread_rng().gen_bool(0.4) { Kind::Write } else { Kind::Read };
            let locked = match kind {
                Kind::Write => rw.write_lock().await,
                Kind::Read => rw.read_lock().await,
            };
            let Ok(revision) = locked else {
                sleep_ms(200).await;
                continue;
            };
            let acquired = Some(now());
            jitter(50, 300).await;
            let released = Some(now());
            let _ = rw.unlock().await;
            run.lock().unwrap().push(RwHold { client: me, kind, revision, acquired, released });
            jitter(0, 200).await;
        }
        let _ = session.close().await;
    }
}

async fn rwmutex_under_faults() -> Vec<RwHold> {
    let cluster = cluster().await;
    let run: Shared<Vec<RwHold>> = Arc::default();
    let clients: Vec<_> = (0..5u64)
        .map(|me| {
            let run = run.clone();
            spawn_client(&client_node(), cluster.ids(), move |c| rw_client(c, me, run))
        })
        .collect();
    futures::join!(faults(&cluster), futures::future::join_all(clients));
    let holds = run.lock().unwrap().clone();
    holds
}

#[test]
fn rwmutex_is_exclusive_for_writers_and_fifo_under_faults() {
    for seed in SEEDS {
        let holds = run_seed(seed, rwmutex_under_faults);
        let writes = holds.iter().filter(|h| h.kind == Kind::Write).count();
        assert!(writes >= 5 && holds.len() - writes >= 5, "seed {seed}: too little work");
        assert_ok("rwlock", &detcd_check::rwlock::check(&holds));
    }
}

// ---------------------------------------------------------------------------------------------
// Election: one leader at a time, increasing revisions; observers see leaders in order.

use detcd_check::election::Leadership;

async fn candidate(client: SimEtcdClient, me: u64, run: Shared<Vec<Leadership>>) {
    while now() < WORK_UNTIL {
        let session = session(&client, TTL).await;
        let mut election = Election::new(&session, "election").expect("valid prefix");
        let Ok(revision) = election.campaign(format!("c{me}")).await else {
            sleep_ms(200).await;
            continue;
        };
        let elected = now();
        jitter(100, 400).await;
        let _ = election.proclaim(format!("c{me}-again")).await;
        jitter(100, 400).await;
        let ended = Some(now());
        let _ = election.resign().await;
        let term = Leadership { election: "election".into(), client: me, revision, elected, ended };
        run.lock().unwrap().push(term);
        let _ = session.close().await;
    }
}

/// Observes leaders until the work is over; returns their key create revisions in order.
async fn observer(client: SimEtcdClient) -> Vec<i64> {
    let session = session(&client, 60).await;
    let election = Election::new(&session, "election").expect("valid prefix");
    let mut observe = election.observe();
    let mut seen = Vec::new();
    while now() < WORK_UNTIL {
        if let Ok(Ok(leader)) = madsim::time::timeout(Duration::from_secs(2), observe.next()).await
        {
            seen.push(leader.create_revision);
        }
    }
    seen
}

async fn election_under_faults() -> (Vec<Leadership>, Vec<i64>) {
    let cluster = cluster().await;
    let run: Shared<Vec<Leadership>> = Arc::default();
    let candidates: Vec<_> = (0..4u64)
        .map(|me| {
            let run = run.clone();
            spawn_client(&client_node(), cluster.ids(), move |c| candidate(c, me, run))
        })
        .collect();
    let watching = spawn_client(&client_node(), cluster.ids(), observer);
    let (_, _, observed) =
        futures::join!(faults(&cluster), futures::future::join_all(candidates), watching);
    let terms = run.lock().unwrap().clone();
    (terms, observed.expect("observer task"))
}

#[test]
fn election_has_one_leader_at_a_time_under_faults() {
    for seed in SEEDS {
        let (terms, observed) = run_seed(seed, election_under_faults);
        assert!(terms.len() >= 10, "seed {seed}: only {} terms", terms.len());
        assert_ok("election", &detcd_check::election::check(&terms));
        assert!(observed.len() >= 5, "seed {seed}: the observer saw {} leaders", observed.len());
        assert!(observed.windows(2).all(|w| w[0] <= w[1]), "observed leaders out of order");
    }
}

// ---------------------------------------------------------------------------------------------
// Barrier and double barrier.

use detcd_check::barrier::{BarrierHistory, Call, DoubleBarrierHistory, Held, Participant, Wait};

async fn barrier_holder(client: SimEtcdClient, run: Shared<BarrierHistory>) {
    let barrier = Barrier::new(&client, "gate").expect("valid key");
    while now() < WORK_UNTIL {
        if barrier.hold().await.is_err() {
            // Maybe up, maybe not: take it down and start again.
            let _ = barrier.release().await;
            continue;
        }
        let put = now();
        jitter(1_000, 3_000).await;
        let deleted = Some(now());
        let _ = barrier.release().await;
        run.lock().unwrap().held.push(Held { put, deleted });
        jitter(200, 1_000).await;
    }
}

async fn barrier_waiter(client: SimEtcdClient, me: u64, run: Shared<BarrierHistory>) {
    let barrier = Barrier::new(&client, "gate").expect("valid key");
    while now() < WORK_UNTIL {
        let call = now();
        let ret = barrier.wait().await.ok().map(|_| now());
        run.lock().unwrap().waits.push(Wait { client: me, call, ret });
        jitter(0, 500).await;
    }
}

async fn barrier_under_faults() -> BarrierHistory {
    let cluster = cluster().await;
    let run: Shared<BarrierHistory> = Arc::default();
    let mut tasks = vec![spawn_client(&client_node(), cluster.ids(), {
        let run = run.clone();
        move |c| barrier_holder(c, run)
    })];
    for me in 1..4u64 {
        let run = run.clone();
        tasks
            .push(spawn_client(&client_node(), cluster.ids(), move |c| barrier_waiter(c, me, run)));
    }
    futures::join!(faults(&cluster), futures::future::join_all(tasks));
    let history = run.lock().unwrap().clone();
    history
}

#[test]
fn barrier_waits_hold_while_the_barrier_is_up_under_faults() {
    for seed in SEEDS {
        let history = run_seed(seed, barrier_under_faults);
        assert!(
            history.held.len() >= 5 && history.waits.len() >= 10,
            "seed {seed}: too little work"
        );
        assert_ok("barrier", &detcd_check::barrier::check_barrier(&history));
    }
}

const PARTICIPANTS: usize = 3;
const ROUNDS: usize = 6;

/// One participant through every round; a fourth participant per round must be turned away.
async fn double_barrier_participant(
    client: SimEtcdClient,
    me: u64,
    rounds: Shared<Vec<Vec<Participant>>>,
) {
    for round in 0..ROUNDS {
        let session = session(&client, TTL).await;
        let key = format!("double/{round}");
        let mut barrier = DoubleBarrier::new(&session, &key, PARTICIPANTS).expect("valid barrier");
        let call = now();
        // A participant turned away, or one that came after the round was over, gives up; a
        // dropped enter takes its key back.
        let entered = madsim::time::timeout(Duration::from_secs(15), barrier.enter()).await;
        if !matches!(entered, Ok(Ok(()))) {
            let _ = session.close().await;
            continue;
        }
        let enter = Call { call, ret: Some(now()) };
        jitter(100, 800).await;
        let call = now();
        let left = barrier.leave().await.is_ok().then(now);
        let participant = Participant { client: me, enter, leave: Some(Call { call, ret: left }) };
        rounds.lock().unwrap()[round].push(participant);
        let _ = session.close().await;
    }
}

async fn double_barrier_under_faults() -> Vec<Vec<Participant>> {
    let cluster = cluster().await;
    let rounds: Shared<Vec<Vec<Participant>>> = Arc::new(StdMutex::new(vec![vec![]; ROUNDS]));
    let tasks: Vec<_> = (0..PARTICIPANTS as u64 + 1)
        .map(|me| {
            let rounds = rounds.clone();
            spawn_client(&client_node(), cluster.ids(), move |c| {
                double_barrier_participant(c, me, rounds)
            })
        })
        .collect();
    futures::join!(faults(&cluster), futures::future::join_all(tasks));
    let rounds = rounds.lock().unwrap().clone();
    rounds
}

#[test]
fn double_barrier_lets_exactly_n_in_and_out_together_under_faults() {
    for seed in SEEDS {
        let rounds = run_seed(seed, double_barrier_under_faults);
        let complete = rounds.iter().filter(|r| r.len() == PARTICIPANTS).count();
        assert!(complete >= ROUNDS / 2, "seed {seed}: only {complete} complete rounds");
        for participants in rounds {
            let history = DoubleBarrierHistory { n: PARTICIPANTS, participants };
            if !detcd_check::barrier::check_double_barrier(&history).is_ok() {
                eprintln!("seed {seed}: {history:?}");
            }
            assert_ok("double barrier", &detcd_check::barrier::check_double_barrier(&history));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queue and priority queue: nothing lost, nothing twice, FIFO within a priority, priority order.

use detcd_check::queue::{Dequeue, Enqueue, QueueHistory};

const STOP: &str = "stop";
const PRODUCERS: u64 = 2;
const CONSUMERS: u64 = 2;

/// Either queue, so one workload drives both.
enum AnyQueue {
    Plain(Queue<SimEtcdClient>),
    Priority(PriorityQueue<SimEtcdClient>),
}

impl AnyQueue {
    fn new(client: &SimEtcdClient, priority: bool) -> Self {
        if priority {
            AnyQueue::Priority(PriorityQueue::new(client, "pq").expect("valid prefix"))
        } else {
            AnyQueue::Plain(Queue::new(client, "queue").expect("valid prefix"))
        }
    }

    async fn enqueue(&self, value: &str, priority: u32) -> Result<Vec<u8>, RecipeError> {
        match self {
            AnyQueue::Plain(queue) => queue.enqueue(value).await,
            AnyQueue::Priority(queue) => queue.enqueue(value, priority).await,
        }
    }

    async fn dequeue(&self) -> Result<Vec<u8>, RecipeError> {
        match self {
            AnyQueue::Plain(queue) => queue.dequeue().await,
            AnyQueue::Priority(queue) => queue.dequeue().await,
        }
    }
}

async fn producer(client: SimEtcdClient, me: u64, priority: bool, run: Shared<QueueHistory>) {
    let queue = AnyQueue::new(&client, priority);
    let mut i = 0;
    while now() < WORK_UNTIL {
        let value = format!("p{me}-{i}");
        let level = if priority { thread_rng().gen_range(0..3) } else { 0 };
        let call = now();
        let ret = match queue.enqueue(&value, level).await {
            Ok(_) => Some(now()),
            Err(error) if error.is_unknown() => None,
            // Certainly not enqueued: leave it out of the history.
            Err(_) => continue,
        };
        let enqueue = Enqueue { client: me, value, priority: level, call, ret };
        run.lock().unwrap().enqueues.push(enqueue);
        i += 1;
        jitter(50, 400).await;
    }
}

async fn consumer(client: SimEtcdClient, me: u64, priority: bool, run: Shared<QueueHistory>) {
    let queue = AnyQueue::new(&client, priority);
    loop {
        let call = now();
        let dequeue = match queue.dequeue().await {
            Ok(value) if value == STOP.as_bytes() => return,
            Ok(value) => {
                let value = Some(String::from_utf8(value).expect("utf-8 value"));
                Dequeue { client: me, value, call, ret: Some(now()) }
            }
            Err(_) => Dequeue { client: me, value: None, call, ret: None },
        };
        run.lock().unwrap().dequeues.push(dequeue);
        jitter(50, 500).await;
    }
}

/// After the producers stop: one stop marker per consumer (last priority, so they come last),
/// then whatever is left in the queue.
async fn drain(client: SimEtcdClient, priority: bool) -> Vec<String> {
    let queue = AnyQueue::new(&client, priority);
    for _ in 0..CONSUMERS {
        while queue.enqueue(STOP, 9).await.is_err() {}
    }
    sleep_ms(10_000).await;
    let prefix = if priority { "pq/" } else { "queue/" };
    let request = detcd_core::client::ops::get_prefix(prefix.as_bytes());
    let left = client.range(request).await.expect("final read");
    left.kvs
        .into_iter()
        .map(|kv| String::from_utf8(kv.value).expect("utf-8"))
        .filter(|v| v != STOP)
        .collect()
}

async fn queue_under_faults(priority: bool) -> QueueHistory {
    let cluster = cluster().await;
    let run: Shared<QueueHistory> = Arc::default();
    let mut producers = Vec::new();
    for me in 0..PRODUCERS {
        let run = run.clone();
        producers.push(spawn_client(&client_node(), cluster.ids(), move |c| {
            producer(c, me, priority, run)
        }));
    }
    let mut consumers = Vec::new();
    for me in PRODUCERS..PRODUCERS + CONSUMERS {
        let run = run.clone();
        consumers.push(spawn_client(&client_node(), cluster.ids(), move |c| {
            consumer(c, me, priority, run)
        }));
    }
    futures::join!(faults(&cluster), futures::future::join_all(producers));
    let remaining = on_client(cluster.ids(), move |c| drain(c, priority)).await;
    futures::future::join_all(consumers).await;
    let mut history = run.lock().unwrap().clone();
    history.remaining = remaining;
    history
}

fn check_queue(seed: u64, history: &QueueHistory) {
    let delivered = history.dequeues.iter().filter(|d| d.value.is_some()).count();
    assert!(delivered >= 20, "seed {seed}: only {delivered} values delivered");
    assert_ok("queue", &detcd_check::queue::check(history));
}

#[test]
fn queue_loses_and_duplicates_nothing_and_is_fifo_under_faults() {
    for seed in SEEDS {
        check_queue(seed, &run_seed(seed, || queue_under_faults(false)));
    }
}

#[test]
fn priority_queue_serves_urgent_first_and_fifo_within_a_priority_under_faults() {
    for seed in SEEDS {
        check_queue(seed, &run_seed(seed, || queue_under_faults(true)));
    }
}

#[test]
fn priority_queue_keys_have_etcds_format() {
    let key = run_seed(0, || async {
        let cluster = cluster().await;
        on_client(cluster.ids(), |client| async move {
            let queue = PriorityQueue::new(&client, "test_queue").unwrap();
            queue.enqueue("v", 5).await.unwrap()
        })
        .await
    });
    assert_eq!(String::from_utf8(key).unwrap(), "test_queue/00005/0000000000000000");
}

#[test]
fn dequeue_whose_wait_fell_behind_a_compaction_gets_etcds_error() {
    for seed in SEEDS {
        let error = run_seed(seed, dequeue_on_a_compacted_queue);
        assert!(error.contains("required revision has been compacted"), "seed {seed}: {error}");
    }
}

/// A dequeuer waits on an empty queue through member 1; member 1 is cut off while the others
/// write and compact, so the waiter's resumed watch starts below the compaction.
async fn dequeue_on_a_compacted_queue() -> String {
    let cluster = cluster().await;
    let waiter = spawn_client(&client_node(), vec![1, 2, 3], |client| async move {
        let queue = Queue::new(&client, "compacted").expect("valid prefix");
        match queue.dequeue().await {
            Ok(value) => format!("dequeued {value:?}"),
            Err(error) => error.to_string(),
        }
    });
    sleep_ms(1_000).await;
    cluster.isolate(1);
    on_client(vec![2, 3], |client| async move {
        loop {
            let mut revision = 0;
            for i in 0..5 {
                let put = detcd_core::client::ops::put(format!("other{i}").as_bytes(), b"x", 0);
                if let Ok(response) = client.put(put).await {
                    revision = response.header.revision;
                }
            }
            let compact = detcd_core::api::CompactionRequest { revision, physical: false };
            if revision > 0 && client.compact(compact).await.is_ok() {
                return;
            }
            sleep_ms(500).await;
        }
    })
    .await;
    let error = madsim::time::timeout(Duration::from_secs(30), waiter).await;
    cluster.rejoin(1);
    match error {
        Ok(Ok(error)) => error,
        _ => "the dequeue kept waiting".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// STM: the seed's bank transfer, checked for atomicity (sum) and linearizability.

use detcd_check::history::{History, Operation};
use detcd_core::recipes::stm::{self, Isolation};

const ACCOUNTS: [&str; 5] = ["a", "b", "c", "d", "e"];
const INITIAL_BALANCE: i64 = 100;

async fn open_accounts(client: SimEtcdClient) {
    for account in ACCOUNTS {
        let balance = INITIAL_BALANCE.to_string();
        let put = detcd_core::client::ops::put(
            format!("bank/{account}").as_bytes(),
            balance.as_bytes(),
            0,
        );
        while client.put(put.clone()).await.is_err() {
            sleep_ms(200).await;
        }
    }
}

async fn bank_client(client: SimEtcdClient, me: u64, run: Shared<Vec<Operation>>) {
    let isolation =
        [Isolation::SerializableSnapshot, Isolation::Serializable, Isolation::RepeatableReads]
            [me as usize % 3];
    while now() < WORK_UNTIL {
        let op = if thread_rng().gen_bool(0.3) {
            read_balances(&client, me).await
        } else {
            transfer(&client, me, isolation).await
        };
        if let Some(op) = op {
            run.lock().unwrap().push(op);
        }
        jitter(0, 200).await;
    }
}

/// Every balance in one linearizable read.
async fn read_balances(client: &SimEtcdClient, me: u64) -> Option<Operation> {
    let call = now();
    let request = detcd_core::client::ops::get_prefix(b"bank/");
    let response = client.range(request).await.ok()?;
    let balances: serde_json::Map<String, serde_json::Value> = response
        .kvs
        .iter()
        .map(|kv| {
            let account = String::from_utf8_lossy(&kv.key["bank/".len()..]).to_string();
            let balance: i64 = String::from_utf8_lossy(&kv.value).parse().expect("a number");
            (account, balance.into())
        })
        .collect();
    Some(operation(me, call, Some(now()), "read", serde_json::Value::Null, balances.into()))
}

async fn transfer(client: &SimEtcdClient, me: u64, isolation: Isolation) -> Option<Operation> {
    let mut rng = thread_rng();
    let from = ACCOUNTS[rng.gen_range(0..ACCOUNTS.len())];
    let to = ACCOUNTS[rng.gen_range(0..ACCOUNTS.len())];
    if from == to {
        return None;
    }
    let amount = rng.gen_range(1..40);
    let input = serde_json::json!({ "from": from, "to": to, "amount": amount });
    let call = now();
    let (from_key, to_key) = (format!("bank/{from}"), format!("bank/{to}"));
    match stm::transfer(client, isolation, &from_key, &to_key, amount).await {
        Ok(applied) => Some(operation(me, call, Some(now()), "transfer", input, applied.into())),
        Err(error) if error.is_unknown() => {
            Some(operation(me, call, None, "transfer", input, serde_json::Value::Null))
        }
        // A definite failure changed nothing.
        Err(_) => None,
    }
}

fn operation(
    client: u64,
    call: f64,
    ret: Option<f64>,
    f: &str,
    input: serde_json::Value,
    output: serde_json::Value,
) -> Operation {
    Operation { client, call, ret, f: f.into(), key: None, input, output }
}

async fn bank_under_faults() -> Vec<Operation> {
    let cluster = cluster().await;
    on_client(cluster.ids(), open_accounts).await;
    let run: Shared<Vec<Operation>> = Arc::default();
    let clients: Vec<_> = (0..5u64)
        .map(|me| {
            let run = run.clone();
            spawn_client(&client_node(), cluster.ids(), move |c| bank_client(c, me, run))
        })
        .collect();
    futures::join!(faults(&cluster), futures::future::join_all(clients));
    let ops = run.lock().unwrap().clone();
    ops
}

#[test]
fn stm_bank_transfers_keep_the_total_and_are_linearizable_under_faults() {
    let initial: std::collections::BTreeMap<String, i64> =
        ACCOUNTS.iter().map(|a| (a.to_string(), INITIAL_BALANCE)).collect();
    for seed in SEEDS {
        let ops = run_seed(seed, bank_under_faults);
        let transfers = ops.iter().filter(|op| op.f == "transfer").count();
        assert!(transfers >= 20 && ops.len() - transfers >= 10, "seed {seed}: too little work");
        let options = detcd_check::linearizability::Options {
            budget: detcd_check::linearizability::Budget {
                max_steps: Some(20_000_000),
                deadline: None,
            },
            parallel: false,
        };
        let verdict = detcd_check::bank::check(&initial, &History::new(ops), options);
        assert_ok("bank", &verdict.expect("a well-formed history"));
    }
}

#[test]
fn recipe_runs_are_deterministic() {
    detcd_sim::check_determinism(7, mutex_under_faults);
}

// ---------------------------------------------------------------------------------------------
// The Client trait itself, and the recipes' documented answers.

use detcd_core::api::{LeaseTimeToLiveRequest, PutRequest};
use detcd_core::client::{ops, Watcher};
use detcd_core::kv::EventType;
use detcd_core::watch::{
    WatchCancelRequest, WatchCreateRequest, WatchProgressRequest, WatchRequest,
};

async fn client_api() {
    let cluster = cluster().await;
    on_client(cluster.ids(), |client| async move {
        let members = client.member_list().await.expect("member list");
        assert_eq!(members.len(), 3);
        let status = client.status().await.expect("status");
        assert!(status.leader.is_some(), "status names the leader");
        // Watch: create, an event, a progress notification, cancel.
        let mut watcher = client.watch().await.expect("watch stream");
        let create = WatchCreateRequest::key("w", 0);
        watcher.send(WatchRequest::Create(create)).await.expect("create");
        let created = watcher.recv().await.expect("created");
        assert!(created.created);
        let put = PutRequest { key: b"w".to_vec(), value: b"1".to_vec(), ..Default::default() };
        let revision = client.put(put).await.expect("put").header.revision;
        let event = watcher.recv().await.expect("event");
        assert_eq!(event.events.len(), 1);
        assert_eq!(event.events[0].kind, EventType::Put);
        assert_eq!(event.events[0].revision(), revision);
        watcher.send(WatchRequest::Progress(WatchProgressRequest {})).await.expect("progress");
        let progress = watcher.recv().await.expect("progress answer");
        assert!(progress.is_progress() && progress.header.revision >= revision);
        let cancel = WatchCancelRequest { watch_id: created.watch_id };
        watcher.send(WatchRequest::Cancel(cancel)).await.expect("cancel");
        assert!(watcher.recv().await.expect("canceled").canceled);
        // Maintenance and leases.
        let hash = client.hash_kv(0).await.expect("hash kv");
        assert_eq!(hash.revision, revision);
        let session = session(&client, 30).await;
        let leases = client.lease_leases().await.expect("leases").leases;
        assert!(leases.contains(&session.lease()));
        let ttl = LeaseTimeToLiveRequest { id: session.lease(), keys: true };
        assert!(client.lease_time_to_live(ttl).await.expect("ttl").ttl > 0);
        // Errors carry etcd's text.
        let missing = client.lease_revoke(detcd_core::api::LeaseRevokeRequest { id: 12345 }).await;
        assert_eq!(missing.unwrap_err().to_string(), "etcdserver: requested lease not found");
        session.close().await.expect("close revokes");
        let ttl = LeaseTimeToLiveRequest { id: session.lease(), keys: false };
        assert_eq!(client.lease_time_to_live(ttl).await.expect("ttl").ttl, -1);
    })
    .await
}

#[test]
fn the_client_trait_covers_kv_watch_lease_cluster_and_maintenance() {
    run_seed(3, client_api);
}

async fn documented_answers() {
    let cluster = cluster().await;
    on_client(cluster.ids(), |client| async move {
        let (a, b) = (session(&client, 60).await, session(&client, 60).await);
        let mut held = Mutex::new(&a, "mutex").unwrap();
        held.lock().await.expect("free lock");
        assert_eq!(held.key(), format!("mutex/{:x}", a.lease()).as_bytes());
        let mut other = Mutex::new(&b, "mutex").unwrap();
        let refused = other.try_lock().await.expect_err("held by a");
        assert_eq!(refused.to_string(), "mutex: Locked by another session");
        let keys = client.range(ops::get_prefix(b"mutex/")).await.unwrap();
        assert_eq!(keys.kvs.len(), 1, "a failed try-lock leaves no key");
        // The fencing compare holds for the owner only.
        let fenced =
            detcd_core::api::TxnRequest { compare: vec![held.is_owner()], ..Default::default() };
        assert!(client.txn(fenced).await.unwrap().succeeded);
        held.unlock().await.unwrap();
        other.try_lock().await.expect("free now");
        other.unlock().await.unwrap();
        // Election errors.
        let mut election = Election::new(&a, "leaders").unwrap();
        assert_eq!(election.leader().await.unwrap_err().to_string(), "election: no leader");
        assert_eq!(election.proclaim("x").await.unwrap_err().to_string(), "election: not leader");
        election.campaign("first").await.unwrap();
        election.proclaim("second").await.unwrap();
        assert_eq!(election.leader().await.unwrap().value, b"second");
        election.resign().await.unwrap();
        // Barrier: a second hold is refused; wait returns at once when it is down.
        let barrier = Barrier::new(&client, "gate").unwrap();
        barrier.hold().await.unwrap();
        assert_eq!(barrier.hold().await.unwrap_err().to_string(), "key already exists");
        barrier.release().await.unwrap();
        barrier.wait().await.unwrap();
        // A double barrier for one enters and leaves alone.
        let mut alone = DoubleBarrier::new(&a, "solo", 1).unwrap();
        alone.enter().await.unwrap();
        alone.leave().await.unwrap();
        // STM at every isolation level.
        for isolation in [
            Isolation::SerializableSnapshot,
            Isolation::Serializable,
            Isolation::RepeatableReads,
            Isolation::ReadCommitted,
        ] {
            client.put(ops::put(b"x", b"10", 0)).await.unwrap();
            assert!(stm::transfer(&client, isolation, "x", "y", 4).await.unwrap());
            assert!(!stm::transfer(&client, isolation, "x", "y", 400).await.unwrap());
        }
    })
    .await
}

#[test]
fn recipes_give_etcds_documented_answers() {
    run_seed(4, documented_answers);
}

/// A client paused past its TTL comes back to a finished session whose keys are gone.
async fn paused_past_ttl() {
    let cluster = cluster().await;
    let node = client_node();
    let id = node.id();
    let (ready, holding) = futures::channel::oneshot::channel();
    let task = spawn_client(&node, cluster.ids(), move |client| async move {
        let session = Session::with_ttl(client.clone(), 3).await.unwrap();
        let mut mutex = Mutex::new(&session, "paused").unwrap();
        mutex.lock().await.unwrap();
        ready.send(()).unwrap();
        let done = madsim::time::timeout(Duration::from_secs(20), session.done()).await;
        assert!(done.is_ok(), "the keep-alive notices the lost lease");
        let error = mutex.lock().await.unwrap_err().to_string();
        assert!(error.contains("session expired"), "{error}");
        let keys = client.range(ops::get_prefix(b"paused/")).await.unwrap();
        assert!(keys.kvs.is_empty(), "the expired lease took the lock key with it");
    });
    holding.await.unwrap();
    Handle::current().pause(id);
    sleep_ms(10_000).await;
    Handle::current().resume(id);
    task.await.unwrap();
}

#[test]
fn a_session_paused_past_its_ttl_is_done_and_its_keys_are_gone() {
    for seed in SEEDS {
        run_seed(seed, paused_past_ttl);
    }
}
