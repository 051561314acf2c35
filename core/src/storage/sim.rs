//! `SimDisk`: a member's disk in the simulator, with a power-failure model.
//!
//! The harness owns a `SimDisk` per node (it is a cheap `Clone` handle on shared state), so the
//! files outlive the node's tasks: killing a node and calling [`SimDisk::crash`] models a power
//! failure, restarting the node reopens the same disk.
//!
//! Model:
//! - A file (an "inode") has *durable* bytes and a queue of *unsynced* writes on top of them; reads
//!   see both. [`Disk::sync`] makes the writes issued before it durable.
//! - Names live in two maps: the live one and the durable one. Create, rename and remove change the
//!   live map; [`Disk::sync_dir`] copies the entries of one directory to the durable map. So a file
//!   that was created (or renamed) and fsynced but whose directory was not is gone after a crash,
//!   and a removed file whose directory was not synced comes back.
//! - [`SimDisk::crash`] rebinds every name to its durable inode and drops each file's unsynced
//!   writes — except that, with probability `torn_write_probability`, a file keeps the first `k`
//!   of its unsynced writes whole plus a random prefix of write `k + 1` (the disk wrote in order
//!   and lost power mid-write). What survives a crash is durable from then on.
//! - An fsync sleeps a latency drawn from `fsync_latency` on (virtual) time and fails with
//!   probability `fsync_error_probability` (if the disk is still faulty when it wakes: faults
//!   lifted meanwhile let it succeed); a failed fsync makes nothing durable. An fsync still
//!   sleeping when the disk crashes has no effect and reports an error.
//!
//! Every random choice comes from one `ChaCha8Rng` seeded at construction, drawn in call order, so
//! a seed decides all faults. State is kept in `BTreeMap`s: nothing depends on hash order.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::disk::{parent_of, Disk};

/// Fault knobs of a simulated disk. The default is a perfect disk with instant fsync.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDiskFaults {
    /// Chance that one fsync (of a file or a directory) fails.
    pub fsync_error_probability: f64,
    /// How long an fsync takes, drawn uniformly from this range (zero: no sleep at all).
    pub fsync_latency: RangeInclusive<Duration>,
    /// Chance, per file with unsynced writes, that a crash leaves a torn prefix of them.
    pub torn_write_probability: f64,
}

impl Default for SimDiskFaults {
    fn default() -> Self {
        SimDiskFaults {
            fsync_error_probability: 0.0,
            fsync_latency: Duration::ZERO..=Duration::ZERO,
            torn_write_probability: 0.0,
        }
    }
}

/// A simulated data directory; clones share the same files.
#[derive(Debug, Clone)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

type Inode = u64;

#[derive(Debug)]
struct State {
    rng: ChaCha8Rng,
    faults: SimDiskFaults,
    /// Bumped by every crash; an fsync that started before a crash must not complete after it.
    epoch: u64,
    next_inode: Inode,
    live_names: BTreeMap<String, Inode>,
    durable_names: BTreeMap<String, Inode>,
    files: BTreeMap<Inode, SimFile>,
}

#[derive(Debug, Default)]
struct SimFile {
    durable: Vec<u8>,
    /// `durable` with every unsynced write applied: what reads see.
    current: Vec<u8>,
    /// Writes not yet synced, oldest first, numbered by `seq`.
    unsynced: VecDeque<(u64, Write)>,
    /// Number of writes ever issued to this file.
    writes_issued: u64,
}

#[derive(Debug, Clone)]
enum Write {
    At { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

impl Write {
    fn apply(&self, bytes: &mut Vec<u8>) {
        match self {
            Write::At { offset, data } => {
                let start = *offset as usize;
                let end = start + data.len();
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[start..end].copy_from_slice(data);
            }
            Write::SetLen(len) => bytes.resize(*len as usize, 0),
        }
    }

    /// The first `len` bytes of this write, as a torn disk might leave it.
    fn torn(&self, len: usize) -> Write {
        match self {
            Write::At { offset, data } => {
                Write::At { offset: *offset, data: data[..len.min(data.len())].to_vec() }
            }
            Write::SetLen(_) => self.clone(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Write::At { data, .. } => data.len(),
            Write::SetLen(_) => 0,
        }
    }
}

impl SimFile {
    fn push(&mut self, write: Write) {
        write.apply(&mut self.current);
        self.writes_issued += 1;
        self.unsynced.push_back((self.writes_issued, write));
    }

    /// Makes every write numbered up to `upto` durable.
    fn make_durable(&mut self, upto: u64) {
        while let Some((seq, _)) = self.unsynced.front() {
            if *seq > upto {
                break;
            }
            if let Some((_, write)) = self.unsynced.pop_front() {
                write.apply(&mut self.durable);
            }
        }
    }

    /// Power failure: keep the durable bytes, plus a torn prefix of the unsynced writes if `torn`.
    fn crash(&mut self, rng: &mut ChaCha8Rng, torn_probability: f64) {
        let unsynced = std::mem::take(&mut self.unsynced);
        if !unsynced.is_empty() && chance(rng, torn_probability) {
            self.keep_torn_prefix(rng, &unsynced);
        }
        self.current = self.durable.clone();
    }

    fn keep_torn_prefix(&mut self, rng: &mut ChaCha8Rng, unsynced: &VecDeque<(u64, Write)>) {
        let whole = rng.gen_range(0..unsynced.len());
        for (_, write) in unsynced.iter().take(whole) {
            write.apply(&mut self.durable);
        }
        let (_, partial) = &unsynced[whole];
        let kept = rng.gen_range(0..=partial.len());
        partial.torn(kept).apply(&mut self.durable);
    }
}

/// True with probability `p` (clamped to [0, 1]); always draws, so the stream stays aligned.
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    let draw: f64 = rng.gen();
    draw < p
}

fn not_found(path: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no such file: {path}"))
}

impl SimDisk {
    /// An empty disk whose faults are decided by `seed`.
    pub fn new(seed: u64, faults: SimDiskFaults) -> SimDisk {
        let state = State {
            rng: ChaCha8Rng::seed_from_u64(seed),
            faults,
            epoch: 0,
            next_inode: 0,
            live_names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            files: BTreeMap::new(),
        };
        SimDisk { state: Arc::new(Mutex::new(state)) }
    }

    /// Changes the fault knobs from now on (e.g. a fault plan turning fsync errors on).
    pub fn set_faults(&self, faults: SimDiskFaults) {
        self.lock().faults = faults;
    }

    /// Power failure: every name reverts to its last synced directory entry and every file to its
    /// synced bytes (plus, maybe, a torn prefix of its unsynced writes). Call it after killing the
    /// node's tasks and before restarting the node.
    pub fn crash(&self) {
        let mut state = self.lock();
        let state = &mut *state;
        state.epoch += 1;
        state.live_names = state.durable_names.clone();
        let reachable: Vec<Inode> = state.live_names.values().copied().collect();
        state.files.retain(|inode, _| reachable.contains(inode));
        let torn = state.faults.torn_write_probability;
        for file in state.files.values_mut() {
            file.crash(&mut state.rng, torn);
        }
    }

    /// Flips the bits of one byte of `path` at `offset`, durably (bit rot, for tests and plans).
    pub fn corrupt_byte(&self, path: &str, offset: u64) -> io::Result<()> {
        let mut state = self.lock();
        let file = state.file_mut(path)?;
        file.make_durable(file.writes_issued);
        let byte = file
            .durable
            .get_mut(offset as usize)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "offset past end"))?;
        *byte = !*byte;
        file.current = file.durable.clone();
        Ok(())
    }

    /// The bytes of `path` that would survive a crash without tearing (None if the name itself
    /// would not survive).
    pub fn durable_bytes(&self, path: &str) -> Option<Vec<u8>> {
        let state = self.lock();
        let inode = state.durable_names.get(path)?;
        state.files.get(inode).map(|file| file.durable.clone())
    }

    /// Whether some file holds writes a crash now would lose (or tear).
    pub fn has_unsynced_writes(&self) -> bool {
        self.lock().files.values().any(|file| !file.unsynced.is_empty())
    }

    /// Every live file path, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.lock().live_names.keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // more than the panic itself; keep serving the state.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Draws how this fsync goes: its latency and whether it fails.
    fn draw_fsync(&self) -> (Duration, bool, u64) {
        let mut state = self.lock();
        let state = &mut *state;
        let range = state.faults.fsync_latency.clone();
        let latency =
            if range.start() >= range.end() { *range.start() } else { state.rng.gen_range(range) };
        let fails = chance(&mut state.rng, state.faults.fsync_error_probability);
        (latency, fails, state.epoch)
    }

    /// Sleeps the fsync's latency and decides whether it may take effect.
    async fn fsync(&self, what: &str) -> io::Result<u64> {
        let (latency, fails, epoch) = self.draw_fsync();
        if !latency.is_zero() {
            madsim::time::sleep(latency).await;
        }
        // A failure drawn while the disk was faulty takes effect only if it still is: faults
        // lifted while the fsync slept (the simulator's heal) leave a healthy disk, so nothing
        // fails after the heal because of a fault from before it.
        if fails && self.lock().faults.fsync_error_probability > 0.0 {
            return Err(io::Error::other(format!("simulated fsync failure on {what}")));
        }
        Ok(epoch)
    }

    fn crashed_since(&self, epoch: u64, what: &str) -> io::Result<MutexGuard<'_, State>> {
        let state = self.lock();
        if state.epoch != epoch {
            return Err(io::Error::other(format!("disk crashed during fsync of {what}")));
        }
        Ok(state)
    }
}

impl State {
    fn inode(&self, path: &str) -> io::Result<Inode> {
        self.live_names.get(path).copied().ok_or_else(|| not_found(path))
    }

    fn file_mut(&mut self, path: &str) -> io::Result<&mut SimFile> {
        let inode = self.inode(path)?;
        self.files.get_mut(&inode).ok_or_else(|| not_found(path))
    }

    fn file(&self, path: &str) -> io::Result<&SimFile> {
        let inode = self.inode(path)?;
        self.files.get(&inode).ok_or_else(|| not_found(path))
    }
}

impl Disk for SimDisk {
    fn create(&self, path: &str) -> io::Result<()> {
        let mut state = self.lock();
        state.next_inode += 1;
        let inode = state.next_inode;
        state.files.insert(inode, SimFile::default());
        if let Some(old) = state.live_names.insert(path.to_string(), inode) {
            drop_if_unreachable(&mut state, old);
        }
        Ok(())
    }

    fn append(&self, path: &str, data: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        let file = state.file_mut(path)?;
        let offset = file.current.len() as u64;
        file.push(Write::At { offset, data: data.to_vec() });
        Ok(())
    }

    fn write_at(&self, path: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        state.file_mut(path)?.push(Write::At { offset, data: data.to_vec() });
        Ok(())
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        Ok(self.lock().file(path)?.current.clone())
    }

    fn file_len(&self, path: &str) -> io::Result<u64> {
        Ok(self.lock().file(path)?.current.len() as u64)
    }

    fn truncate(&self, path: &str, len: u64) -> io::Result<()> {
        self.lock().file_mut(path)?.push(Write::SetLen(len));
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut state = self.lock();
        let inode = state.live_names.remove(from).ok_or_else(|| not_found(from))?;
        if let Some(old) = state.live_names.insert(to.to_string(), inode) {
            drop_if_unreachable(&mut state, old);
        }
        Ok(())
    }

    fn remove(&self, path: &str) -> io::Result<()> {
        let mut state = self.lock();
        let inode = state.live_names.remove(path).ok_or_else(|| not_found(path))?;
        drop_if_unreachable(&mut state, inode);
        Ok(())
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let state = self.lock();
        let names = state
            .live_names
            .keys()
            .filter(|path| parent_of(path) == dir)
            .map(|path| path.rsplit('/').next().unwrap_or(path).to_string())
            .collect();
        Ok(names)
    }

    fn sync<'a>(&'a self, path: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let (inode, upto) = {
                let state = self.lock();
                let inode = state.inode(path)?;
                (inode, state.file(path)?.writes_issued)
            };
            let epoch = self.fsync(path).await?;
            let mut state = self.crashed_since(epoch, path)?;
            // The inode may have been unlinked meanwhile; its data is then unreachable anyway.
            if let Some(file) = state.files.get_mut(&inode) {
                file.make_durable(upto);
            }
            Ok(())
        })
    }

    fn sync_dir<'a>(&'a self, dir: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let entries: Vec<(String, Inode)> = {
                let state = self.lock();
                in_dir(&state.live_names, dir)
            };
            let epoch = self.fsync(dir).await?;
            let mut state = self.crashed_since(epoch, dir)?;
            let state = &mut *state;
            state.durable_names.retain(|path, _| parent_of(path) != dir);
            state.durable_names.extend(entries);
            let reachable: Vec<Inode> =
                state.live_names.values().chain(state.durable_names.values()).copied().collect();
            state.files.retain(|inode, _| reachable.contains(inode));
            Ok(())
        })
    }
}

fn in_dir(names: &BTreeMap<String, Inode>, dir: &str) -> Vec<(String, Inode)> {
    names
        .iter()
        .filter(|(path, _)| parent_of(path) == dir)
        .map(|(path, inode)| (path.clone(), *inode))
        .collect()
}

/// Forgets an inode no name (live or durable) refers to any more.
fn drop_if_unreachable(state: &mut State, inode: Inode) {
    let referenced =
        state.live_names.values().chain(state.durable_names.values()).any(|&other| other == inode);
    if !referenced {
        state.files.remove(&inode);
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;

    fn disk() -> SimDisk {
        SimDisk::new(7, SimDiskFaults::default())
    }

    #[test]
    fn a_crash_keeps_synced_bytes_and_drops_unsynced_ones() {
        let disk = disk();
        disk.create("d/f").unwrap();
        disk.append("d/f", b"synced").unwrap();
        block_on(disk.sync("d/f")).unwrap();
        block_on(disk.sync_dir("d")).unwrap();
        disk.append("d/f", b"+lost").unwrap();
        assert_eq!(disk.read("d/f").unwrap(), b"synced+lost");
        disk.crash();
        assert_eq!(disk.read("d/f").unwrap(), b"synced");
    }

    #[test]
    fn names_are_durable_only_after_a_directory_sync() {
        let disk = disk();
        disk.create("d/kept").unwrap();
        block_on(disk.sync_dir("d")).unwrap();
        disk.create("d/new").unwrap();
        block_on(disk.sync("d/new")).unwrap();
        disk.rename("d/kept", "d/renamed").unwrap();
        disk.crash();
        assert_eq!(disk.list("d").unwrap(), vec!["kept".to_string()]);

        disk.remove("d/kept").unwrap();
        disk.crash();
        assert_eq!(disk.list("d").unwrap(), vec!["kept".to_string()], "unsynced remove undone");
    }

    #[test]
    fn a_synced_rename_replaces_the_target() {
        let disk = disk();
        disk.create("a").unwrap();
        disk.append("a", b"old").unwrap();
        disk.create("tmp").unwrap();
        disk.append("tmp", b"new").unwrap();
        block_on(disk.sync("tmp")).unwrap();
        block_on(disk.sync_dir("")).unwrap();
        disk.rename("tmp", "a").unwrap();
        block_on(disk.sync_dir("")).unwrap();
        disk.crash();
        assert_eq!(disk.list("").unwrap(), vec!["a".to_string()]);
        assert_eq!(disk.read("a").unwrap(), b"new");
    }

    #[test]
    fn a_torn_crash_keeps_a_prefix_of_the_unsynced_writes() {
        let faults = SimDiskFaults { torn_write_probability: 1.0, ..SimDiskFaults::default() };
        let mut seen_partial = false;
        for seed in 0..50 {
            let disk = SimDisk::new(seed, faults.clone());
            disk.create("f").unwrap();
            disk.append("f", b"base").unwrap();
            block_on(disk.sync("f")).unwrap();
            block_on(disk.sync_dir("")).unwrap();
            disk.append("f", b"0123456789").unwrap();
            disk.append("f", b"abcdefghij").unwrap();
            disk.crash();
            let after = disk.read("f").unwrap();
            let full = b"base0123456789abcdefghij";
            assert!(after.len() >= 4 && full.starts_with(&after), "seed {seed}: {after:?}");
            seen_partial |= after.len() > 4 && after.len() < full.len();
        }
        assert!(seen_partial);
    }

    #[test]
    fn a_failed_fsync_makes_nothing_durable() {
        let faults = SimDiskFaults { fsync_error_probability: 1.0, ..SimDiskFaults::default() };
        let disk = SimDisk::new(1, faults);
        disk.create("f").unwrap();
        disk.append("f", b"data").unwrap();
        assert!(block_on(disk.sync("f")).is_err());
        assert!(block_on(disk.sync_dir("")).is_err());
        disk.set_faults(SimDiskFaults::default());
        block_on(disk.sync_dir("")).unwrap();
        disk.crash();
        assert_eq!(disk.read("f").unwrap(), b"");
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let faults = SimDiskFaults {
            fsync_error_probability: 0.5,
            torn_write_probability: 0.5,
            ..SimDiskFaults::default()
        };
        let run = |seed| {
            let disk = SimDisk::new(seed, faults.clone());
            let mut outcome = Vec::new();
            disk.create("f").unwrap();
            for round in 0..20u8 {
                disk.append("f", &[round; 8]).unwrap();
                outcome.push(block_on(disk.sync("f")).is_ok() as u8);
                let _ = block_on(disk.sync_dir(""));
            }
            disk.crash();
            outcome.extend(disk.read("f").unwrap_or_default());
            outcome
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[madsim::test]
    async fn fsync_takes_its_latency() {
        let latency = Duration::from_millis(20);
        let faults = SimDiskFaults { fsync_latency: latency..=latency, ..SimDiskFaults::default() };
        let disk = SimDisk::new(1, faults);
        disk.create("f").unwrap();
        let start = madsim::time::Instant::now();
        disk.sync("f").await.unwrap();
        assert!(start.elapsed() >= latency);
    }

    /// Swarm seed 543: an fsync that drew a failure before the heal used to fail after it, and
    /// stopped a member's raft once nobody would restart it any more.
    #[madsim::test]
    async fn an_fsync_whose_faults_are_lifted_while_it_sleeps_succeeds() {
        let latency = Duration::from_millis(20);
        let faulty = SimDiskFaults {
            fsync_error_probability: 1.0,
            fsync_latency: latency..=latency,
            ..SimDiskFaults::default()
        };
        let disk = SimDisk::new(1, faulty.clone());
        disk.create("f").unwrap();
        disk.append("f", b"data").unwrap();
        assert!(disk.sync("f").await.is_err(), "still faulty when it wakes: it fails");
        let syncing = disk.clone();
        let sync = madsim::task::spawn(async move { syncing.sync("f").await });
        madsim::time::sleep(Duration::from_millis(5)).await;
        disk.set_faults(SimDiskFaults::default());
        assert!(sync.await.unwrap().is_ok(), "healed while it slept: it succeeds");
        disk.sync_dir("").await.unwrap();
        disk.crash();
        assert_eq!(disk.read("f").unwrap(), b"data");
    }

    #[madsim::test]
    async fn an_fsync_interrupted_by_a_crash_has_no_effect() {
        let latency = Duration::from_millis(20);
        let faults = SimDiskFaults { fsync_latency: latency..=latency, ..SimDiskFaults::default() };
        let disk = SimDisk::new(1, faults);
        disk.create("f").unwrap();
        disk.append("f", b"data").unwrap();
        let syncing = disk.clone();
        let sync = madsim::task::spawn(async move { syncing.sync("f").await });
        madsim::time::sleep(Duration::from_millis(5)).await;
        disk.crash();
        assert!(sync.await.unwrap().is_err());
        assert!(disk.read("f").is_err(), "the name was never synced");
    }
}
