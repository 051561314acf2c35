//! A simulated detcd cluster: members on madsim nodes, each with a disk that survives crashes.
//!
//! The harness owns every member's `SimDisk`; a node's tasks only borrow it. Crashing a member
//! kills its node's tasks and makes its disk lose what was not fsynced (optionally tearing the last
//! write); restarting re-runs the member's start-up, which recovers from that disk and then, as
//! the server does, brings the member to ready (`Member::until_ready`: catch up, publish its
//! client URLs through raft) before it serves any client. Member ids are 1..=n and member 1
//! bootstraps the cluster on its very first start.

use crate::knobs::Knobs;
use crate::transport::{self, member_info, member_ip, SimPeerTransport};
use detcd_core::member::{Member, MemberConfig, MemberObserver};
use detcd_core::probes::{self, Probe};
use detcd_core::raft::types::TypeConfig;
use detcd_core::raft::types::{MemberInfo, NodeId};
use detcd_core::storage::{Disk, SimDisk, SimDiskFaults};
use madsim::runtime::{Handle, NodeHandle};
use openraft::metrics::RaftServerMetrics;
use openraft_rt::WatchReceiver;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a member's node is doing now.
#[derive(Clone)]
pub enum MemberSlot {
    Down,
    Running(Member),
    /// Start-up refused (e.g. a WAL damaged before its tail); the text says why.
    Failed(String),
}

/// One member of a simulated cluster, as the harness sees it.
pub struct SimMember {
    pub id: NodeId,
    pub node: NodeHandle,
    pub disk: Arc<SimDisk>,
    pub slot: Arc<Mutex<MemberSlot>>,
}

/// What happens to members, as the harness sees it (for the trace and the invariants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterEvent {
    Started {
        member: NodeId,
    },
    /// Start-up refused.
    Failed {
        member: NodeId,
        reason: String,
    },
    /// The member caught up and published its client URLs: it serves clients from now on.
    Ready {
        member: NodeId,
    },
    Crashed {
        member: NodeId,
    },
    /// Raft's view on `member` changed.
    Role {
        member: NodeId,
        role: String,
        term: u64,
        leader: Option<NodeId>,
    },
}

pub type ClusterListener = Arc<dyn Fn(ClusterEvent) + Send + Sync>;

/// Knobs for building a cluster.
#[derive(Clone)]
pub struct ClusterOptions {
    pub members: usize,
    pub disk_faults: SimDiskFaults,
    /// Adjusts each member's configuration (timings, snapshot thresholds, ...).
    pub configure: fn(&mut MemberConfig),
    /// Snapshot, WAL, fsync and watch settings, applied before `configure`; `disk_faults` is
    /// what a disk returns to when its faults are healed.
    pub knobs: Knobs,
    /// Told about every applied entry on every member.
    pub observer: Option<MemberObserver>,
    /// Told about starts, crashes and role changes.
    pub listener: Option<ClusterListener>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            members: 3,
            disk_faults: SimDiskFaults::default(),
            configure: |_| {},
            knobs: Knobs::etcd(),
            observer: None,
            listener: None,
        }
    }
}

pub struct Cluster {
    pub members: BTreeMap<NodeId, SimMember>,
    options: ClusterOptions,
    handle: Handle,
}

impl Cluster {
    /// Starts `options.members` members; member 1 bootstraps them as the first voters.
    pub fn start(options: ClusterOptions) -> Cluster {
        let handle = Handle::current();
        let voters: BTreeMap<NodeId, MemberInfo> =
            (1..=options.members as NodeId).map(|id| (id, member_info(id))).collect();
        let mut cluster = Cluster { members: BTreeMap::new(), options, handle };
        for id in voters.keys().copied() {
            let bootstrap = (id == 1).then(|| voters.clone());
            cluster.add_node(id, bootstrap);
        }
        cluster
    }

    /// Creates the node of member `id` (which starts at once); `bootstrap` makes it initialize the
    /// cluster with those voters on its first start.
    pub fn add_node(&mut self, id: NodeId, bootstrap: Option<BTreeMap<NodeId, MemberInfo>>) {
        let disk_seed = madsim::rand::random::<u64>();
        let disk = Arc::new(SimDisk::new(disk_seed, self.options.disk_faults.clone()));
        let slot = Arc::new(Mutex::new(MemberSlot::Down));
        let boot = Boot {
            id,
            disk: disk.clone(),
            slot: slot.clone(),
            configure: self.options.configure,
            knobs: self.options.knobs.clone(),
            observer: self.options.observer.clone(),
            listener: self.options.listener.clone(),
            bootstrap: bootstrap.map(Arc::new),
            first_start: Arc::new(AtomicBool::new(true)),
        };
        let node = self
            .handle
            .create_node()
            .name(format!("n{id}"))
            .ip(member_ip(id))
            .init(move || boot.clone().run())
            .build();
        self.members.insert(id, SimMember { id, node, disk, slot });
    }

    /// The running instance of member `id`, if it is up.
    pub fn member(&self, id: NodeId) -> Option<Member> {
        match &*self.members.get(&id)?.slot.lock().ok()? {
            MemberSlot::Running(member) => Some(member.clone()),
            _ => None,
        }
    }

    pub fn slot(&self, id: NodeId) -> Option<MemberSlot> {
        self.members.get(&id).and_then(|m| m.slot.lock().ok().map(|s| s.clone()))
    }

    pub fn ids(&self) -> Vec<NodeId> {
        self.members.keys().copied().collect()
    }

    /// Kills member `id` at once: its tasks stop and its disk loses unsynced bytes.
    pub fn crash(&self, id: NodeId) {
        let Some(member) = self.members.get(&id) else { return };
        if self.members.len() == 1 && member.disk.has_unsynced_writes() {
            probes::hit(Probe::SingleMemberCrashUnsynced);
        }
        if self.member(id).is_some_and(|running| running.leader() == Some(id)) {
            probes::hit(Probe::LeaderCrashed);
        }
        self.handle.kill(member.node.id());
        member.disk.crash();
        if let Ok(mut slot) = member.slot.lock() {
            *slot = MemberSlot::Down;
        }
        if let Some(listener) = &self.options.listener {
            listener(ClusterEvent::Crashed { member: id });
        }
    }

    /// Ends the run's nodes, members and `clients` alike: madsim drops a node's tasks only when
    /// it is killed, and a task parked on a channel of its own keeps itself alive, so without
    /// this every run's members (raft cores, replicas, logs) outlived it, and a sweep grew by
    /// megabytes per seed. Called once the run has been judged; it changes nothing it records.
    pub fn end(&self, clients: &[madsim::task::NodeId]) {
        for member in self.members.values() {
            self.handle.kill(member.node.id());
            if let Ok(mut slot) = member.slot.lock() {
                *slot = MemberSlot::Down;
            }
        }
        for client in clients {
            self.handle.kill(*client);
        }
    }

    /// Starts member `id` again from its disk.
    pub fn restart(&self, id: NodeId) {
        if let Some(member) = self.members.get(&id) {
            self.handle.restart(member.node.id());
        }
    }

    /// The member every running member agrees leads, once they all do and it is running and
    /// ready (serving clients).
    pub fn agreed_leader(&self) -> Option<NodeId> {
        let mut leaders =
            self.ids().into_iter().filter_map(|id| self.member(id)).map(|m| m.leader());
        let first = leaders.next()??;
        let agreed = leaders.all(|leader| leader == Some(first));
        (agreed && self.member(first).is_some_and(|leader| leader.is_ready())).then_some(first)
    }

    /// Waits (virtual time) until the running members agree on a leader that serves clients.
    pub async fn wait_for_leader(&self, limit: Duration) -> Option<NodeId> {
        let step = Duration::from_millis(50);
        let mut waited = Duration::ZERO;
        while waited < limit {
            if let Some(leader) = self.agreed_leader() {
                return Some(leader);
            }
            madsim::time::sleep(step).await;
            waited += step;
        }
        None
    }

    /// Waits (virtual time) until every running member is ready (serving clients); false when
    /// `limit` passes first.
    pub async fn wait_for_all_ready(&self, limit: Duration) -> bool {
        let step = Duration::from_millis(10);
        let mut waited = Duration::ZERO;
        while waited < limit {
            let members = self.ids().into_iter().filter_map(|id| self.member(id));
            if members.into_iter().all(|member| member.is_ready()) {
                return true;
            }
            madsim::time::sleep(step).await;
            waited += step;
        }
        false
    }

    /// Cuts member `id` off from everyone (both directions, raft and clients).
    pub fn isolate(&self, id: NodeId) {
        if let Some(member) = self.members.get(&id) {
            madsim::net::NetSim::current().clog_node(member.node.id());
        }
    }

    /// Reconnects member `id`.
    pub fn rejoin(&self, id: NodeId) {
        if let Some(member) = self.members.get(&id) {
            madsim::net::NetSim::current().unclog_node(member.node.id());
        }
    }

    /// The disk faults a member's disk has when no fault is on (the knobs' fsync latency).
    pub fn healthy_disk(&self) -> SimDiskFaults {
        self.options.disk_faults.clone()
    }

    pub fn disk(&self, id: NodeId) -> Option<Arc<dyn Disk>> {
        self.members.get(&id).map(|m| m.disk.clone() as Arc<dyn Disk>)
    }
}

/// Everything a member's node needs to (re)start.
#[derive(Clone)]
struct Boot {
    id: NodeId,
    disk: Arc<SimDisk>,
    slot: Arc<Mutex<MemberSlot>>,
    configure: fn(&mut MemberConfig),
    knobs: Knobs,
    observer: Option<MemberObserver>,
    listener: Option<ClusterListener>,
    bootstrap: Option<Arc<BTreeMap<NodeId, MemberInfo>>>,
    first_start: Arc<AtomicBool>,
}

impl Boot {
    async fn run(self) {
        match self.start().await {
            Ok(member) => {
                self.set(MemberSlot::Running(member.clone()));
                self.tell(ClusterEvent::Started { member: self.id });
                if let Some(listener) = self.listener.clone() {
                    madsim::task::spawn(watch_roles(member.clone(), listener));
                }
                let starting = self.clone();
                let ready = member.clone();
                madsim::task::spawn(async move {
                    ready.until_ready(transport::client_urls(starting.id)).await;
                    starting.tell(ClusterEvent::Ready { member: starting.id });
                });
                if let Err(error) = transport::serve(member).await {
                    self.set(MemberSlot::Failed(format!("serving failed: {error}")));
                }
            }
            Err(error) => {
                self.tell(ClusterEvent::Failed { member: self.id, reason: error.clone() });
                self.set(MemberSlot::Failed(error));
            }
        }
    }

    fn tell(&self, event: ClusterEvent) {
        if let Some(listener) = &self.listener {
            listener(event);
        }
    }

    async fn start(&self) -> Result<Member, String> {
        let mut config = MemberConfig::new(self.id, format!("n{}", self.id));
        self.knobs.configure(&mut config);
        // Virtual time stands still while a member hashes a password, so bcrypt's cost buys the
        // simulation nothing but real CPU (at etcd's cost of 10, most of an auth run's). The
        // smallest cost runs the same code, draws the same salts and gives the same outcomes.
        config.auth.bcrypt_cost = detcd_core::auth::password::MIN_COST;
        (self.configure)(&mut config);
        config.observer = self.observer.clone();
        let transport = SimPeerTransport::bind().await.map_err(|e| e.to_string())?;
        let disk: Arc<dyn Disk> = self.disk.clone();
        let member =
            Member::start(config, disk, Arc::new(transport)).await.map_err(|e| e.to_string())?;
        let first = self.first_start.swap(false, Ordering::SeqCst);
        if let (true, Some(voters)) = (first, &self.bootstrap) {
            member.bootstrap((**voters).clone()).await.map_err(|e| e.to_string())?;
        }
        Ok(member)
    }

    fn set(&self, state: MemberSlot) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = state;
        }
    }
}

/// Reports every change of a member's role, term or known leader until the member stops.
async fn watch_roles(member: Member, listener: ClusterListener) {
    // Server metrics change only with vote, role, leader and membership: cheap to follow.
    let mut metrics = member.raft().server_metrics();
    let mut last: Option<(String, u64, Option<NodeId>)> = None;
    loop {
        let now = view(&metrics.borrow_watched());
        if last.as_ref() != Some(&now) {
            let (role, term, leader) = now.clone();
            listener(ClusterEvent::Role { member: member.id(), role, term, leader });
            last = Some(now);
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

fn view(metrics: &RaftServerMetrics<TypeConfig>) -> (String, u64, Option<NodeId>) {
    let term = metrics.vote.leader_id().term;
    (format!("{:?}", metrics.state).to_lowercase(), term, metrics.current_leader)
}
