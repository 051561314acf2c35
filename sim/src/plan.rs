//! Fault plans: which faults happen when, derived from the seed or read from a file.
//!
//! A plan is explicit data (serde), so a run can be replayed from the file alone and a shrinker
//! can remove or move faults. `generate` draws a plan from a `FaultMix` (which kinds are on, how
//! many faults per ten seconds) with `rand_chacha`; `swarm` also draws the mix itself, so a sweep
//! over seeds covers the fault space instead of one fixed mix. Crashes and pauses are followed by
//! their repair within the chaos phase often enough that clusters keep limping along.
//!
//! Random faults seldom line up into the moments consensus bugs need (a leader cut off from its
//! peers while its clients still reach it, for longer than an election; a leader frozen past its
//! leases' deadlines), so besides them a plan gets, on about half the seeds, one *aimed* episode
//! of a kind the mix allows: the leader stranded for 4-10 s, or the leader paused for 2-12 s.

use crate::faults::{Fault, Target};
use detcd_core::raft::types::NodeId;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One fault at a moment of the chaos phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scheduled {
    pub at_ms: u64,
    pub fault: Fault,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    pub faults: Vec<Scheduled>,
}

/// Families of faults a plan may draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Partition,
    Crash,
    Pause,
    Clock,
    Disk,
    Network,
    Membership,
}

impl FaultKind {
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Partition,
        FaultKind::Crash,
        FaultKind::Pause,
        FaultKind::Clock,
        FaultKind::Disk,
        FaultKind::Network,
        FaultKind::Membership,
    ];
}

/// Which fault families are on and how dense they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultMix {
    pub kinds: BTreeSet<FaultKind>,
    /// Expected faults per ten simulated seconds.
    pub intensity: f64,
}

impl Default for FaultMix {
    fn default() -> Self {
        let kinds = [FaultKind::Partition, FaultKind::Crash, FaultKind::Pause, FaultKind::Clock];
        FaultMix { kinds: kinds.into_iter().collect(), intensity: 4.0 }
    }
}

impl FaultMix {
    /// The default kinds, with clock faults left out on about a third of the seeds: true clocks
    /// let leases be short and their checks tight, so a stalled or stranded leader outlives them.
    pub fn seeded_default(rng: &mut ChaCha8Rng) -> FaultMix {
        let mut mix = FaultMix::default();
        if rng.gen_bool(0.3) {
            mix.kinds.remove(&FaultKind::Clock);
        }
        mix
    }

    /// A mix drawn from the seed: a random non-empty subset of kinds at a random intensity.
    pub fn swarm(rng: &mut ChaCha8Rng) -> FaultMix {
        let mut kinds: BTreeSet<FaultKind> =
            FaultKind::ALL.into_iter().filter(|_| rng.gen_bool(0.5)).collect();
        if kinds.is_empty() {
            kinds.insert(FaultKind::ALL[rng.gen_range(0..FaultKind::ALL.len())]);
        }
        FaultMix { kinds, intensity: rng.gen_range(1.0..10.0) }
    }
}

impl FaultPlan {
    /// The standard plan of the benchmark: one partition isolating the leader's minority, then
    /// one leader crash and its restart.
    pub fn standard(chaos_ms: u64) -> FaultPlan {
        let third = chaos_ms / 3;
        let faults = vec![
            Scheduled { at_ms: third / 2, fault: Fault::Isolate { target: Target::Leader } },
            Scheduled { at_ms: third + third / 2, fault: Fault::HealNetwork },
            Scheduled { at_ms: 2 * third, fault: Fault::Crash { target: Target::Leader } },
            Scheduled { at_ms: 2 * third + third / 2, fault: Fault::RestartCrashed },
        ];
        FaultPlan { faults }
    }

    /// Draws a plan for `members` over `chaos_ms` from `mix`.
    pub fn generate(
        rng: &mut ChaCha8Rng,
        members: &[NodeId],
        chaos_ms: u64,
        mix: &FaultMix,
    ) -> FaultPlan {
        let kinds: Vec<FaultKind> = mix.kinds.iter().copied().collect();
        let expected = (mix.intensity * chaos_ms as f64 / 10_000.0).round() as usize;
        let mut faults = Vec::new();
        if kinds.is_empty() || chaos_ms == 0 {
            return FaultPlan { faults };
        }
        for _ in 0..expected {
            let at_ms = rng.gen_range(0..chaos_ms);
            let kind = kinds[rng.gen_range(0..kinds.len())];
            let repair_at = (at_ms + rng.gen_range(500..4_000)).min(chaos_ms);
            faults.extend(draw(rng, kind, members, at_ms, repair_at));
        }
        if expected > 0 && rng.gen_bool(0.5) {
            faults.extend(aimed(rng, &mix.kinds, chaos_ms));
        }
        faults.sort_by_key(|scheduled| scheduled.at_ms);
        FaultPlan { faults }
    }

    /// How many faults (not counting repairs) the plan holds.
    pub fn len(&self) -> usize {
        self.faults.len()
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }
}

/// One episode aimed at the leader, of a kind `kinds` allows (none if it allows neither).
fn aimed(rng: &mut ChaCha8Rng, kinds: &BTreeSet<FaultKind>, chaos_ms: u64) -> Vec<Scheduled> {
    let at_ms = rng.gen_range(0..chaos_ms.div_ceil(2));
    let strand = kinds.contains(&FaultKind::Partition);
    let pause = kinds.contains(&FaultKind::Pause);
    if strand && (!pause || rng.gen_bool(0.6)) {
        let heal_at = at_ms + rng.gen_range(4_000..10_000);
        vec![
            Scheduled { at_ms, fault: Fault::Strand { target: Target::Leader } },
            Scheduled { at_ms: heal_at.min(chaos_ms), fault: Fault::HealNetwork },
        ]
    } else if pause {
        let millis = rng.gen_range(2_000..12_000);
        vec![Scheduled { at_ms, fault: Fault::Pause { target: Target::Leader, millis } }]
    } else {
        Vec::new()
    }
}

fn target(rng: &mut ChaCha8Rng, members: &[NodeId]) -> Target {
    match rng.gen_range(0..4) {
        0 => Target::Leader,
        1 => Target::Follower,
        2 => Target::Random,
        _ => Target::Member(*members.choose(rng).unwrap_or(&1)),
    }
}

fn draw(
    rng: &mut ChaCha8Rng,
    kind: FaultKind,
    members: &[NodeId],
    at_ms: u64,
    repair_at: u64,
) -> Vec<Scheduled> {
    let at = |fault| Scheduled { at_ms, fault };
    let repair = |fault| Scheduled { at_ms: repair_at, fault };
    let member = *members.choose(rng).unwrap_or(&1);
    match kind {
        FaultKind::Partition => {
            let fault = partition(rng, members);
            // A stranded leader must stay cut off past an election and, now and then, past a
            // lease's TTL, or it never serves stale reads or renews leases it no longer owns.
            let heal_at = if matches!(fault, Fault::Strand { .. }) {
                at_ms + rng.gen_range(3_000..12_000)
            } else {
                repair_at
            };
            vec![at(fault), Scheduled { at_ms: heal_at, fault: Fault::HealNetwork }]
        }
        FaultKind::Crash => {
            let fault = if rng.gen_bool(0.1) {
                Fault::CrashAll
            } else {
                Fault::Crash { target: target(rng, members) }
            };
            vec![at(fault), repair(Fault::RestartCrashed)]
        }
        FaultKind::Pause => {
            // Now and then longer than a lease's TTL, so a stalled leader's deadlines pass.
            let millis = if rng.gen_bool(0.25) {
                rng.gen_range(6_000..15_000)
            } else {
                rng.gen_range(200..6_000)
            };
            vec![at(Fault::Pause { target: target(rng, members), millis })]
        }
        FaultKind::Clock => {
            if rng.gen_bool(0.5) {
                let offset_ms = rng.gen_range(-2_000..2_000);
                vec![at(Fault::ClockSkew { member, offset_ms, rate: rng.gen_range(0.5..2.0) })]
            } else {
                vec![at(Fault::ClockJump { member, by_ms: rng.gen_range(-5_000..5_000) })]
            }
        }
        FaultKind::Disk => {
            let fault = Fault::Disk {
                member,
                fsync_error: if rng.gen_bool(0.3) { 0.05 } else { 0.0 },
                torn_write: rng.gen_range(0.0..1.0),
                fsync_latency_ms: rng.gen_range(0..50),
            };
            vec![at(fault)]
        }
        FaultKind::Network => {
            let fault = if rng.gen_bool(0.5) {
                Fault::PacketLoss { rate: rng.gen_range(0.01..0.2) }
            } else {
                Fault::Latency { min_ms: 1, max_ms: rng.gen_range(20..500) }
            };
            vec![at(fault), repair(Fault::HealNetwork)]
        }
        FaultKind::Membership => {
            let fault = if rng.gen_bool(0.5) {
                Fault::AddMember
            } else {
                Fault::RemoveMember { target: Target::Follower }
            };
            vec![at(fault)]
        }
    }
}

fn partition(rng: &mut ChaCha8Rng, members: &[NodeId]) -> Fault {
    let mut shuffled = members.to_vec();
    shuffled.shuffle(rng);
    match rng.gen_range(0..7) {
        0 => Fault::Isolate { target: Target::Leader },
        // The leader loses its peers but not its clients: the classic stale-leader window, and
        // the partition users meet most (a leader's rack or zone cut off), so drawn twice as often.
        5 | 6 => Fault::Strand { target: Target::Leader },
        1 => Fault::Isolate { target: Target::Random },
        2 if shuffled.len() >= 3 => {
            let bridge = shuffled[0];
            let rest = &shuffled[1..];
            let (left, right) = rest.split_at(rest.len() / 2);
            Fault::Bridge { bridge, left: left.to_vec(), right: right.to_vec() }
        }
        3 if shuffled.len() >= 2 => Fault::OneWay { from: Target::Leader, to: Target::Random },
        _ => {
            let minority = shuffled.len().saturating_sub(1) / 2;
            Fault::Split { minority: shuffled[..minority.max(1).min(shuffled.len())].to_vec() }
        }
    }
}
