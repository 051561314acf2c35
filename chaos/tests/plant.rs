//! `--plant` on a binary that cannot carry the bug: the run is refused or cannot be made, never
//! passed. A detcd built without the `planted-bugs` feature refuses `DETCD_PLANTED_BUG` at
//! start, so a run that believes it planted a bug cannot pass against a binary that has none
//! (`scripts/chaos-planted` runs the planted binary itself, which takes a build of its own).

mod common;

use common::{chaos, out_dir, serial};

#[test]
fn a_planted_bug_is_refused_for_etcd_and_for_a_detcd_built_without_planted_bugs() {
    let _one = serial();
    let out = out_dir("plant");
    let run = |args: &[&str]| {
        let output = chaos(args, &out);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    let (status, stderr) = run(&["register", "--binary", "etcd", "--plant", "torn-txn"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--plant plants a bug in detcd; etcd has none to plant"), "{stderr}");

    let (status, stderr) = run(&["register", "--binary", "detcd", "--plant", "nope"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("unknown planted bug 'nope'"), "{stderr}");

    let args = ["register", "--binary", "detcd", "--plant", "torn-txn", "--duration", "1s"];
    let (status, stderr) = run(&args);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("needs a detcd built with the planted-bugs feature"), "{stderr}");
    let _ = std::fs::remove_dir_all(&out);
}
