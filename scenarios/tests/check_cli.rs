//! Runs the built `detcd-sim check` binary on the checker's example histories.

use std::process::Command;

fn testdata(name: &str) -> String {
    format!("{}/../check/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn detcd_sim(args: &[&str]) -> (String, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_detcd-sim")).args(args).output().expect("runs");
    (String::from_utf8_lossy(&output.stdout).into_owned(), output.status.code().unwrap_or(-1))
}

#[test]
fn check_prints_one_line_per_file_and_fails_on_a_violation() {
    let ok = testdata("register-ok.jsonl");
    let bad = testdata("register-bad.edn");
    let (stdout, status) = detcd_sim(&["check", &ok, &bad, "--model", "register"]);
    assert_eq!(status, 1, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with(&format!("{ok}: linearizable (6 ops, ")), "{stdout}");
    assert!(lines[1].starts_with(&format!("{bad}: not linearizable (3 ops, ")), "{stdout}");
    let (stdout, status) =
        detcd_sim(&["check", &testdata("etcd-ok.jsonl"), "--model", "etcd", "--budget-ms", "5000"]);
    assert_eq!(status, 0, "{stdout}");
}

#[test]
fn check_has_help_and_rejects_unknown_models() {
    let (stdout, status) = detcd_sim(&["check", "--help"]);
    assert_eq!(status, 0);
    assert!(stdout.contains("--model"), "{stdout}");
    let (_, status) = detcd_sim(&["check", &testdata("register-ok.jsonl"), "--model", "queue"]);
    assert_ne!(status, 0);
}
