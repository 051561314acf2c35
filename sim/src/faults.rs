//! The faults the simulator can inject, each callable from tests and schedulable in a plan.
//!
//! A fault names its victims explicitly (member ids) or by role (`Target::Leader`), resolved when
//! it fires; random choices are drawn from madsim's seeded generator, so a plan replays exactly.
//! `apply` returns the line the trace records.

use crate::cluster::{Cluster, MemberSlot};
use crate::transport::member_info;
use detcd_core::probes::{self, Probe};
use detcd_core::raft::types::NodeId;
use detcd_core::runtime::{node_clock, ClockSkew};
use detcd_core::storage::SimDiskFaults;
use madsim::net::NetSim;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Which member a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Member(NodeId),
    Leader,
    Follower,
    /// The follower serving the most watchers (a random follower where none serves any).
    WatchedFollower,
    Random,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// Cut one member off from everyone, raft and clients alike.
    Isolate {
        target: Target,
    },
    /// Cut one member off from the other members while clients still reach it: a leader so cut
    /// keeps taking requests after the others elected a new one (the stale-leader window).
    Strand {
        target: Target,
    },
    /// Split the members into two sides that cannot talk (clients still reach both).
    Split {
        minority: Vec<NodeId>,
    },
    /// `bridge` talks to both sides; the two sides cannot talk to each other.
    Bridge {
        bridge: NodeId,
        left: Vec<NodeId>,
        right: Vec<NodeId>,
    },
    /// Messages from `from` to `to` are lost; the other direction works.
    OneWay {
        from: Target,
        to: Target,
    },
    PacketLoss {
        rate: f64,
    },
    Latency {
        min_ms: u64,
        max_ms: u64,
    },
    /// Undo every network fault.
    HealNetwork,
    Crash {
        target: Target,
    },
    /// Start every crashed member again from its disk.
    RestartCrashed,
    CrashAll,
    /// Every member crashes the moment the leader next applies at least `entries` entries at
    /// once (at most `within_ms` after the fault's time; then it crashes anyway): right after an
    /// acknowledgement, of a group commit's batch when `entries` > 1, when whatever was
    /// acknowledged but is not yet durable is lost.
    CrashAllOnApply {
        within_ms: u64,
        entries: u64,
    },
    /// Freeze a member's tasks for a while (a GC pause, a stopped VM).
    Pause {
        target: Target,
        millis: u64,
    },
    /// Step a member's clock by `offset_ms` (forward only: see `ClockJump`) and let it drift at
    /// `rate` from then on.
    ClockSkew {
        member: NodeId,
        offset_ms: i64,
        rate: f64,
    },
    /// Step a member's clock by `by_ms`: forward as after a VM was suspended; a step back is a
    /// wall-clock step, which leaves the monotonic clock the core reads where it was.
    ClockJump {
        member: NodeId,
        by_ms: i64,
    },
    Disk {
        member: NodeId,
        fsync_error: f64,
        torn_write: f64,
        fsync_latency_ms: u64,
    },
    /// Add a new member (as learner, then voter).
    AddMember,
    RemoveMember {
        target: Target,
    },
}

fn list(ids: &[NodeId]) -> String {
    ids.iter().map(|id| format!("n{id}")).collect::<Vec<_>>().join(",")
}

impl Cluster {
    /// Resolves a target against the cluster as it is now.
    pub fn resolve(&self, target: Target) -> Option<NodeId> {
        let running: Vec<NodeId> =
            self.ids().into_iter().filter(|id| self.member(*id).is_some()).collect();
        // The leader as the member with the newest term sees it: a paused or cut-off old leader
        // still names itself.
        let leader = running
            .iter()
            .filter_map(|id| self.member(*id))
            .map(|member| (member.metrics().current_term, member.leader()))
            .filter(|(_, leader)| leader.is_some())
            .max_by_key(|(term, _)| *term)
            .and_then(|(_, leader)| leader);
        match target {
            Target::Member(id) => self.members.contains_key(&id).then_some(id),
            Target::Leader => leader.filter(|id| running.contains(id)),
            Target::Follower => {
                let followers: Vec<NodeId> =
                    running.into_iter().filter(|id| Some(*id) != leader).collect();
                pick(&followers)
            }
            Target::WatchedFollower => {
                let followers: Vec<(NodeId, usize)> = running
                    .iter()
                    .filter(|id| Some(**id) != leader)
                    .filter_map(|id| self.member(*id).map(|member| (*id, member.watcher_count())))
                    .collect();
                let most = followers.iter().map(|(_, watchers)| *watchers).max().unwrap_or(0);
                let watched: Vec<NodeId> = followers
                    .iter()
                    .filter(|(_, watchers)| *watchers == most)
                    .map(|(id, _)| *id)
                    .collect();
                pick(&watched)
            }
            Target::Random => pick(&running),
        }
    }

    fn node_of(&self, id: NodeId) -> Option<madsim::task::NodeId> {
        self.members.get(&id).map(|member| member.node.id())
    }

    fn cut(&self, from: NodeId, to: NodeId) {
        if let (Some(a), Some(b)) = (self.node_of(from), self.node_of(to)) {
            NetSim::current().clog_link(a, b);
        }
    }

    fn cut_both(&self, left: &[NodeId], right: &[NodeId]) {
        for a in left {
            for b in right {
                self.cut(*a, *b);
                self.cut(*b, *a);
            }
        }
    }

    /// Undoes every network fault between members and clients.
    pub fn heal_network(&self, clients: &[madsim::task::NodeId]) {
        let net = NetSim::current();
        let nodes: Vec<madsim::task::NodeId> =
            self.members.values().map(|m| m.node.id()).chain(clients.iter().copied()).collect();
        for a in &nodes {
            net.unclog_node(*a);
            for b in &nodes {
                net.unclog_link(*a, *b);
            }
        }
        net.update_config(|config| {
            config.packet_loss_rate = 0.0;
            config.send_latency = Duration::from_millis(1)..Duration::from_millis(10);
        });
    }

    /// Waits for the moment a fault is aimed at, if it is aimed at one (`CrashAllOnApply`: the
    /// leader's next applied entry), polling every millisecond.
    pub async fn until_moment(&self, fault: &Fault) {
        let Fault::CrashAllOnApply { within_ms, entries } = fault else { return };
        let applied = |cluster: &Cluster| {
            let leader = cluster.resolve(Target::Leader)?;
            Some(cluster.member(leader)?.status().raft_applied_index)
        };
        let mut before = applied(self);
        for _ in 0..*within_ms {
            madsim::time::sleep(Duration::from_millis(1)).await;
            let now = applied(self);
            match (before, now) {
                (Some(before), Some(now)) if now >= before + (*entries).max(1) => return,
                _ => before = now,
            }
        }
    }

    /// Injects `fault` now; returns what the trace should say, or `None` if it had no victim.
    pub fn apply(&mut self, fault: &Fault, clients: &[madsim::task::NodeId]) -> Option<String> {
        match fault {
            Fault::Isolate { target } => {
                let id = self.resolve(*target)?;
                self.isolate(id);
                Some(format!("isolate n{id}"))
            }
            Fault::Strand { target } => {
                let id = self.resolve(*target)?;
                let others: Vec<NodeId> = self.ids().into_iter().filter(|o| *o != id).collect();
                self.cut_both(&[id], &others);
                Some(format!("strand n{id} from its peers"))
            }
            Fault::Split { minority } => {
                let majority: Vec<NodeId> =
                    self.ids().into_iter().filter(|id| !minority.contains(id)).collect();
                self.cut_both(minority, &majority);
                Some(format!("partition {}|{}", list(minority), list(&majority)))
            }
            Fault::Bridge { bridge, left, right } => {
                self.cut_both(left, right);
                Some(format!("bridge n{bridge} between {}|{}", list(left), list(right)))
            }
            Fault::OneWay { from, to } => {
                let (a, b) = (self.resolve(*from)?, self.resolve(*to)?);
                (a != b).then(|| self.cut(a, b))?;
                Some(format!("one-way cut n{a}->n{b}"))
            }
            Fault::PacketLoss { rate } => {
                NetSim::current().update_config(|config| config.packet_loss_rate = *rate);
                Some(format!("packet loss {:.0}%", rate * 100.0))
            }
            Fault::Latency { min_ms, max_ms } => {
                let range = Duration::from_millis(*min_ms)
                    ..Duration::from_millis((*max_ms).max(min_ms + 1));
                NetSim::current().update_config(|config| config.send_latency = range);
                Some(format!("latency {min_ms}..{max_ms}ms"))
            }
            Fault::HealNetwork => {
                self.heal_network(clients);
                Some("heal network".into())
            }
            Fault::Crash { target } => {
                let id = self.resolve(*target)?;
                self.crash(id);
                Some(format!("crash n{id}"))
            }
            Fault::RestartCrashed => {
                let down = self.down_members();
                for id in &down {
                    self.restart(*id);
                }
                (!down.is_empty()).then(|| format!("restart {}", list(&down)))
            }
            Fault::CrashAll | Fault::CrashAllOnApply { .. } => {
                for id in self.ids() {
                    self.crash(id);
                }
                let aimed = matches!(fault, Fault::CrashAllOnApply { .. });
                Some(if aimed { "crash all on an apply" } else { "crash all" }.into())
            }
            Fault::Pause { target, millis } => {
                let id = self.resolve(*target)?;
                self.pause_for(id, Duration::from_millis(*millis));
                Some(format!("pause n{id} for {millis}ms"))
            }
            Fault::ClockSkew { member, offset_ms, rate } => {
                let node = self.node_of(*member)?;
                // A step of `offset_ms` from where the clock reads now, not from true time: the
                // deviation a clock has built up by drifting stays (an hour at rate 1.9 is
                // minutes ahead), so a later skew never moves it by more than its own offset.
                let drifted = node_clock::skew_of(node).offset_nanos;
                node_clock::set_skew(
                    node,
                    ClockSkew { offset_nanos: drifted + offset_ms * 1_000_000, rate: *rate },
                );
                Some(format!("clock n{member} offset {offset_ms:+}ms rate {rate:.2}"))
            }
            Fault::ClockJump { member, by_ms } => {
                let node = self.node_of(*member)?;
                node_clock::jump(node, by_ms * 1_000_000);
                if *by_ms < 0 {
                    // Only the wall clock steps back; the core reads the monotonic one.
                    Some(format!("clock n{member} steps back {by_ms}ms (monotonic clock unmoved)"))
                } else {
                    Some(format!("clock n{member} jumps {by_ms:+}ms"))
                }
            }
            Fault::Disk { member, fsync_error, torn_write, fsync_latency_ms } => {
                let disk = &self.members.get(member)?.disk;
                let latency = Duration::from_millis(*fsync_latency_ms);
                disk.set_faults(SimDiskFaults {
                    fsync_error_probability: *fsync_error,
                    fsync_latency: Duration::ZERO..=latency,
                    torn_write_probability: *torn_write,
                });
                Some(format!("disk n{member} fsync-error {fsync_error:.2} torn {torn_write:.2} slow {fsync_latency_ms}ms"))
            }
            Fault::AddMember => {
                let id = self.ids().last().copied().unwrap_or(0) + 1;
                self.add_node(id, None);
                self.join_in_background(id);
                Some(format!("add member n{id}"))
            }
            Fault::RemoveMember { target } => {
                let id = self.resolve(*target)?;
                self.remove_in_background(id);
                Some(format!("remove member n{id}"))
            }
        }
    }

    /// Members whose node is down (crashed and not restarted).
    pub fn down_members(&self) -> Vec<NodeId> {
        self.ids()
            .into_iter()
            .filter(|id| matches!(self.slot(*id), Some(MemberSlot::Down)))
            .collect()
    }

    fn pause_for(&self, id: NodeId, duration: Duration) {
        let Some(node) = self.node_of(id) else { return };
        let handle = madsim::runtime::Handle::current();
        handle.pause(node);
        madsim::task::spawn(async move {
            madsim::time::sleep(duration).await;
            madsim::runtime::Handle::current().resume(node);
        });
    }

    /// Asks the leader to take member `id` in as learner, then promote it.
    fn join_in_background(&self, id: NodeId) {
        let Some(leader) = self.resolve(Target::Leader).and_then(|l| self.member(l)) else {
            return;
        };
        madsim::task::spawn(async move {
            if leader.add_learner(id, member_info(id)).await.is_ok()
                && leader.promote([id].into()).await.is_ok()
            {
                probes::hit(Probe::MemberPromoted);
            }
        });
    }

    fn remove_in_background(&self, id: NodeId) {
        let Some(leader) = self.resolve(Target::Leader).and_then(|l| self.member(l)) else {
            return;
        };
        madsim::task::spawn(async move {
            let _ = leader.remove_members([id].into()).await;
        });
    }

    /// Undoes every fault: network, pauses, clocks' drift, disk faults; restarts crashed members.
    pub fn heal_all(&self, clients: &[madsim::task::NodeId]) -> String {
        self.heal_network(clients);
        let handle = madsim::runtime::Handle::current();
        for member in self.members.values() {
            handle.resume(member.node.id());
            member.disk.set_faults(self.healthy_disk());
            let skew = node_clock::skew_of(member.node.id());
            node_clock::set_skew(
                member.node.id(),
                ClockSkew { offset_nanos: skew.offset_nanos, rate: 1.0 },
            );
        }
        // A member whose raft stopped (its WAL refused a failed fsync) recovers only by restarting,
        // as does one whose start-up failed: an operator would try again once the disk behaves,
        // and a start-up refused for real damage is refused again (and stays `Failed`).
        let stopped: Vec<NodeId> = self
            .ids()
            .into_iter()
            .filter(|id| {
                self.member(*id).is_some_and(|m| m.is_stopped())
                    || matches!(self.slot(*id), Some(MemberSlot::Failed(_)))
            })
            .collect();
        for id in &stopped {
            self.crash(*id);
        }
        let down = self.down_members();
        for id in &down {
            self.restart(*id);
        }
        format!("heal all (restart {})", if down.is_empty() { "none".into() } else { list(&down) })
    }
}

fn pick(ids: &[NodeId]) -> Option<NodeId> {
    if ids.is_empty() {
        return None;
    }
    Some(ids[madsim::rand::random::<usize>() % ids.len()])
}
