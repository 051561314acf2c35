//! What the end-to-end tests of `detcd-chaos` share: one cluster at a time, the workspace's
//! `detcd`, a fresh output directory, running the command, and reading /proc and the run's
//! network namespaces.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

pub const ETCD: &str = "/usr/bin/etcd";

/// One cluster at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `detcd` binary of this workspace, built once per test process with the cargo running
/// the tests.
pub fn detcd() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&workspace)
            .args(["build", "--quiet", "-p", "detcd-server", "--bin", "detcd"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building detcd failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        target.join("debug").join("detcd")
    })
}

pub fn etcd_installed() -> bool {
    if Path::new(ETCD).is_file() {
        return true;
    }
    eprintln!("SKIPPED: {ETCD} not found; run scripts/test, which installs Debian's etcd-server");
    false
}

/// A fresh output directory for one run.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("detcd-chaos-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `detcd-chaos run <args>` with the detcd binary named, its output kept.
pub fn chaos(args: &[&str], out: &Path) -> Output {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_detcd-chaos"))
        .arg("run")
        .args(args)
        .arg("--binary-path")
        .arg(if args.contains(&"etcd") { Path::new(ETCD) } else { detcd() })
        .arg("--out")
        .arg(out)
        .output()
        .expect("detcd-chaos runs");
    eprintln!(
        "detcd-chaos run {} ({:.1}s, {}):\n{}{}",
        args.join(" "),
        started.elapsed().as_secs_f64(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The pids whose parent is `parent`, from /proc.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // `pid (comm) state ppid ...`; comm may hold spaces, so read after the last ')'.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent)
        })
        .collect()
}

pub fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    // A zombie is gone for every purpose but its parent's wait.
    !matches!(state, None | Some("Z"))
}

/// The names `ip netns list` shows that belong to run `pid`.
pub fn namespaces_of(pid: u32) -> Vec<String> {
    let output = Command::new("ip").args(["netns", "list"]).output().expect("ip runs");
    let prefix = format!("dchaos-{pid}-");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(&prefix))
        .map(String::from)
        .collect()
}
