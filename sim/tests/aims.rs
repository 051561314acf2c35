//! Aimed episodes, as plans: what a scenario's aims put into its seeded fault plans.
#![cfg(madsim)]

use detcd_sim::faults::{Fault, Target};
use detcd_sim::plan::{Aims, Episode, FaultKind, FaultMix, FaultPlan};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const CHAOS_MS: u64 = 10_000;
const MEMBERS: [u64; 3] = [1, 2, 3];

fn plans(mix: &FaultMix, aims: &Aims) -> Vec<FaultPlan> {
    (0..200u64)
        .map(|seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            FaultPlan::generate(&mut rng, &MEMBERS, CHAOS_MS, mix, aims)
        })
        .collect()
}

fn strand_at(plan: &FaultPlan, target: Target) -> Option<u64> {
    plan.faults.iter().find(|s| s.fault == Fault::Strand { target }).map(|s| s.at_ms)
}

#[test]
fn an_episode_that_runs_alone_has_the_cluster_to_itself_until_it_ends() {
    // Random partitions never strand a follower, so its strand is the episode.
    let aims = Aims::mostly(Episode::StrandFollower { min_ms: 3_000, max_ms: 5_000 }, 0.9);
    let mut aimed = 0;
    for plan in plans(&FaultMix::default(), &aims) {
        let Some(from) = strand_at(&plan, Target::WatchedFollower) else { continue };
        aimed += 1;
        let heal = plan.faults.iter().find(|s| s.at_ms >= from && s.fault == Fault::HealNetwork);
        let heal = heal.expect("the strand heals").at_ms;
        assert!((from + 3_000..from + 5_000).contains(&heal), "{plan:?}");
        // Healed with time left for an election, a snapshot and the watchers to see it.
        assert!(heal <= CHAOS_MS - 4_500, "healed at {heal} ms: {plan:?}");
        // No other fault acts from the strand until two seconds after the heal, not even a
        // pause that began before the strand.
        for other in plan.faults.iter().filter(|s| s.at_ms != from && s.at_ms != heal) {
            assert!(
                other.end_ms() < from || other.at_ms > heal + 2_000,
                "{other:?} overlaps the episode {from}..{heal}: {plan:?}"
            );
        }
    }
    assert!((160..=195).contains(&aimed), "about nine plans in ten are aimed: {aimed} of 200");
}

#[test]
fn a_power_loss_slows_every_disk_then_takes_every_member_down_and_brings_them_back() {
    let aims = Aims::mostly(Episode::PowerLoss { min_ms: 1_000, max_ms: 3_000 }, 1.0);
    for plan in plans(&FaultMix::default(), &aims) {
        let crash = plan
            .faults
            .iter()
            .position(|s| matches!(s.fault, Fault::CrashAll | Fault::CrashAllOnApply { .. }));
        let crash = crash.expect("every plan is aimed");
        let at = plan.faults[crash].at_ms;
        let slowed: Vec<u64> = plan
            .faults
            .iter()
            .filter_map(|s| match s.fault {
                Fault::Disk { member, fsync_latency_ms, .. } if fsync_latency_ms > 0 => {
                    assert_eq!(s.at_ms, at.saturating_sub(1_000));
                    Some(member)
                }
                _ => None,
            })
            .collect();
        assert_eq!(slowed, MEMBERS.to_vec(), "{plan:?}");
        let restart = plan.faults[crash..]
            .iter()
            .find(|s| matches!(s.fault, Fault::RestartCrashed))
            .expect("the members come back");
        assert!(restart.at_ms >= at + 1_000 || restart.at_ms == CHAOS_MS, "{plan:?}");
    }
}

#[test]
fn an_episode_the_mix_leaves_out_is_never_drawn() {
    let aims = Aims::mostly(Episode::PowerLoss { min_ms: 1_000, max_ms: 3_000 }, 1.0);
    let no_crashes = FaultMix { kinds: [FaultKind::Partition].into(), intensity: 4.0 };
    for plan in plans(&no_crashes, &aims) {
        assert!(
            plan.faults
                .iter()
                .all(|s| !matches!(s.fault, Fault::CrashAll | Fault::CrashAllOnApply { .. })),
            "{plan:?}"
        );
    }
}

#[test]
fn by_default_the_leader_is_stranded_or_paused_among_the_random_faults() {
    let all = plans(&FaultMix::default(), &Aims::default());
    let stranded = all.iter().filter(|plan| strand_at(plan, Target::Leader).is_some()).count();
    let paused_long = all
        .iter()
        .filter(|plan| {
            plan.faults.iter().any(|s| {
                matches!(s.fault, Fault::Pause { target: Target::Leader, millis } if millis >= 2_000)
            })
        })
        .count();
    assert!(stranded > 40 && paused_long > 30, "{stranded} stranded, {paused_long} paused");
    // Not alone: some random fault lands while the leader is stranded.
    let company = all.iter().any(|plan| {
        let Some(from) = strand_at(plan, Target::Leader) else { return false };
        let heal =
            plan.faults.iter().find(|s| s.at_ms > from && matches!(s.fault, Fault::HealNetwork));
        let until = heal.map_or(CHAOS_MS, |s| s.at_ms);
        plan.faults
            .iter()
            .any(|s| s.at_ms > from && s.at_ms < until && !matches!(s.fault, Fault::HealNetwork))
    });
    assert!(company);
}
