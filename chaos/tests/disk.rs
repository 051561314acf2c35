//! The disk faults' file system mounted for real: what a process wrote and synced survives a
//! loss, what it did not sync is gone, fsync fails or waits on command, and a power cut during
//! a slow fsync makes nothing durable; and `--faults kill,disk` end to end on real detcd,
//! leaving no mount behind, and one member with slow fsyncs (`--fsync-delay`) under power cuts.
//!
//! Needs FUSE (`/dev/fuse`) and root: without them each test says so and is skipped.

mod common;

use common::{detcd, out_dir, serial};
use detcd_chaos::dirlog::Commit;
use detcd_chaos::lazyfs::{self, FsyncMode, Mounted};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn fuse_usable() -> bool {
    match lazyfs::usable() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("SKIPPED: FUSE is not usable here: {why}");
            false
        }
    }
}

/// A scratch directory with the mount at `<dir>/data` over `<dir>/backing`.
fn mounted(name: &str, commit: Commit) -> (PathBuf, Mounted) {
    let dir = std::env::temp_dir().join(format!("detcd-lazyfs-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mounted =
        lazyfs::mount(&dir.join("backing"), &dir.join("grave"), &dir.join("data"), commit)
            .expect("mount");
    (dir, mounted)
}

fn sync_dir(dir: &std::path::Path) {
    fs::File::open(dir).expect("open dir").sync_all().expect("fsync dir");
}

#[test]
fn a_loss_keeps_exactly_the_synced_part_of_a_file() {
    if !fuse_usable() {
        return;
    }
    let (dir, mount) = mounted("synced-part", Commit::Directory);
    let data = dir.join("data");
    let path = data.join("wal");
    let mut file = OpenOptions::new().create(true).append(true).open(&path).expect("create");
    file.write_all(b"first record;").expect("write");
    file.sync_data().expect("fdatasync");
    sync_dir(&data);
    file.write_all(b"second, never synced;").expect("write");
    assert_eq!(fs::read(&path).expect("read"), b"first record;second, never synced;");
    assert_eq!(
        fs::read(dir.join("backing/wal")).expect("backing"),
        b"first record;",
        "the unsynced write stays in memory"
    );
    drop(file);
    let (files, _, failed) = mount.control.lose_unsynced();
    assert_eq!(files, 1);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(fs::read(&path).expect("read after loss"), b"first record;");
    assert_eq!(fs::metadata(&path).expect("stat").len(), 13);
    mount.unmount().expect("unmount");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_file_whose_directory_was_never_synced_is_lost_whole_and_a_rename_undone() {
    if !fuse_usable() {
        return;
    }
    let (dir, mount) = mounted("namespace", Commit::Directory);
    let data = dir.join("data");
    fs::write(data.join("snap"), b"old snapshot").expect("write");
    OpenOptions::new().write(true).open(data.join("snap")).unwrap().sync_all().unwrap();
    sync_dir(&data);
    // A new snapshot written and synced, renamed over the old one, the directory not synced.
    fs::write(data.join("snap.tmp"), b"new snapshot").expect("write");
    OpenOptions::new().write(true).open(data.join("snap.tmp")).unwrap().sync_all().unwrap();
    fs::rename(data.join("snap.tmp"), data.join("snap")).expect("rename");
    fs::write(data.join("orphan"), b"synced data, unsynced name").expect("write");
    OpenOptions::new().write(true).open(data.join("orphan")).unwrap().sync_all().unwrap();
    assert_eq!(fs::read(data.join("snap")).unwrap(), b"new snapshot");
    let (_, changes, failed) = mount.control.lose_unsynced();
    assert!(changes >= 3, "{changes} directory changes undone");
    assert!(failed.is_empty(), "{failed:?}");
    let mut names: Vec<String> = fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["snap"]);
    assert_eq!(fs::read(data.join("snap")).unwrap(), b"old snapshot");
    mount.unmount().expect("unmount");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn with_one_journal_a_files_fsync_also_keeps_its_name() {
    if !fuse_usable() {
        return;
    }
    let (dir, mount) = mounted("journal", Commit::AnySync);
    let data = dir.join("data");
    fs::create_dir(data.join("member")).expect("mkdir");
    fs::write(data.join("member/wal"), b"entry").expect("write");
    OpenOptions::new().write(true).open(data.join("member/wal")).unwrap().sync_data().unwrap();
    fs::write(data.join("member/tmp"), b"never synced").expect("write");
    mount.control.lose_unsynced();
    assert_eq!(fs::read(data.join("member/wal")).unwrap(), b"entry");
    assert!(!data.join("member/tmp").exists());
    mount.unmount().expect("unmount");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn fsync_fails_with_eio_losing_the_unsynced_data_and_waits_when_delayed() {
    if !fuse_usable() {
        return;
    }
    let (dir, mount) = mounted("fsync-modes", Commit::AnySync);
    let path = dir.join("data/f");
    let mut file = OpenOptions::new().create_new(true).read(true).write(true).open(&path).unwrap();
    file.write_all(b"durable ").unwrap();
    file.sync_all().unwrap();
    file.write_all(b"doomed").unwrap();
    mount.control.set_fsync(FsyncMode::Fail);
    let err = file.sync_data().expect_err("an injected EIO");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    mount.control.set_fsync(FsyncMode::Delay(Duration::from_millis(300)));
    let started = Instant::now();
    file.sync_data().expect("a delayed fsync succeeds");
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    mount.control.set_fsync(FsyncMode::Normal);
    let counts = mount.control.counts();
    assert_eq!((counts.failed, counts.delayed), (1, 1), "{counts:?}");
    assert_eq!(
        fs::read(dir.join("backing/f")).unwrap(),
        b"durable ",
        "the write a failed fsync covered never reached the disk"
    );
    drop(file);
    mount.unmount().expect("unmount");
    let _ = fs::remove_dir_all(&dir);
}

/// A power cut while an fsync waits: the fsync never completes (EIO to its caller, nothing it
/// was writing reaches the disk), as the machine lost power before it returned. Without this a
/// process killed inside a slow fsync would still see it through (the kernel holds the killed
/// process until its FUSE request is answered) and no loss could hit what it covered.
#[test]
fn a_power_cut_during_a_slow_fsync_makes_nothing_durable() {
    if !fuse_usable() {
        return;
    }
    let (dir, mount) = mounted("cut-in-fsync", Commit::AnySync);
    let path = dir.join("data/f");
    let mut file = OpenOptions::new().create_new(true).read(true).write(true).open(&path).unwrap();
    file.write_all(b"durable ").unwrap();
    file.sync_all().unwrap();
    file.write_all(b"in flight").unwrap();
    mount.control.set_fsync(FsyncMode::Delay(Duration::from_millis(400)));
    let syncing = std::thread::spawn(move || file.sync_data());
    std::thread::sleep(Duration::from_millis(100));
    mount.control.cut_power();
    let err = syncing.join().unwrap().expect_err("an fsync the power cut never completes");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert_eq!(fs::read(dir.join("backing/f")).unwrap(), b"durable ");
    let (files, _, failed) = mount.control.lose_unsynced();
    assert_eq!((files, failed.len()), (1, 0), "{failed:?}");
    mount.control.set_fsync(FsyncMode::Normal);
    assert_eq!(fs::read(&path).unwrap(), b"durable ", "the restarted reader sees the loss");
    mount.unmount().expect("unmount");
    let _ = fs::remove_dir_all(&dir);
}

/// The mount points of the lazy file system under scratch directories of process `pid`.
fn mounts_of(pid: u32) -> Vec<String> {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let marker = format!("detcd-chaos-detcd-{pid}-");
    mounts
        .lines()
        .filter(|line| line.starts_with("detcd-lazyfs ") && line.contains(&marker))
        .map(String::from)
        .collect()
}

#[test]
fn register_on_real_detcd_under_kills_losing_unsynced_writes_passes_and_unmounts() {
    if !fuse_usable() {
        return;
    }
    let _one = serial();
    let out = out_dir("disk-detcd");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_detcd-chaos"));
    command
        .args(["run", "register", "--binary", "detcd", "--duration", "15s", "--seed", "1"])
        .args(["--faults", "kill,disk", "--binary-path"])
        .arg(detcd())
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("detcd-chaos runs");
    let pid = child.id();
    let mut seen_mounted = false;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) && !seen_mounted {
        seen_mounted = mounts_of(pid).len() == 3;
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().expect("detcd-chaos ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(seen_mounted, "the three members' disks were never mounted");
    assert_eq!(mounts_of(pid), Vec::<String>::new(), "mounts left behind");
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("linearizable (register model): ok"), "{stdout}");
    assert!(stdout.contains("liveness: ok"), "{stdout}");
    assert!(stdout.contains("kill infra") && stdout.contains("disk "), "{stdout}");
    assert!(stdout.contains("disk infra1: ") && stdout.contains("fsyncs ("), "{stdout}");
    let report = fs::read_to_string(out.join("register-detcd-1.json")).expect("report");
    assert!(report.contains("lost unsynced writes to"), "the kills' losses: {report}");
    let _ = fs::remove_dir_all(&out);
}

/// A member whose fsync failed exits (raft stopped for good), as etcd does, so the harness
/// restarts it from its disk; before it did, it stayed up serving nothing, and seed 4 (one failed
/// fsync on each member in turn) left no member serving: liveness failed.
#[test]
fn members_whose_fsync_failed_exit_and_come_back_so_the_cluster_lives() {
    if !fuse_usable() {
        return;
    }
    let _one = serial();
    let out = out_dir("disk-fsync-exit");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_detcd-chaos"))
        .args(["run", "register", "--binary", "detcd", "--members", "3", "--clients", "4"])
        .args(["--duration", "20000ms", "--seed", "4", "--faults", "kill,disk", "--binary-path"])
        .arg(detcd())
        .arg("--out")
        .arg(&out)
        .output()
        .expect("detcd-chaos runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("fail-fsync infra1") && stdout.contains("fail-fsync infra3"),
        "{stdout}"
    );
    assert!(stdout.contains("liveness: ok"), "{stdout}");
    let logs: String = fs::read_dir(out.join("register-detcd-4.logs"))
        .expect("member logs")
        .filter_map(|entry| fs::read_to_string(entry.ok()?.path()).ok())
        .collect();
    assert!(logs.contains("raft stopped for good"), "no member exited on its failed fsync");
    let _ = fs::remove_dir_all(&out);
}

/// `--fsync-delay` on one member under power cuts: every fsync of the chaos phase waits (the
/// summary counts them delayed), the member still restarts between cuts and serves, and detcd,
/// which acknowledges nothing before its fsync, passes: the control for the planted
/// `group-commit-overreach`, which `scripts/chaos-planted` catches with these knobs.
#[test]
fn register_on_one_detcd_with_slow_fsyncs_under_power_cuts_passes() {
    if !fuse_usable() {
        return;
    }
    let _one = serial();
    let out = out_dir("disk-slow-fsync");
    let args = [
        "register",
        "--binary",
        "detcd",
        "--members",
        "1",
        "--duration",
        "10s",
        "--seed",
        "2",
        "--faults",
        "kill,power",
        "--fsync-delay",
        "100ms",
    ];
    let output = common::chaos(&args, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("fsync-delay=100ms"), "{stdout}");
    assert!(stdout.contains("linearizable (register model): ok"), "{stdout}");
    let delayed = stdout
        .lines()
        .find_map(|line| line.strip_prefix("disk infra1: ")?.split(" delayed").next())
        .and_then(|head| head.rsplit(", ").next()?.parse::<u64>().ok());
    assert!(delayed.is_some_and(|n| n > 10), "few fsyncs delayed: {stdout}");
    let _ = fs::remove_dir_all(&out);
}
