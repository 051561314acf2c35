//! Per-process clocks moved by `libfaketime` (Debian's `faketime`): forward jumps and fast
//! drift of one member's clocks, wall and monotonic alike, while the others keep real time.
//!
//! Each member starts with libfaketime preloaded and its own timestamp file holding its offset
//! (`+0` at first); libfaketime re-reads the file at most once a second, so an offset written
//! there reaches the member within a second, and a drift is a series of forward steps a second
//! apart. Restarts keep the offset (the file outlives the process).
//!
//! Invariants:
//! - an offset only grows: a member's monotonic clock never steps back (as in the simulator,
//!   where clock faults are forward only), so nothing a heal does undoes a jump;
//! - only binaries whose clock reads go through the C library honour it: detcd does (Rust's
//!   std calls `clock_gettime` in libc); etcd does not (Go reads the clock through the vDSO
//!   itself), so clock faults are refused on etcd rather than run as no-ops.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

/// Where Debian's `faketime` puts the thread-safe library.
const LIBRARIES: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
];
/// How often (seconds) a member re-reads its timestamp file.
pub const REREAD_SECS: u64 = 1;

/// A clock fault as the schedule draws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "clock")]
pub enum ClockStep {
    /// The target's clocks jump `ms` ahead at once.
    Jump { ms: u64 },
    /// The target's clocks run `extra_pct` % fast while the fault holds.
    Drift { extra_pct: u64 },
}

impl ClockStep {
    pub fn draw(rng: &mut ChaCha8Rng) -> ClockStep {
        if rng.gen_bool(0.5) {
            ClockStep::Jump { ms: rng.gen_range(1_000..10_000) }
        } else {
            ClockStep::Drift { extra_pct: rng.gen_range(50..300) }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ClockStep::Jump { .. } => "jump",
            ClockStep::Drift { .. } => "drift",
        }
    }
}

/// libfaketime's library, or why clock faults cannot run here.
pub fn library() -> Result<PathBuf, String> {
    LIBRARIES.iter().map(PathBuf::from).find(|path| path.is_file()).ok_or_else(|| {
        "libfaketime is missing (Debian's faketime; scripts/test installs it)".to_string()
    })
}

/// The members' clock offsets and the files that carry them.
pub struct Clocks {
    library: PathBuf,
    files: Vec<PathBuf>,
    offsets_ms: Vec<u64>,
}

impl Clocks {
    /// One timestamp file per member in `dir`, each at `+0`.
    pub fn create(library: PathBuf, dir: &Path, members: usize) -> std::io::Result<Clocks> {
        let files: Vec<PathBuf> =
            (0..members).map(|i| dir.join(format!("member{i}.faketime"))).collect();
        for file in &files {
            fs::write(file, "+0\n")?;
        }
        Ok(Clocks { library, files, offsets_ms: vec![0; members] })
    }

    /// The environment a member starts with: libfaketime preloaded, reading its file.
    pub fn environment(&self, index: usize) -> Vec<(String, String)> {
        vec![
            ("LD_PRELOAD".into(), self.library.display().to_string()),
            ("FAKETIME_TIMESTAMP_FILE".into(), self.files[index].display().to_string()),
            ("FAKETIME_CACHE_DURATION".into(), REREAD_SECS.to_string()),
            // The member's own children, if any, keep real time.
            ("FAKETIME_DONT_RESET".into(), "1".into()),
        ]
    }

    /// Moves member `index`'s clocks `ms` further ahead; returns its offset now.
    pub fn advance(&mut self, index: usize, ms: u64) -> std::io::Result<u64> {
        self.offsets_ms[index] += ms;
        let offset = self.offsets_ms[index];
        fs::write(&self.files[index], format!("+{}.{:03}\n", offset / 1_000, offset % 1_000))?;
        Ok(offset)
    }

    /// Member `index`'s offset.
    pub fn offset_ms(&self, index: usize) -> u64 {
        self.offsets_ms[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn offsets_only_grow_and_are_written_as_libfaketime_reads_them() {
        let dir = std::env::temp_dir().join(format!("detcd-chaos-clock-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut clocks = Clocks::create(PathBuf::from("/lib.so"), &dir, 2).unwrap();
        assert_eq!(fs::read_to_string(dir.join("member1.faketime")).unwrap(), "+0\n");
        assert_eq!(clocks.advance(1, 1_500).unwrap(), 1_500);
        assert_eq!(clocks.advance(1, 2_005).unwrap(), 3_505);
        assert_eq!(fs::read_to_string(dir.join("member1.faketime")).unwrap(), "+3.505\n");
        assert_eq!(clocks.offset_ms(0), 0);
        let env = clocks.environment(1);
        assert!(env
            .iter()
            .any(|(k, v)| k == "FAKETIME_TIMESTAMP_FILE" && v.ends_with("member1.faketime")));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn drawn_steps_move_clocks_forward_by_at_least_a_second_or_half_again_as_fast() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut jumps, mut drifts) = (0, 0);
        for _ in 0..50 {
            match ClockStep::draw(&mut rng) {
                ClockStep::Jump { ms } => {
                    assert!(ms >= 1_000);
                    jumps += 1;
                }
                ClockStep::Drift { extra_pct } => {
                    assert!(extra_pct >= 50);
                    drifts += 1;
                }
            }
        }
        assert!(jumps > 0 && drifts > 0);
    }
}
