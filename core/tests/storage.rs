//! The storage layer end to end: the WAL and snapshot files on the simulated and the real disk.
//!
//! Every behaviour test takes an `Arc<dyn Disk>` and runs on both disks, so the real disk is held
//! to the same contract as the simulated one. Crash tests need the simulated disk's power failure.

use std::sync::Arc;

use bytes::Bytes;
use detcd_core::storage::{
    Disk, Entry, Purged, RealDisk, Record, SimDisk, SimDiskFaults, SnapshotFiles, StorageError,
    Wal, WalOptions,
};
use futures::executor::block_on;

fn entry(index: u64, term: u64) -> Entry {
    Entry { index, term, payload: Bytes::from(format!("entry {index} of term {term}")) }
}

fn entries(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
    range.map(|index| entry(index, term)).collect()
}

fn indexes(wal: &Wal) -> Vec<u64> {
    wal.state().entries.keys().copied().collect()
}

fn small_segments() -> WalOptions {
    WalOptions { segment_size: 256, ..WalOptions::default() }
}

fn open(disk: &Arc<dyn Disk>, options: &WalOptions) -> Result<Wal, StorageError> {
    block_on(Wal::open(disk.clone(), options.clone()))
}

fn sim_disk() -> (SimDisk, Arc<dyn Disk>) {
    let sim = SimDisk::new(11, SimDiskFaults::default());
    let disk: Arc<dyn Disk> = Arc::new(sim.clone());
    (sim, disk)
}

/// A real disk in a fresh temporary directory, removed on drop.
struct TempDisk {
    disk: Arc<dyn Disk>,
    root: std::path::PathBuf,
}

impl TempDisk {
    fn new(name: &str) -> TempDisk {
        let unique = format!("detcd-storage-{name}-{}", std::process::id());
        let root = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&root);
        let disk: Arc<dyn Disk> = Arc::new(RealDisk::open(&root).expect("temp dir"));
        TempDisk { disk, root }
    }
}

impl Drop for TempDisk {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Runs `check` on a simulated disk and on a real one.
fn on_both_disks(name: &str, check: impl Fn(Arc<dyn Disk>)) {
    check(sim_disk().1);
    let temp = TempDisk::new(name);
    check(temp.disk.clone());
}

mod storage_wal {
    use super::*;

    #[test]
    fn written_records_read_back_after_reopen() {
        on_both_disks("reopen", |disk| {
            let options = small_segments();
            let mut wal = open(&disk, &options).unwrap();
            assert_eq!(wal.state().entries.len(), 0);
            wal.save_vote(Bytes::from_static(b"vote t1")).unwrap();
            wal.append_entries(entries(1..=30, 1)).unwrap();
            wal.save_committed(Some(Bytes::from_static(b"c20"))).unwrap();
            block_on(wal.sync()).unwrap();
            assert!(wal.segment_seqs().len() > 1, "small segments roll");
            let written = wal.state().clone();
            drop(wal);

            let wal = open(&disk, &options).unwrap();
            assert_eq!(wal.state(), &written);
            assert_eq!(wal.state().entries[&7], entry(7, 1));
            assert_eq!(wal.state().vote.as_deref(), Some(&b"vote t1"[..]));
            assert_eq!(wal.state().committed.as_deref(), Some(&b"c20"[..]));
        });
    }

    #[test]
    fn conflict_truncation_replaces_the_tail() {
        on_both_disks("truncate", |disk| {
            let options = small_segments();
            let mut wal = open(&disk, &options).unwrap();
            wal.append_entries(entries(1..=20, 1)).unwrap();
            block_on(wal.sync()).unwrap();
            wal.truncate(8).unwrap();
            wal.append_entries(entries(8..=12, 2)).unwrap();
            block_on(wal.sync()).unwrap();
            assert_eq!(indexes(&wal), (1..=12).collect::<Vec<_>>());
            drop(wal);

            let mut wal = open(&disk, &options).unwrap();
            assert_eq!(indexes(&wal), (1..=12).collect::<Vec<_>>());
            assert_eq!(wal.state().entries[&7].term, 1);
            assert_eq!(wal.state().entries[&8].term, 2);
            wal.truncate_after(Some(10)).unwrap();
            assert_eq!(indexes(&wal), (1..=10).collect::<Vec<_>>());
            wal.truncate_after(None).unwrap();
            block_on(wal.sync()).unwrap();
            drop(wal);
            assert!(open(&disk, &options).unwrap().state().entries.is_empty());
        });
    }

    #[test]
    fn purge_deletes_old_segments_but_keeps_the_vote_and_later_entries() {
        on_both_disks("purge", |disk| {
            let options = small_segments();
            let mut wal = open(&disk, &options).unwrap();
            wal.save_vote(Bytes::from_static(b"old vote")).unwrap();
            wal.save_committed(Some(Bytes::from_static(b"c"))).unwrap();
            for batch in 0..10 {
                wal.append_entries(entries(batch * 5 + 1..=batch * 5 + 5, 1)).unwrap();
                block_on(wal.sync()).unwrap();
            }
            let segments_before = wal.segment_seqs();
            let purged = Purged { index: 40, log_id: Bytes::from_static(b"1-40") };
            wal.purge(purged.clone()).unwrap();
            block_on(wal.sync()).unwrap();
            let segments_after = wal.segment_seqs();
            assert!(segments_after.len() < segments_before.len());
            assert!(segments_after[0] > segments_before[0]);
            assert_eq!(indexes(&wal), (41..=50).collect::<Vec<_>>());
            drop(wal);

            let mut wal = open(&disk, &options).unwrap();
            assert_eq!(indexes(&wal), (41..=50).collect::<Vec<_>>());
            assert_eq!(wal.state().purged, Some(purged));
            assert_eq!(wal.state().vote.as_deref(), Some(&b"old vote"[..]));
            assert_eq!(wal.state().committed.as_deref(), Some(&b"c"[..]));
            wal.append_entries([entry(51, 2)]).unwrap();
            block_on(wal.sync()).unwrap();
        });
    }

    #[test]
    fn purge_past_the_last_entry_empties_the_log() {
        on_both_disks("purge-all", |disk| {
            let options = small_segments();
            let mut wal = open(&disk, &options).unwrap();
            wal.append_entries(entries(1..=5, 1)).unwrap();
            wal.purge(Purged { index: 100, log_id: Bytes::from_static(b"snapshot") }).unwrap();
            wal.append_entries([entry(101, 3)]).unwrap();
            block_on(wal.sync()).unwrap();
            drop(wal);
            assert_eq!(indexes(&open(&disk, &options).unwrap()), vec![101]);
        });
    }

    #[test]
    fn holes_are_refused_without_poisoning() {
        on_both_disks("holes", |disk| {
            let mut wal = open(&disk, &WalOptions::default()).unwrap();
            wal.append_entries(entries(1..=3, 1)).unwrap();
            let hole = wal.append_entries([entry(5, 1)]);
            assert!(matches!(hole, Err(StorageError::Invalid(_))), "{hole:?}");
            let partly_bad = wal.append_entries([entry(4, 1), entry(6, 1)]);
            assert!(matches!(partly_bad, Err(StorageError::Invalid(_))));
            assert_eq!(indexes(&wal), vec![1, 2, 3], "a refused batch writes nothing");
            wal.purge(Purged { index: 2, log_id: Bytes::new() }).unwrap();
            let backwards = wal.purge(Purged { index: 1, log_id: Bytes::new() });
            assert!(matches!(backwards, Err(StorageError::Invalid(_))));
            wal.append_entries([entry(4, 1)]).unwrap();
            block_on(wal.sync()).unwrap();
        });
    }

    #[test]
    fn a_purge_that_would_leave_a_hole_is_refused() {
        let (_, disk) = sim_disk();
        let mut wal = open(&disk, &WalOptions::default()).unwrap();
        wal.append_entries(entries(10..=12, 1)).unwrap();
        let hole = wal.purge(Purged { index: 5, log_id: Bytes::new() });
        assert!(matches!(hole, Err(StorageError::Invalid(_))), "{hole:?}");
        wal.purge(Purged { index: 9, log_id: Bytes::new() }).unwrap();
        block_on(wal.sync()).unwrap();
        drop(wal);
        assert_eq!(indexes(&open(&disk, &WalOptions::default()).unwrap()), vec![10, 11, 12]);
    }

    #[test]
    fn the_wal_and_its_futures_can_cross_threads() {
        fn assert_send<T: Send>(_: &T) {}
        let (_, disk) = sim_disk();
        let open_future = Wal::open(disk.clone(), WalOptions::default());
        assert_send(&open_future);
        let mut wal = block_on(open_future).unwrap();
        assert_send(&wal);
        assert_send(&wal.sync());
        let snapshots = SnapshotFiles::new(disk, "snap", 1);
        assert_send(&snapshots.save(1, b""));
    }

    #[test]
    fn a_crash_keeps_synced_records_and_drops_unsynced_ones() {
        let (sim, disk) = sim_disk();
        let options = small_segments();
        let mut wal = open(&disk, &options).unwrap();
        wal.append_entries(entries(1..=10, 1)).unwrap();
        block_on(wal.sync()).unwrap();
        wal.append_entries(entries(11..=12, 1)).unwrap();
        wal.save_vote(Bytes::from_static(b"unsynced vote")).unwrap();
        drop(wal);
        sim.crash();
        let wal = open(&disk, &options).unwrap();
        assert_eq!(indexes(&wal), (1..=10).collect::<Vec<_>>());
        assert_eq!(wal.state().vote, None);
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_the_log_stays_usable() {
        let options = small_segments();
        let torn = SimDiskFaults { torn_write_probability: 1.0, ..SimDiskFaults::default() };
        let mut cut = 0;
        for seed in 0..40 {
            let sim = SimDisk::new(seed, torn.clone());
            let disk: Arc<dyn Disk> = Arc::new(sim.clone());
            let mut wal = open(&disk, &options).unwrap();
            wal.append_entries(entries(1..=3, 1)).unwrap();
            block_on(wal.sync()).unwrap();
            wal.append_entries(entries(4..=6, 1)).unwrap();
            drop(wal);
            sim.crash();

            let mut wal = open(&disk, &options).unwrap();
            let recovered = indexes(&wal);
            assert!(recovered.starts_with(&[1, 2, 3]) && recovered.len() <= 6, "{recovered:?}");
            cut += usize::from(recovered.len() < 6);
            let next = recovered.len() as u64 + 1;
            wal.append_entries([entry(next, 2)]).unwrap();
            block_on(wal.sync()).unwrap();
            drop(wal);
            let wal = open(&disk, &options).unwrap();
            assert_eq!(wal.state().entries[&next].term, 2, "seed {seed}");
        }
        assert!(cut > 0);
    }

    #[test]
    fn garbage_after_the_last_record_is_cut_on_any_disk() {
        let segment = "wal/0000000000000000.wal";
        on_both_disks("garbage-tail", |disk| {
            let options = WalOptions::default();
            // Reopening cuts the zeros the writer preallocates: the file is then its records.
            let records_len = |wal: Wal| {
                drop(wal);
                drop(open(&disk, &options).unwrap());
                disk.file_len(segment).unwrap()
            };
            let mut wal = open(&disk, &options).unwrap();
            wal.append_entries(entries(1..=2, 1)).unwrap();
            block_on(wal.sync()).unwrap();
            let two_len = records_len(wal) as usize;
            let mut wal = open(&disk, &options).unwrap();
            wal.append_entries([entry(3, 1)]).unwrap();
            block_on(wal.sync()).unwrap();
            let good_len = records_len(wal);
            // Half of a copy of the last record, as a crash mid-append leaves it.
            let bytes = disk.read(segment).unwrap();
            let last_record = &bytes[two_len..];
            disk.append(segment, &last_record[..last_record.len() / 2]).unwrap();
            let mut wal = open(&disk, &options).unwrap();
            assert_eq!(indexes(&wal), vec![1, 2, 3]);
            assert_eq!(disk.file_len(segment).unwrap(), good_len);
            // A zero-filled tail too.
            wal.append_entries([entry(4, 1)]).unwrap();
            block_on(wal.sync()).unwrap();
            drop(wal);
            disk.append(segment, &[0; 64]).unwrap();
            let wal = open(&disk, &options).unwrap();
            assert_eq!(indexes(&wal), vec![1, 2, 3, 4]);
        });
    }

    #[test]
    fn damage_before_the_tail_refuses_to_start_on_any_disk() {
        let segment = "wal/0000000000000000.wal";
        on_both_disks("damage", |disk| {
            let options = WalOptions::default();
            let mut wal = open(&disk, &options).unwrap();
            wal.append_entries(entries(1..=5, 1)).unwrap();
            block_on(wal.sync()).unwrap();
            drop(wal);
            let len = disk.file_len(segment).unwrap();
            disk.write_at(segment, len / 2, b"\xff\xff\xff").unwrap();
            let err = open(&disk, &options).unwrap_err();
            assert!(matches!(&err, StorageError::Corrupt { path, .. } if path == segment), "{err}");
        });
    }

    #[test]
    fn a_damaged_record_before_the_tail_refuses_to_start() {
        let (sim, disk) = sim_disk();
        let options = WalOptions::default();
        let mut wal = open(&disk, &options).unwrap();
        wal.append_entries(entries(1..=5, 1)).unwrap();
        block_on(wal.sync()).unwrap();
        drop(wal);
        let path = "wal/0000000000000000.wal";
        let len = sim.durable_bytes(path).unwrap().len() as u64;
        sim.corrupt_byte(path, len / 2).unwrap();

        let err = open(&disk, &options).unwrap_err();
        let StorageError::Corrupt { path: bad_path, offset, .. } = &err else {
            panic!("expected corruption, got {err}");
        };
        assert_eq!(bad_path, path);
        assert!(*offset > 0 && *offset <= len / 2, "offset {offset}");
        assert!(err.to_string().contains(path), "{err}");
    }

    #[test]
    fn a_damaged_older_segment_refuses_to_start() {
        let (sim, disk) = sim_disk();
        let options = small_segments();
        let mut wal = open(&disk, &options).unwrap();
        for index in 1..=40 {
            wal.append_entries([entry(index, 1)]).unwrap();
            block_on(wal.sync()).unwrap();
        }
        drop(wal);
        let first = "wal/0000000000000000.wal";
        let len = sim.durable_bytes(first).unwrap().len() as u64;
        sim.corrupt_byte(first, len - 1).unwrap();
        let err = open(&disk, &options).unwrap_err();
        assert!(matches!(&err, StorageError::Corrupt { path, .. } if path == first), "{err}");
    }

    #[test]
    fn a_missing_middle_segment_refuses_to_start() {
        let (_, disk) = sim_disk();
        let options = small_segments();
        let mut wal = open(&disk, &options).unwrap();
        for index in 1..=40 {
            wal.append_entries([entry(index, 1)]).unwrap();
            block_on(wal.sync()).unwrap();
        }
        assert!(wal.segment_seqs().len() >= 3);
        drop(wal);
        disk.remove("wal/0000000000000001.wal").unwrap();
        let err = open(&disk, &options).unwrap_err();
        assert!(err.to_string().contains("0000000000000001.wal"), "{err}");
    }

    #[test]
    fn an_fsync_error_surfaces_and_poisons_the_writer() {
        let (sim, disk) = sim_disk();
        let options = WalOptions::default();
        let mut wal = open(&disk, &options).unwrap();
        wal.append_entries(entries(1..=2, 1)).unwrap();
        block_on(wal.sync()).unwrap();

        sim.set_faults(SimDiskFaults { fsync_error_probability: 1.0, ..SimDiskFaults::default() });
        wal.append_entries([entry(3, 1)]).unwrap();
        let failed = block_on(wal.sync());
        assert!(matches!(failed, Err(StorageError::Io { op: "fsync", .. })), "{failed:?}");

        sim.set_faults(SimDiskFaults::default());
        assert!(matches!(block_on(wal.sync()), Err(StorageError::Poisoned(_))));
        assert!(matches!(wal.append_entries([entry(4, 1)]), Err(StorageError::Poisoned(_))));
        drop(wal);

        sim.crash();
        let wal = open(&disk, &options).unwrap();
        assert_eq!(indexes(&wal), vec![1, 2], "the entry whose fsync failed was never durable");
    }

    #[test]
    fn a_crash_during_a_roll_loses_nothing_synced() {
        let (sim, disk) = sim_disk();
        let options = small_segments();
        let mut wal = open(&disk, &options).unwrap();
        let mut synced = 0;
        for index in 1..=40 {
            wal.append_entries([entry(index, 1)]).unwrap();
            if index % 3 == 0 {
                block_on(wal.sync()).unwrap();
                synced = index;
            }
        }
        drop(wal);
        sim.crash();
        let wal = open(&disk, &options).unwrap();
        assert_eq!(indexes(&wal), (1..=synced).collect::<Vec<_>>());
    }

    #[test]
    fn write_is_append_then_sync() {
        let (sim, disk) = sim_disk();
        let mut wal = open(&disk, &WalOptions::default()).unwrap();
        block_on(wal.write([Record::Entry(entry(1, 1)), Record::Vote(Bytes::from_static(b"v"))]))
            .unwrap();
        drop(wal);
        sim.crash();
        let wal = open(&disk, &WalOptions::default()).unwrap();
        assert_eq!(indexes(&wal), vec![1]);
        assert!(wal.state().vote.is_some());
    }
}

mod storage_wal_latency {
    use std::time::Duration;

    use super::*;

    fn slow_disk() -> (SimDisk, Arc<dyn Disk>) {
        let latency = Duration::from_millis(10);
        let faults = SimDiskFaults { fsync_latency: latency..=latency, ..SimDiskFaults::default() };
        let sim = SimDisk::new(5, faults);
        let disk: Arc<dyn Disk> = Arc::new(sim.clone());
        (sim, disk)
    }

    #[madsim::test]
    async fn sync_returns_only_after_the_fsync_latency() {
        let (_, disk) = slow_disk();
        let mut wal = Wal::open(disk, WalOptions::default()).await.unwrap();
        wal.append_entries(entries(1..=3, 1)).unwrap();
        let start = madsim::time::Instant::now();
        wal.sync().await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(10));
    }

    #[madsim::test]
    async fn a_crash_during_sync_fails_it_and_loses_only_unacknowledged_entries() {
        let (sim, disk) = slow_disk();
        let mut wal = Wal::open(disk.clone(), WalOptions::default()).await.unwrap();
        wal.append_entries(entries(1..=3, 1)).unwrap();
        wal.sync().await.unwrap();
        wal.append_entries(entries(4..=5, 1)).unwrap();
        let syncing = madsim::task::spawn(async move { wal.sync().await });
        madsim::time::sleep(Duration::from_millis(2)).await;
        sim.crash();
        assert!(syncing.await.unwrap().is_err(), "an interrupted fsync never acknowledges");
        let wal = Wal::open(disk, WalOptions::default()).await.unwrap();
        assert_eq!(indexes(&wal), vec![1, 2, 3]);
    }
}

mod storage_snapshot {
    use super::*;

    #[test]
    fn the_latest_snapshot_reads_back_and_only_keep_are_kept() {
        on_both_disks("snapshots", |disk| {
            let snapshots = SnapshotFiles::new(disk.clone(), "snap", 2);
            assert_eq!(snapshots.load_latest().unwrap(), None);
            for id in [10, 20, 30] {
                block_on(snapshots.save(id, format!("state at {id}").as_bytes())).unwrap();
            }
            assert_eq!(snapshots.list().unwrap(), vec![20, 30]);
            assert_eq!(snapshots.load_latest().unwrap(), Some((30, b"state at 30".to_vec())));
            assert_eq!(snapshots.load(20).unwrap(), b"state at 20");
        });
    }

    #[test]
    fn a_saved_snapshot_survives_a_crash_and_a_stray_temp_file_is_ignored() {
        let (sim, disk) = sim_disk();
        let snapshots = SnapshotFiles::new(disk.clone(), "snap", 3);
        block_on(snapshots.save(1, b"one")).unwrap();
        disk.create("snap/snap.tmp").unwrap();
        disk.append("snap/snap.tmp", b"half a snapshot").unwrap();
        sim.crash();
        assert_eq!(snapshots.load_latest().unwrap(), Some((1, b"one".to_vec())));
        block_on(snapshots.save(2, b"two")).unwrap();
        sim.crash();
        assert_eq!(snapshots.list().unwrap(), vec![1, 2]);
    }

    /// A crash at any moment of a save leaves the old snapshot or the new one, never damage.
    #[madsim::test]
    async fn a_crash_mid_save_leaves_the_old_or_the_new_snapshot() {
        use std::time::Duration;
        let latency = Duration::from_millis(4);
        let faults = SimDiskFaults {
            fsync_latency: latency..=latency,
            torn_write_probability: 1.0,
            ..SimDiskFaults::default()
        };
        let mut outcomes = std::collections::BTreeSet::new();
        // The last crash point comes long after the save: it must then always be the new one.
        for crash_after_ms in (0..14).chain([200]) {
            let sim = SimDisk::new(crash_after_ms, faults.clone());
            let snapshots = SnapshotFiles::new(Arc::new(sim.clone()), "snap", 1);
            snapshots.save(1, b"old state").await.unwrap();
            let saving = snapshots.clone();
            let save = madsim::task::spawn(async move { saving.save(2, b"new state").await });
            madsim::time::sleep(Duration::from_millis(crash_after_ms)).await;
            sim.crash();
            let saved = save.await.unwrap().is_ok();
            let latest = snapshots.load_latest().unwrap();
            match latest.as_ref().map(|(id, data)| (*id, data.as_slice())) {
                Some((1, b"old state")) => assert!(!saved, "a finished save must survive"),
                Some((2, b"new state")) => {}
                other => panic!("crash after {crash_after_ms} ms left {other:?}"),
            }
            outcomes.insert(latest.map(|(id, _)| id));
        }
        assert_eq!(outcomes.len(), 2, "both outcomes seen: {outcomes:?}");
    }

    #[test]
    fn a_damaged_snapshot_is_an_error_naming_the_file() {
        let (sim, disk) = sim_disk();
        let snapshots = SnapshotFiles::new(disk, "snap", 3);
        block_on(snapshots.save(5, b"some state")).unwrap();
        let path = "snap/0000000000000005.snap";
        sim.corrupt_byte(path, 25).unwrap();
        let err = snapshots.load_latest().unwrap_err();
        assert!(matches!(&err, StorageError::Corrupt { path: p, .. } if p == path), "{err}");
    }

    #[test]
    fn an_fsync_error_fails_the_save() {
        let (sim, disk) = sim_disk();
        let snapshots = SnapshotFiles::new(disk, "snap", 3);
        sim.set_faults(SimDiskFaults { fsync_error_probability: 1.0, ..SimDiskFaults::default() });
        assert!(block_on(snapshots.save(1, b"x")).is_err());
        sim.set_faults(SimDiskFaults::default());
        sim.crash();
        assert_eq!(snapshots.load_latest().unwrap(), None);
    }
}
