//! Running the real `etcdctl` (etcd 3.4, `ETCDCTL_API=3`) against detcd.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Names another `etcdctl` to run (etcd 3.5.1's, say: `scripts/etcd-3.5`); unset, the one on
/// `PATH`.
pub const ETCDCTL_VARIABLE: &str = "DETCD_TEST_ETCDCTL";

/// Where `etcdctl` is; panics with the fix when it is not installed.
pub fn path() -> PathBuf {
    if let Some(chosen) = std::env::var_os(ETCDCTL_VARIABLE) {
        return PathBuf::from(chosen);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join("etcdctl")).find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("etcdctl not found on PATH: run scripts/test, which installs Debian's etcd-client")
    })
}

/// A command for `etcdctl --endpoints=<endpoints> <args>`.
pub fn command(endpoints: &str, args: &[&str]) -> Command {
    let mut command = Command::new(path());
    command
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .arg("--dial-timeout=3s")
        .arg("--command-timeout=10s")
        .args(args);
    command
}

/// What one `etcdctl` run printed and whether it succeeded.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `etcdctl` to completion, feeding `stdin` (for `txn`).
pub fn run_with_stdin(endpoints: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = command(endpoints, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("etcdctl starts");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("write etcdctl stdin");
    }
    child.wait_with_output().expect("etcdctl runs").into()
}

pub fn run(endpoints: &str, args: &[&str]) -> Run {
    run_with_stdin(endpoints, args, "")
}

/// Runs `etcdctl` and returns its stdout, failing the test with both streams if it fails.
pub fn ok(endpoints: &str, args: &[&str]) -> String {
    let run = run(endpoints, args);
    assert!(run.ok, "etcdctl {args:?} failed:\n{}\n{}", run.stdout, run.stderr);
    run.stdout
}
