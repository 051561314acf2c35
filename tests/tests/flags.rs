//! `detcd`'s command line: etcd's flags and environment variables; refusals are one line.

use detcd_tests::cluster::detcd_binary;
use std::process::Command;

#[test]
fn an_unsupported_flag_stops_start_up_with_one_line_naming_it() {
    let output =
        Command::new(detcd_binary()).args(["--discovery", "http://x"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr, "detcd: --discovery is not supported: discovery is not implemented\n");
}

#[test]
fn auth_flags_out_of_reach_stop_start_up_with_one_line_naming_them() {
    let refused = |args: &[&str]| {
        let output = Command::new(detcd_binary()).args(args).output().expect("runs");
        assert_eq!(output.status.code(), Some(1));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert_eq!(
        refused(&["--auth-token", "jwt,priv-key=b,sign-method=RS256"]),
        "detcd: --auth-token: cannot read priv-key file b: No such file or directory (os error 2)\n"
    );
    assert_eq!(
        refused(&["--auth-token", "jwt,sign-method=RS999"]),
        "detcd: --auth-token: unknown sign-method \"RS999\"\n"
    );
    assert_eq!(
        refused(&["--bcrypt-cost", "3"]),
        "detcd: --bcrypt-cost 3 is out of range [4, 31]\n"
    );
}

#[test]
fn flags_also_come_from_etcd_environment_variables() {
    let output =
        Command::new(detcd_binary()).env("ETCD_CLIENT_CERT_AUTH", "true").output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr, "detcd: --client-cert-auth needs --trusted-ca-file\n");
}

#[test]
fn a_name_missing_from_the_initial_cluster_is_refused() {
    let output = Command::new(detcd_binary())
        .args(["--name", "x", "--initial-cluster", "y=http://127.0.0.1:1"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--initial-cluster has no member \"x\""), "{stderr}");
}

#[test]
fn a_worker_thread_count_that_is_not_a_number_is_refused_in_one_line() {
    let output =
        Command::new(detcd_binary()).env("TOKIO_WORKER_THREADS", "two").output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr, "detcd: TOKIO_WORKER_THREADS must be a positive number, not \"two\"\n");
}

#[test]
fn a_planted_bug_is_refused_by_a_detcd_built_without_them() {
    let output = Command::new(detcd_binary())
        .env("DETCD_PLANTED_BUG", "torn-txn")
        .env("ETCD_DATA_DIR", "/nonexistent/never-created")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "detcd: DETCD_PLANTED_BUG=torn-txn needs a detcd built with the planted-bugs feature"
        ),
        "{stderr}"
    );
    let output =
        Command::new(detcd_binary()).env("DETCD_PLANTED_BUG", "nope").output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("detcd: DETCD_PLANTED_BUG: unknown planted bug 'nope'"), "{stderr}");
}
