//! Aimed episodes, as plans: what a scenario's aims put into its seeded fault plans.
#![cfg(madsim)]

use detcd_sim::faults::{Fault, Target};
use detcd_sim::plan::{Aims, Episode, FaultKind, FaultMix, FaultPlan, Scheduled};
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
    let aims = Aims::mostly(Episode::StrandFollower { min_ms: 8_000, max_ms: 11_000 }, 0.9);
    let mut aimed = 0;
    for plan in plans(&FaultMix::default(), &aims) {
        let Some(from) = strand_at(&plan, Target::Follower) else { continue };
        aimed += 1;
        // It starts early enough to last its shortest length inside the chaos phase.
        assert!(from < CHAOS_MS - 8_000, "stranded at {from} ms: {plan:?}");
        let faults: Vec<&Scheduled> = plan.faults.iter().filter(|s| s.at_ms >= from).collect();
        // From the strand on: only the strand and its heal (the episode is the whole rest).
        assert_eq!(faults.len(), 2, "{plan:?}");
        assert!(matches!(faults[1].fault, Fault::HealNetwork));
        assert!(faults[1].at_ms >= from + 8_000 || faults[1].at_ms == CHAOS_MS, "{plan:?}");
    }
    assert!((160..=195).contains(&aimed), "about nine plans in ten are aimed: {aimed} of 200");
}

#[test]
fn a_power_loss_slows_every_disk_then_takes_every_member_down_and_brings_them_back() {
    let aims = Aims::mostly(Episode::PowerLoss { min_ms: 1_000, max_ms: 3_000 }, 1.0);
    for plan in plans(&FaultMix::default(), &aims) {
        let crash = plan.faults.iter().position(|s| matches!(s.fault, Fault::CrashAll));
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
        assert!(plan.faults.iter().all(|s| !matches!(s.fault, Fault::CrashAll)), "{plan:?}");
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
