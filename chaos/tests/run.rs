//! `detcd-chaos run` end to end, as a user runs it: real detcd and real etcd 3.4 clusters under
//! SIGKILL and SIGSTOP faults pass `register` (a verdict, a non-empty history that
//! `detcd-sim check` re-checks as linearizable), real detcd passes `bank` and `lock`, the
//! negative control `lock-unfenced` is flagged on real etcd, and Ctrl-C leaves no member process
//! behind.
//!
//! The runs are serialised (one cluster at a time) so that each stays well inside its time on
//! a loaded two-core machine. Real-etcd runs are skipped, saying so, when Debian's etcd-server
//! is not installed (`scripts/test` installs it).

mod common;

use common::{alive, chaos, children, detcd, etcd_installed, out_dir, serial};
use detcd_check::cli::check_files;
use detcd_check::cli::ModelName;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A passing register run on `binary`, whose history is non-empty and re-checks as
/// linearizable with what `detcd-sim check --model register` runs.
fn register_passes(binary: &str) {
    let _one = serial();
    let out = out_dir(&format!("register-{binary}"));
    let output = chaos(&["register", "--binary", binary, "--duration", "10s", "--seed", "1"], &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("linearizable (register model): ok"), "{stdout}");
    assert!(stdout.contains("liveness: ok"), "{stdout}");
    assert!(
        stdout.contains("faults=[") && !stdout.contains("faults=[]"),
        "no fault fired: {stdout}"
    );
    let history = out.join(format!("register-{binary}-1.history.jsonl"));
    let text = std::fs::read_to_string(&history).expect("the history file");
    let ops = text.lines().count();
    assert!(ops > 10, "only {ops} operations in {}", history.display());
    let recheck = check_files(&[history.display().to_string()], ModelName::Register, None);
    assert_eq!(recheck.status, 0, "{}", recheck.lines.join("\n"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn register_on_real_detcd_under_kills_and_pauses_passes() {
    register_passes("detcd");
}

#[test]
fn register_on_real_etcd_under_kills_and_pauses_passes() {
    if etcd_installed() {
        register_passes("etcd");
    }
}

/// `scenario` on real detcd under kills and pauses: exit 0 and `verdict` printed; its output.
fn passes_on_detcd(scenario: &str, verdict: &str) -> String {
    let _one = serial();
    let out = out_dir(scenario);
    let output = chaos(&[scenario, "--binary", "detcd", "--duration", "10s", "--seed", "2"], &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(verdict), "{stdout}");
    assert!(stdout.contains("liveness: ok"), "{stdout}");
    let _ = std::fs::remove_dir_all(&out);
    stdout.into_owned()
}

#[test]
fn bank_on_real_detcd_under_kills_and_pauses_passes() {
    passes_on_detcd("bank", "bank (sum + linearizable): ok");
}

/// The positive control of `lock-unfenced`: the same frozen holders, writes fenced by the
/// mutex's is-owner compare, and nothing is lost.
#[test]
fn lock_on_real_detcd_under_kills_and_pauses_passes() {
    let stdout = passes_on_detcd("lock", "lock (fenced): ok");
    // The lock's keys were read back, so `expired_owner` was judged too.
    assert!(!stdout.contains(" 0 lock keys"), "{stdout}");
}

/// The negative control: holders frozen past their session's TTL write without a fence, and
/// the lock checker must see the lost update on etcd itself (Jepsen's finding). No process
/// faults: a leader change renews every lease (etcd's lessor promotion), which would let a
/// frozen holder's lease survive and hide the race this run is about.
#[test]
fn lock_unfenced_on_real_etcd_is_flagged() {
    if !etcd_installed() {
        return;
    }
    let _one = serial();
    let out = out_dir("lock-unfenced");
    let args = [
        "lock-unfenced",
        "--binary",
        "etcd",
        "--duration",
        "10s",
        "--seed",
        "1",
        "--faults",
        "none",
    ];
    let output = chaos(&args, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("lock (unfenced): VIOLATED lost_update"), "{stdout}");
    assert!(stdout.contains("FAILED; run again with: detcd-chaos run lock-unfenced"), "{stdout}");
    // Its history, judged again, gives the same verdict: what `detcd-chaos check` is for.
    let history = out.join("lock-unfenced-etcd-1.history.jsonl");
    let again = Command::new(env!("CARGO_BIN_EXE_detcd-chaos"))
        .arg("check")
        .arg("lock-unfenced")
        .arg(&history)
        .output()
        .expect("detcd-chaos check runs");
    let rejudged = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{rejudged}");
    assert!(rejudged.contains("lock (unfenced): VIOLATED lost_update"), "{rejudged}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn check_refuses_a_history_it_cannot_read_and_says_where() {
    let dir = out_dir("check-bad-history");
    std::fs::create_dir_all(&dir).expect("scratch");
    let garbage = dir.join("garbage.history.jsonl");
    std::fs::write(&garbage, "{\"client\": 1}\nnot json\n").expect("write");
    for (scenario, path, says) in [
        ("register", garbage.clone(), "line 1: not an operation"),
        ("register", dir.join("missing.jsonl"), "cannot read"),
        ("no-such-scenario", garbage.clone(), "unknown scenario"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_detcd-chaos"))
            .arg("check")
            .arg(scenario)
            .arg(&path)
            .output()
            .expect("detcd-chaos check runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{scenario} {}: {stderr}", path.display());
        assert!(stderr.contains(says), "{scenario} {}: {stderr}", path.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_member_or_directory_behind() {
    let _one = serial();
    let out = out_dir("interrupt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_detcd-chaos"))
        .args(["run", "register", "--binary", "detcd", "--duration", "60s", "--seed", "2"])
        .arg("--binary-path")
        .arg(detcd())
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("detcd-chaos starts");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut members = Vec::new();
    while members.len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        members = children(pid);
    }
    assert_eq!(members.len(), 3, "three members should run under detcd-chaos");
    // Into the chaos phase, then Ctrl-C.
    std::thread::sleep(Duration::from_secs(3));
    let status = Command::new("kill").args(["-INT", &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "detcd-chaos did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr);
    assert_eq!(exit.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let left: Vec<u32> = members.into_iter().filter(|&m| alive(m)).collect();
    assert!(left.is_empty(), "member processes left behind: {left:?}");
    let scratch = std::env::temp_dir().join(format!("detcd-chaos-detcd-{pid}-0"));
    assert!(!scratch.exists(), "{} left behind", scratch.display());
    let _ = std::fs::remove_dir_all(&out);
}
