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
//! leases' deadlines; every member losing power while acknowledged writes sit unsynced), so
//! besides them a plan may get one *aimed* [`Episode`] of a kind the mix allows. [`Aims`] say
//! which and how often: by default, on about half the seeds, the leader stranded for 4-10 s or
//! paused for 2-12 s; a scenario names the episodes its own guarantees are most at risk in
//! (`Scenario::aims`), and may ask for them to run *alone*, with no random fault during the
//! episode to end it early (a heal, a crash of the stranded leader).

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

impl Scheduled {
    /// When the fault stops acting by itself: a pause's end; for every other fault its moment
    /// (its repair is a fault of its own).
    pub fn end_ms(&self) -> u64 {
        match self.fault {
            Fault::Pause { millis, .. } => self.at_ms + millis,
            _ => self.at_ms,
        }
    }
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

    /// Draws a plan for `members` over `chaos_ms` from `mix`, with an aimed episode as `aims`
    /// say.
    pub fn generate(
        rng: &mut ChaCha8Rng,
        members: &[NodeId],
        chaos_ms: u64,
        mix: &FaultMix,
        aims: &Aims,
    ) -> FaultPlan {
        let kinds: Vec<FaultKind> = mix.kinds.iter().copied().collect();
        let expected = (mix.intensity * chaos_ms as f64 / 10_000.0).round() as usize;
        if kinds.is_empty() || chaos_ms == 0 {
            return FaultPlan::default();
        }
        // Each random fault with its repair, kept together so an aimed episode that runs alone
        // drops both or neither.
        let mut groups = Vec::new();
        for _ in 0..expected {
            let at_ms = rng.gen_range(0..chaos_ms);
            let kind = kinds[rng.gen_range(0..kinds.len())];
            let repair_at = (at_ms + rng.gen_range(500..4_000)).min(chaos_ms);
            groups.push(draw(rng, kind, members, at_ms, repair_at));
        }
        let mut aimed = Vec::new();
        if expected > 0 && rng.gen_bool(aims.chance) {
            aimed = aims.draw(rng, members, &mix.kinds, chaos_ms);
        }
        if aims.alone && !aimed.is_empty() {
            let from = aimed.iter().map(|scheduled| scheduled.at_ms).min().unwrap_or(0);
            let to = aimed.iter().map(|scheduled| scheduled.at_ms).max().unwrap_or(0);
            let quiet_until = to + ALONE_AFTER_MS;
            groups.retain(|group| {
                let first = group.iter().map(|scheduled| scheduled.at_ms).min().unwrap_or(0);
                let last = group.iter().map(Scheduled::end_ms).max().unwrap_or(0);
                last < from || first > quiet_until
            });
        }
        let mut faults: Vec<Scheduled> = groups.into_iter().flatten().chain(aimed).collect();
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

/// How long after an episode that runs alone the cluster stays quiet too: the time the
/// scenario's clients need to meet the aftermath (reads of a healed leader, keep-alives of leases
/// it renewed) before another fault muddles it.
const ALONE_AFTER_MS: u64 = 2_000;

/// How long before the end of the chaos phase a stranded follower is healed at the latest: the
/// time to elect, send it a snapshot and deliver what follows to its watchers.
const FOLLOWER_AFTERMATH_MS: u64 = 4_500;

/// A fault aimed at a role and a moment, of a shape random faults seldom line up into.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Episode {
    /// The leader cut off from its peers while its clients still reach it, for `min_ms..max_ms`:
    /// past an election, the deposed leader keeps taking requests (stale reads, keep-alives of
    /// leases the new leader counts down).
    StrandLeader { min_ms: u64, max_ms: u64 },
    /// The leader frozen for `min_ms..max_ms` (past its leases' deadlines, reads in flight).
    PauseLeader { min_ms: u64, max_ms: u64 },
    /// The follower serving the most watchers cut off from its peers while its clients (and
    /// their watchers) stay on it, for
    /// `min_ms..max_ms`: the leader moves on and purges its log, so on healing the follower
    /// catches up by installing a snapshot under the watchers it is serving.
    StrandFollower { min_ms: u64, max_ms: u64 },
    /// Every member loses power at once (at a random moment or right after the leader applies
    /// an entry), taking every write not yet fsynced, and all restart `min_ms..max_ms` later:
    /// acknowledged writes must survive it. Disks are slowed (fsyncs of
    /// up to 20 ms) a second before, so writes are in flight between write and sync.
    PowerLoss { min_ms: u64, max_ms: u64 },
}

impl Episode {
    /// The fault family a mix must allow for the episode.
    pub fn kind(&self) -> FaultKind {
        match self {
            Episode::StrandLeader { .. } | Episode::StrandFollower { .. } => FaultKind::Partition,
            Episode::PauseLeader { .. } => FaultKind::Pause,
            Episode::PowerLoss { .. } => FaultKind::Crash,
        }
    }

    fn min_ms(&self) -> u64 {
        match self {
            Episode::StrandLeader { min_ms, .. }
            | Episode::StrandFollower { min_ms, .. }
            | Episode::PauseLeader { min_ms, .. }
            | Episode::PowerLoss { min_ms, .. } => *min_ms,
        }
    }

    /// The episode's faults on `members`, starting at `at_ms`, none past `chaos_ms`.
    fn schedule(
        &self,
        rng: &mut ChaCha8Rng,
        members: &[NodeId],
        at_ms: u64,
        chaos_ms: u64,
    ) -> Vec<Scheduled> {
        match *self {
            Episode::StrandLeader { min_ms, max_ms } => {
                let heal_at = at_ms + rng.gen_range(min_ms..max_ms.max(min_ms + 1));
                vec![
                    Scheduled { at_ms, fault: Fault::Strand { target: Target::Leader } },
                    Scheduled { at_ms: heal_at.min(chaos_ms), fault: Fault::HealNetwork },
                ]
            }
            Episode::StrandFollower { min_ms, max_ms } => {
                let length = rng.gen_range(min_ms..max_ms.max(min_ms + 1));
                // Early enough that the follower is back, and has installed its snapshot,
                // while its watchers still watch.
                let at_ms = at_ms.min(chaos_ms.saturating_sub(length + FOLLOWER_AFTERMATH_MS));
                let heal_at = at_ms + length;
                vec![
                    Scheduled { at_ms, fault: Fault::Strand { target: Target::WatchedFollower } },
                    Scheduled { at_ms: heal_at.min(chaos_ms), fault: Fault::HealNetwork },
                ]
            }
            Episode::PauseLeader { min_ms, max_ms } => {
                let millis = rng.gen_range(min_ms..max_ms.max(min_ms + 1));
                vec![Scheduled { at_ms, fault: Fault::Pause { target: Target::Leader, millis } }]
            }
            Episode::PowerLoss { min_ms, max_ms } => {
                let restart_at = at_ms + rng.gen_range(min_ms..max_ms.max(min_ms + 1));
                let slowed_at = at_ms.saturating_sub(1_000);
                let slow = |member: &NodeId| Scheduled {
                    at_ms: slowed_at,
                    fault: Fault::Disk {
                        member: *member,
                        fsync_error: 0.0,
                        torn_write: 0.0,
                        fsync_latency_ms: 20,
                    },
                };
                let mut faults: Vec<Scheduled> = members.iter().map(slow).collect();
                // A third of the time at a random moment (mid-write, mid-fsync), else the moment
                // the leader applies a batch of entries: right after a group commit's
                // acknowledgement.
                let crash = if rng.gen_bool(0.35) {
                    Fault::CrashAll
                } else {
                    Fault::CrashAllOnApply { within_ms: 1_000, entries: 2 }
                };
                faults.push(Scheduled { at_ms, fault: crash });
                faults.push(Scheduled {
                    at_ms: restart_at.min(chaos_ms),
                    fault: Fault::RestartCrashed,
                });
                faults
            }
        }
    }
}

/// Which aimed episode a plan may get, how often, and whether it runs alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aims {
    /// The chance that a plan (one with any faults at all) gets an episode.
    pub chance: f64,
    /// The episodes with their weights; those whose family the mix leaves out are never drawn.
    pub episodes: Vec<(Episode, f64)>,
    /// No random fault happens during the episode or in the [`ALONE_AFTER_MS`] after it.
    pub alone: bool,
}

impl Default for Aims {
    /// Half the plans: the leader stranded for 4-10 s (six times in ten where both are allowed)
    /// or paused for 2-12 s, among the random faults.
    fn default() -> Self {
        Aims {
            chance: 0.5,
            episodes: vec![
                (Episode::StrandLeader { min_ms: 4_000, max_ms: 10_000 }, 0.6),
                (Episode::PauseLeader { min_ms: 2_000, max_ms: 12_000 }, 0.4),
            ],
            alone: false,
        }
    }
}

impl Aims {
    /// Mostly `episode`, running alone (a scenario built to judge that one moment).
    pub fn mostly(episode: Episode, chance: f64) -> Aims {
        Aims { chance, episodes: vec![(episode, 1.0)], alone: true }
    }

    /// One episode the mix allows, starting early enough to fit the chaos phase (in its first
    /// half at the latest), or none if the mix allows none.
    pub fn draw(
        &self,
        rng: &mut ChaCha8Rng,
        members: &[NodeId],
        kinds: &BTreeSet<FaultKind>,
        chaos_ms: u64,
    ) -> Vec<Scheduled> {
        let shortest = self.episodes.iter().map(|(episode, _)| episode.min_ms()).min().unwrap_or(0);
        let latest_start = chaos_ms.div_ceil(2).min(chaos_ms.saturating_sub(shortest)).max(1);
        let at_ms = rng.gen_range(0..latest_start);
        let allowed: Vec<(Episode, f64)> = self
            .episodes
            .iter()
            .filter(|(episode, weight)| kinds.contains(&episode.kind()) && *weight > 0.0)
            .copied()
            .collect();
        // One draw for two choices (a coin) keeps the default aims drawing exactly what plans drew
        // before aims existed, so old seeds replay the same plans.
        let chosen = match allowed.as_slice() {
            [] => return Vec::new(),
            [(only, _)] => *only,
            [(first, a), (second, b)] => {
                if rng.gen_bool(a / (a + b)) {
                    *first
                } else {
                    *second
                }
            }
            many => {
                let total: f64 = many.iter().map(|(_, weight)| weight).sum();
                let mut point = rng.gen_range(0.0..total);
                let mut chosen = many[many.len() - 1].0;
                for (episode, weight) in many {
                    if point < *weight {
                        chosen = *episode;
                        break;
                    }
                    point -= weight;
                }
                chosen
            }
        };
        chosen.schedule(rng, members, at_ms, chaos_ms)
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
