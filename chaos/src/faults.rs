//! Process faults on a real cluster, drawn from the seed: SIGKILL and restart, SIGSTOP/SIGCONT
//! pauses, of the leader or of a random member.
//!
//! The *schedule* is a pure function of the seed, the fault kinds, the member count and the
//! chaos length, so a seed names the same faults every time even though the system under test
//! is not deterministic. Faults run one at a time (a nemesis): each starts no earlier than its
//! planned offset and no earlier than the previous one ended (a restart waits for the member
//! to serve again), so the times that actually happened are recorded beside the plan.
//!
//! Pauses last longer than an election timeout (etcd's default is 1 s, detcd's the same), and
//! one in three longer than a lease TTL (`ttl_secs`, the lock scenario's session TTL), so a
//! paused leader loses its leadership and sometimes the leases it counted down.

use crate::cluster::{Cluster, ClusterError};
use crate::interrupt;
use detcd_proto::client::GrpcClient;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::{Duration, Instant};

/// A kind of fault (`--faults kill,pause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// SIGKILL, down for a while, restart on the same data directory.
    Kill,
    /// SIGSTOP for a while, then SIGCONT.
    Pause,
}

impl Fault {
    pub fn parse(name: &str) -> Result<Fault, String> {
        match name {
            "kill" => Ok(Fault::Kill),
            "pause" => Ok(Fault::Pause),
            other => Err(format!("unknown fault '{other}'; known: kill, pause")),
        }
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
    /// How long the member stays down or paused.
    pub hold_ms: u64,
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
}

impl Fired {
    /// `kill infra2 (leader) for 1200ms@2.1s`.
    pub fn describe(&self) -> String {
        let fault = match self.step.fault {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
        };
        let leader = if self.step.target == Target::Leader { " (leader)" } else { "" };
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
            Fault::Kill => rng.gen_range(500..3_000),
            Fault::Pause if rng.gen_bool(1.0 / 3.0) => {
                rng.gen_range(ttl_secs * 1_000 + 1_000..ttl_secs * 1_000 + 2_500)
            }
            Fault::Pause => rng.gen_range(1_500..2_500),
        };
        steps.push(Step { at_ms: at, fault, target, hold_ms });
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
        let member = cluster.members[index].name.clone();
        let began = clock.elapsed().as_secs_f64();
        let hold = Duration::from_millis(step.hold_ms);
        match step.fault {
            Fault::Kill => {
                cluster.kill(index);
                interrupt::sleep(hold)?;
                cluster.restart(index)?;
            }
            Fault::Pause => {
                cluster.pause(index);
                let slept = interrupt::sleep(hold);
                cluster.resume(index);
                slept?;
            }
        }
        let healed = clock.elapsed().as_secs_f64();
        fired.push(Fired { step: step.clone(), member, began, healed });
    }
    Ok(fired)
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
}
