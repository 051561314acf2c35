//! Disk faults as the schedule draws them: a member's fsyncs fail (EIO) or are slow for a
//! while. The loss of unsynced writes is no step of its own: with `--faults disk` every kill
//! loses them (see `lazyfs`), so `kill,disk` is LazyFS's power failure of one member.

use crate::lazyfs::FsyncMode;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Duration;

/// What a disk fault does to the target's fsyncs while it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "disk")]
pub enum DiskStep {
    /// Every fsync fails with EIO (and loses the data it was to make durable).
    FailFsync,
    /// Every fsync waits `ms` first.
    SlowFsync { ms: u64 },
}

impl DiskStep {
    /// One in three disk faults fails fsync; the others delay it by up to a few election
    /// timeouts.
    pub fn draw(rng: &mut ChaCha8Rng) -> DiskStep {
        if rng.gen_bool(1.0 / 3.0) {
            DiskStep::FailFsync
        } else {
            DiskStep::SlowFsync { ms: rng.gen_range(50..2_500) }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            DiskStep::FailFsync => "fail-fsync",
            DiskStep::SlowFsync { .. } => "slow-fsync",
        }
    }

    /// The file system's fsync mode while the fault holds.
    pub fn mode(&self) -> FsyncMode {
        match *self {
            DiskStep::FailFsync => FsyncMode::Fail,
            DiskStep::SlowFsync { ms } => FsyncMode::Delay(Duration::from_millis(ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn draws_both_kinds_and_delays_stay_below_three_seconds() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (mut fails, mut slows) = (0, 0);
        for _ in 0..60 {
            match DiskStep::draw(&mut rng) {
                DiskStep::FailFsync => fails += 1,
                DiskStep::SlowFsync { ms } => {
                    assert!((50..2_500).contains(&ms));
                    slows += 1;
                }
            }
        }
        assert!(fails > 0 && slows > fails, "{fails} failing, {slows} slow");
        assert_eq!(DiskStep::FailFsync.mode(), FsyncMode::Fail);
    }
}
