//! Faults on a real cluster, drawn from the seed: SIGKILL and restart, SIGSTOP/SIGCONT pauses,
//! partitions (isolate, halves, bridge, one-way), degraded links (loss, delay), clock jumps
//! and drift (`clock`), and failing or slow fsyncs (`disk`), each of the leader or of a random
//! member. With disk faults on, a kill also loses the member's unsynced writes (`lazyfs`).
//!
//! The *schedule* is a pure function of the seed, the fault kinds, the member count and the
//! chaos length, so a seed names the same faults every time even though the system under test
//! is not deterministic. Faults run one at a time (a nemesis): each starts no earlier than its
//! planned offset and no earlier than the previous one ended (a restart waits for the member
//! to serve again), so the times that actually happened are recorded beside the plan.
//!
//! Pauses last longer than an election timeout (etcd's default is 1 s, detcd's the same), and
//! one in three longer than a lease TTL (`ttl_secs`, the lock scenario's session TTL), so a
//! paused leader loses its leadership and sometimes the leases it counted down. Partitions
//! and degraded links hold a few election timeouts long too; their shape is drawn with the
//! schedule (`partition`), their sides only when they fire, around the target of the moment.
//! A seed's schedule of kills and pauses (`--faults kill,pause`) is the one it was before
//! network, clock and disk faults existed: their draws are made only for steps of their kind.
//! A degraded link's fired detail names how its delay was made (`delay by netem` or
//! `delay by nfqueue, N packets delayed`), so a report shows the latency was real.

use crate::clock::ClockStep;
use crate::cluster::{Cluster, ClusterError};
use crate::disk::DiskStep;
use crate::interrupt;
use crate::partition::{self, Net};
use detcd_proto::client::GrpcClient;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::{Duration, Instant};

/// A kind of fault (`--faults kill,pause,partition,netem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// SIGKILL, down for a while, restart on the same data directory.
    Kill,
    /// SIGSTOP for a while, then SIGCONT.
    Pause,
    /// Packet filter rules cut links for a while (needs the run's network namespaces).
    Partition,
    /// A member's link loses and delays packets for a while (needs the namespaces).
    Netem,
    /// A member's clocks jump ahead or run fast for a while (needs libfaketime and detcd).
    Clock,
    /// A member's fsyncs fail or are slow for a while, and every kill loses unsynced writes
    /// (needs FUSE).
    Disk,
    /// Every member SIGKILLed at once, losing its unsynced writes (a power failure of the
    /// whole cluster; needs FUSE), down for a while, then all restarted together.
    Power,
}

impl Fault {
    pub const NAMES: [&'static str; 7] =
        ["kill", "pause", "partition", "netem", "clock", "disk", "power"];

    pub fn parse(name: &str) -> Result<Fault, String> {
        match name {
            "kill" => Ok(Fault::Kill),
            "pause" => Ok(Fault::Pause),
            "partition" => Ok(Fault::Partition),
            "netem" => Ok(Fault::Netem),
            "clock" => Ok(Fault::Clock),
            "disk" => Ok(Fault::Disk),
            "power" => Ok(Fault::Power),
            other => Err(format!("unknown fault '{other}'; known: {}", Fault::NAMES.join(", "))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Partition => "partition",
            Fault::Netem => "netem",
            Fault::Clock => "clock",
            Fault::Disk => "disk",
            Fault::Power => "power",
        }
    }

    /// Whether the fault needs the members in network namespaces.
    pub fn is_network(self) -> bool {
        matches!(self, Fault::Partition | Fault::Netem)
    }

    /// Whether the fault needs the members' data directories on the lazy file system.
    pub fn is_disk(self) -> bool {
        matches!(self, Fault::Disk | Fault::Power)
    }
}

/// Who a fault hits, decided when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The member that says it leads when the fault fires (else member 0).
    Leader,
    /// Member `n` (0-based).
    Member(usize),
}

/// One planned fault.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Offset from the chaos phase's start.
    pub at_ms: u64,
    pub fault: Fault,
    pub target: Target,
    /// How long the member stays down or paused, or the network stays cut.
    pub hold_ms: u64,
    /// A network fault's shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<Net>,
    /// A clock fault's jump or drift.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockStep>,
    /// A disk fault's effect on fsync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskStep>,
}

/// What a fault did.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub step: Step,
    /// The member it hit.
    pub member: String,
    /// Seconds on the history's clock when it began and when it was healed.
    pub began: f64,
    pub healed: f64,
    /// A network fault's links and the packets its rules dropped.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Fired {
    /// `kill infra2 (leader) for 1200ms@2.1s`, `partition isolate infra1 (leader) for
    /// 2500ms@3.0s`.
    pub fn describe(&self) -> String {
        let fault = match (self.step.net, self.step.clock, self.step.disk) {
            (Some(net), _, _) => format!("{} {}", self.step.fault.name(), net.name()),
            (_, Some(clock), _) => format!("{} {}", self.step.fault.name(), clock.name()),
            (_, _, Some(disk)) => format!("{} {}", self.step.fault.name(), disk.name()),
            _ => self.step.fault.name().to_string(),
        };
        let leader = match (self.step.target, self.step.fault) {
            (_, Fault::Power) | (Target::Member(_), _) => "",
            (Target::Leader, _) => " (leader)",
        };
        format!("{fault} {}{leader} for {}ms@{:.1}s", self.member, self.step.hold_ms, self.began)
    }
}

/// The faults of a run: a pure function of its arguments.
pub fn schedule(
    seed: u64,
    kinds: &[Fault],
    members: usize,
    chaos: Duration,
    ttl_secs: u64,
) -> Vec<Step> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc4a0_5c4e_d01e);
    let mut steps = Vec::new();
    if kinds.is_empty() || members == 0 {
        return steps;
    }
    let end = chaos.as_millis() as u64;
    let mut at = rng.gen_range(500..1_500);
    while at + 1_000 < end {
        let fault = kinds[rng.gen_range(0..kinds.len())];
        let target = if rng.gen_bool(0.5) {
            Target::Leader
        } else {
            Target::Member(rng.gen_range(0..members))
        };
        let hold_ms = match fault {
            Fault::Kill | Fault::Power => rng.gen_range(500..3_000),
            Fault::Pause if rng.gen_bool(1.0 / 3.0) => {
                rng.gen_range(ttl_secs * 1_000 + 1_000..ttl_secs * 1_000 + 2_500)
            }
            Fault::Pause => rng.gen_range(1_500..2_500),
            Fault::Partition | Fault::Netem | Fault::Clock | Fault::Disk => {
                rng.gen_range(2_000..5_000)
            }
        };
        let net = fault.is_network().then(|| Net::draw(&mut rng, fault == Fault::Netem));
        let clock = (fault == Fault::Clock).then(|| ClockStep::draw(&mut rng));
        let disk = (fault == Fault::Disk).then(|| DiskStep::draw(&mut rng));
        steps.push(Step { at_ms: at, fault, target, hold_ms, net, clock, disk });
        at += hold_ms + rng.gen_range(1_000..3_000);
    }
    steps
}

/// Runs `steps` on `cluster`, the chaos phase having started at `chaos_start`, the history's
/// clock at `clock`; each fault is healed before the next begins, and a fault never starts
/// after `chaos_end`.
pub fn run(
    cluster: &mut Cluster,
    steps: &[Step],
    runtime: &tokio::runtime::Handle,
    clock: Instant,
    chaos_start: Instant,
    chaos_end: Instant,
) -> Result<Vec<Fired>, ClusterError> {
    let mut fired = Vec::new();
    for step in steps {
        let at = chaos_start + Duration::from_millis(step.at_ms);
        if at.max(Instant::now()) >= chaos_end {
            break;
        }
        interrupt::sleep_until(at)?;
        if let Some(crash) = cluster.crashed() {
            return Err(ClusterError::Failed(crash));
        }
        let index = match step.target {
            Target::Member(index) => index.min(cluster.members.len() - 1),
            Target::Leader => runtime.block_on(leader(cluster)).unwrap_or(0),
        };
        let member = match step.fault {
            Fault::Power => "every member".to_string(),
            _ => cluster.members[index].name.clone(),
        };
        let began = clock.elapsed().as_secs_f64();
        let hold = Duration::from_millis(step.hold_ms);
        let mut detail = String::new();
        match step.fault {
            Fault::Kill => {
                detail = cluster.kill(index);
                interrupt::sleep(hold)?;
                cluster.restart(index).map_err(|e| with_loss(e, &detail))?;
            }
            Fault::Pause => {
                cluster.pause(index);
                let slept = interrupt::sleep(hold);
                cluster.resume(index);
                slept?;
            }
            Fault::Partition | Fault::Netem => {
                let names: Vec<String> = cluster.members.iter().map(|m| m.name.clone()).collect();
                let net = step.net.unwrap_or(Net::Isolate { clients: partition::Clients::All });
                let clients = cluster.network().map_or(0, |network| network.clients());
                let plan = partition::plan(net, index, names.len(), clients);
                let links = plan.describe(&names);
                let what = format!("{} {} around {member}: {links}", step.fault.name(), net.name());
                let network = cluster.network().ok_or_else(|| {
                    ClusterError::Failed("a network fault on a cluster without namespaces".into())
                })?;
                network.apply(&plan, &what).map_err(ClusterError::Failed)?;
                let slept = interrupt::sleep(hold);
                let healed = network.heal().map_err(ClusterError::Failed)?;
                slept?;
                detail = format!("{links}; {} packets dropped", healed.dropped);
                if step.fault == Fault::Netem {
                    detail += &match healed.latency {
                        "nfqueue" => {
                            format!("; delay by nfqueue, {} packets delayed", healed.delayed)
                        }
                        "netem" => "; delay by netem".to_string(),
                        _ => "; no delay (neither tc netem nor NFQUEUE here)".to_string(),
                    };
                }
            }
            Fault::Clock => detail = clock_fault(cluster, index, step, hold)?,
            Fault::Disk => detail = disk_fault(cluster, index, step, hold)?,
            Fault::Power => {
                let lost: Vec<String> = (0..cluster.members.len())
                    .map(|i| {
                        let lost = cluster.kill(i);
                        format!("{}: {lost}", cluster.members[i].name)
                    })
                    .collect();
                detail = lost.join("; ");
                interrupt::sleep(hold)?;
                cluster.restart_all().map_err(|e| with_loss(e, &detail))?;
            }
        }
        let healed = clock.elapsed().as_secs_f64();
        fired.push(Fired { step: step.clone(), member, began, healed, detail });
    }
    Ok(fired)
}

/// Moves member `index`'s clocks as `step` says for `hold`; returns what it did.
fn clock_fault(
    cluster: &mut Cluster,
    index: usize,
    step: &Step,
    hold: Duration,
) -> Result<String, ClusterError> {
    let failed = |e: std::io::Error| ClusterError::Failed(format!("clock file: {e}"));
    let no_clocks =
        || ClusterError::Failed("a clock fault on a cluster without libfaketime".into());
    let before = cluster.clocks().ok_or_else(no_clocks)?.offset_ms(index);
    let end = Instant::now() + hold;
    match step.clock.unwrap_or(ClockStep::Jump { ms: 1_000 }) {
        ClockStep::Jump { ms } => {
            cluster.clocks().ok_or_else(no_clocks)?.advance(index, ms).map_err(failed)?;
            interrupt::sleep_until(end)?;
        }
        ClockStep::Drift { extra_pct } => {
            // One step per re-read of the file: `extra_pct` % of the second that passed.
            let tick = Duration::from_secs(crate::clock::REREAD_SECS);
            while Instant::now() + tick <= end {
                interrupt::sleep(tick)?;
                let ms = tick.as_millis() as u64 * extra_pct / 100;
                cluster.clocks().ok_or_else(no_clocks)?.advance(index, ms).map_err(failed)?;
            }
            interrupt::sleep_until(end)?;
        }
    }
    let after = cluster.clocks().ok_or_else(no_clocks)?.offset_ms(index);
    Ok(format!("clock +{}ms (now +{after}ms ahead)", after - before))
}

/// A restart's failure, saying what the kill before it lost (a member that cannot start on
/// what it had synced is a finding about its disk use, not a broken harness).
fn with_loss(error: ClusterError, lost: &str) -> ClusterError {
    match error {
        ClusterError::Failed(why) if !lost.is_empty() => {
            ClusterError::Failed(format!("after the kill ({lost}): {why}"))
        }
        other => other,
    }
}

/// Fails or slows member `index`'s fsyncs as `step` says for `hold`; a member that exited on
/// a failed fsync (as etcd and detcd do) has lost its unsynced writes and is restarted.
fn disk_fault(
    cluster: &mut Cluster,
    index: usize,
    step: &Step,
    hold: Duration,
) -> Result<String, ClusterError> {
    let disk = step.disk.unwrap_or(DiskStep::FailFsync);
    let before = cluster.disk_counts(index).unwrap_or_default();
    if !cluster.set_fsync(index, disk.mode()) {
        return Err(ClusterError::Failed(
            "a disk fault on a cluster without its file system".into(),
        ));
    }
    let slept = interrupt::sleep(hold);
    cluster.reset_fsync(index);
    slept?;
    // A member exits on the failed fsync's error report, which may come just after the hold.
    interrupt::sleep(Duration::from_millis(500))?;
    let after = cluster.disk_counts(index).unwrap_or_default();
    let mut detail = match disk {
        DiskStep::FailFsync => format!("{} fsyncs failed", after.failed - before.failed),
        DiskStep::SlowFsync { ms } => {
            format!("{} fsyncs delayed {ms}ms", after.delayed - before.delayed)
        }
    };
    if let Some(exit) = cluster.exited(index) {
        let lost = cluster.kill(index);
        detail.push_str(&format!("; the member exited ({exit}); {lost}; restarted"));
        cluster.restart(index)?;
    }
    Ok(detail)
}

/// The index of the member that says it leads, if one answers within a second.
pub async fn leader(cluster: &Cluster) -> Option<usize> {
    for (index, member) in cluster.members.iter().enumerate() {
        if !member.is_running() || member.is_paused() {
            continue;
        }
        let Ok(client) = GrpcClient::new(&[member.endpoint().as_str()]) else { continue };
        let status = tokio::time::timeout(Duration::from_secs(1), client.status()).await;
        if let Ok(Ok(status)) = status {
            if status.is_leader {
                return Some(index);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_names_the_same_schedule_and_another_seed_another() {
        let kinds = [Fault::Kill, Fault::Pause];
        let chaos = Duration::from_secs(30);
        let a = format!("{:?}", schedule(1, &kinds, 3, chaos, 2));
        assert_eq!(a, format!("{:?}", schedule(1, &kinds, 3, chaos, 2)));
        assert_ne!(a, format!("{:?}", schedule(2, &kinds, 3, chaos, 2)));
    }

    #[test]
    fn faults_fit_the_chaos_phase_and_pauses_outlast_an_election_and_sometimes_a_ttl() {
        let chaos = Duration::from_secs(60);
        let mut long_pause = false;
        for seed in 0..20 {
            let steps = schedule(seed, &[Fault::Pause], 3, chaos, 2);
            assert!(!steps.is_empty());
            for step in &steps {
                assert!(step.at_ms + 1_000 < 60_000);
                assert!(step.hold_ms >= 1_500, "{step:?}");
                long_pause |= step.hold_ms > 3_000;
            }
        }
        assert!(long_pause, "no pause outlasted the TTL");
        assert!(schedule(1, &[], 3, chaos, 2).is_empty());
    }

    #[test]
    fn network_kinds_added_after_kill_and_pause_draw_shapes_only_for_their_own_steps() {
        let chaos = Duration::from_secs(60);
        let mut kinds_seen = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let steps =
                schedule(seed, &Fault::NAMES.map(|n| Fault::parse(n).unwrap()), 3, chaos, 2);
            for step in &steps {
                assert_eq!(step.net.is_some(), step.fault.is_network(), "{step:?}");
                assert_eq!(step.clock.is_some(), step.fault == Fault::Clock, "{step:?}");
                assert_eq!(step.disk.is_some(), step.fault == Fault::Disk, "{step:?}");
                if step.fault.is_network() {
                    assert!(step.hold_ms >= 2_000, "a cut outlasts an election: {step:?}");
                }
                kinds_seen.insert(step.fault.name());
            }
        }
        assert_eq!(kinds_seen.len(), 7, "{kinds_seen:?}");
        let only_partitions = schedule(3, &[Fault::Partition], 3, chaos, 2);
        assert!(only_partitions.iter().all(|s| matches!(
            s.net,
            Some(
                Net::Isolate { .. } | Net::Halves { .. } | Net::Bridge { .. } | Net::OneWay { .. }
            )
        )));
    }
}
