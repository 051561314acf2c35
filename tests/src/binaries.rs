//! Building the workspace's binaries that tests run as real processes.
//!
//! Tests start `detcd` and `detcd-bench` the way a user would, so the binary must be current:
//! each is built with the same cargo that runs the tests (debug profile, the workspace's target
//! directory), once per test process by the caller's `OnceLock`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `bin` of `package` and returns its path; panics (failing the test) if cargo fails.
pub fn build(package: &str, bin: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&workspace)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {bin} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("debug").join(bin)
}
