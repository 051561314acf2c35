//! `--faults clock` end to end: a process started with a member's clock environment reads the
//! offset its file holds (libfaketime honours it), real detcd passes `register` while its
//! members' clocks jump and drift ahead, and etcd, whose clock libfaketime cannot move, is
//! refused in one line.
//!
//! Needs Debian's faketime (`scripts/test` installs it): without it each test says so and is
//! skipped.

mod common;

use common::{chaos, detcd, out_dir, serial};
use detcd_chaos::clock::{self, Clocks};
use std::process::Command;

fn faketime_installed() -> bool {
    match clock::library() {
        Ok(_) => true,
        Err(why) => {
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

/// Seconds since the epoch as `date` reads them in `environment`.
fn date_in(environment: Vec<(String, String)>) -> u64 {
    let output = Command::new("date").arg("+%s").envs(environment).output().expect("date runs");
    String::from_utf8_lossy(&output.stdout).trim().parse().expect("seconds")
}

#[test]
fn a_member_environment_reads_its_offset_and_the_others_keep_real_time() {
    let Ok(library) = clock::library() else {
        eprintln!("SKIPPED: libfaketime is missing");
        return;
    };
    let dir = out_dir("clock-files");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut clocks = Clocks::create(library, &dir, 2).expect("clock files");
    clocks.advance(1, 3_600_000).expect("advance");
    let real = date_in(Vec::new());
    let ahead = date_in(clocks.environment(1));
    let other = date_in(clocks.environment(0));
    assert!((3_590..3_610).contains(&(ahead - real)), "member 1 is {}s ahead", ahead - real);
    assert!(other.abs_diff(real) < 10, "member 0 is {}s off", other as i64 - real as i64);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn register_on_real_detcd_under_clock_jumps_and_drift_passes() {
    if !faketime_installed() {
        return;
    }
    let _one = serial();
    let _ = detcd();
    let out = out_dir("clock-detcd");
    let args =
        ["register", "--binary", "detcd", "--duration", "12s", "--seed", "4", "--faults", "clock"];
    let output = chaos(&args, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("linearizable (register model): ok"), "{stdout}");
    assert!(stdout.contains("liveness: ok"), "{stdout}");
    assert!(stdout.contains("clock jump") || stdout.contains("clock drift"), "{stdout}");
    let report = std::fs::read_to_string(out.join("register-detcd-4.json")).expect("report");
    assert!(report.contains("ms ahead)"), "the fired clock faults' offsets: {report}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn clock_faults_on_etcd_are_refused_in_one_line() {
    let out = out_dir("clock-etcd");
    let output = Command::new(env!("CARGO_BIN_EXE_detcd-chaos"))
        .args(["run", "register", "--binary", "etcd", "--faults", "kill,clock", "--out"])
        .arg(&out)
        .output()
        .expect("detcd-chaos runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("clock faults refused: etcd"), "{stderr}");
    assert!(!out.exists(), "a refused run wrote {}", out.display());
}
