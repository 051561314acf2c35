//! `detcd-chaos run --faults partition` end to end: real detcd and real etcd 3.4 clusters, each
//! member in its own network namespace, pass `register` while nftables rules cut the leader or
//! a minority off, bridge the cluster or cut it one way; the network log shows each partition
//! applied and healed and that its rules dropped packets; and a run SIGKILLed mid-partition
//! leaves namespaces that the next run's sweep removes; degraded links (`netem`) drop packets,
//! delay the rest (by tc netem or the NFQUEUE delayer) and the run passes; without root the
//! network faults are refused in one line.
//!
//! Namespaces need root (CAP_NET_ADMIN) and Debian's iproute2 and nftables (`scripts/test`
//! installs them): without them each test says so and is skipped.

mod common;

use common::{chaos, detcd, etcd_installed, namespaces_of, out_dir, serial};
use detcd_chaos::network;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn namespaces_usable() -> bool {
    match network::usable() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

/// The numbers `N` of the `heal: N packets dropped` lines of a network log.
fn heals(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|line| line.split_once(" heal: ")?.1.split_whitespace().next()?.parse().ok())
        .collect()
}

/// A passing register run on `binary` under partitions only, whose network log shows every
/// partition applied and then healed, and packets dropped by the rules.
fn register_passes_under_partitions(binary: &str) {
    let _one = serial();
    let out = out_dir(&format!("partition-{binary}"));
    let args = [
        "register",
        "--binary",
        binary,
        "--duration",
        "15s",
        "--seed",
        "5",
        "--faults",
        "partition",
    ];
    let output = chaos(&args, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("linearizable (register model): ok"), "{stdout}");
    assert!(stdout.contains("liveness: ok"), "{stdout}");
    assert!(stdout.contains("network log: "), "{stdout}");
    let fired = stdout.matches("partition ").count();
    assert!(fired >= 2, "fewer than two partitions fired: {stdout}");
    let stem = out.join(format!("register-{binary}-5"));
    let history = std::fs::read_to_string(stem.with_extension("history.jsonl")).expect("history");
    assert!(history.lines().count() > 10, "a near-empty history: {history}");
    let log = std::fs::read_to_string(stem.with_extension("logs").join("network.log"))
        .expect("the network log");
    let applied = log.lines().filter(|line| line.contains(" apply partition ")).count();
    let healed = heals(&log);
    assert_eq!(applied, fired, "{log}");
    assert!(healed.len() >= applied, "a partition without its heal:\n{log}");
    assert!(healed.iter().sum::<u64>() > 0, "the rules dropped nothing:\n{log}");
    // The members served from their namespaces' addresses, not loopback.
    assert!(log.contains("created bridge dcb"), "{log}");
    let report = std::fs::read_to_string(stem.with_extension("json")).expect("report");
    assert!(report.contains("\"shape\""), "the planned partitions' shapes: {report}");
    assert!(report.contains("packets dropped"), "the fired partitions' details: {report}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn register_on_real_detcd_under_partitions_passes() {
    if namespaces_usable() {
        register_passes_under_partitions("detcd");
    }
}

#[test]
fn register_on_real_etcd_under_partitions_passes() {
    if namespaces_usable() && etcd_installed() {
        register_passes_under_partitions("etcd");
    }
}

/// `netem` on real detcd: a member's link loses packets both ways and delays the rest (by
/// `tc netem`, or the NFQUEUE delayer where the kernel lacks it); the run passes, the rules
/// dropped packets and the delay is in the log.
#[test]
fn register_on_real_detcd_under_lossy_links_passes() {
    if !namespaces_usable() {
        return;
    }
    let _one = serial();
    let out = out_dir("netem-detcd");
    let args =
        ["register", "--binary", "detcd", "--duration", "10s", "--seed", "3", "--faults", "netem"];
    let output = chaos(&args, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("linearizable (register model): ok"), "{stdout}");
    assert!(stdout.contains("netem degrade"), "{stdout}");
    let log = std::fs::read_to_string(out.join("register-detcd-3.logs").join("network.log"))
        .expect("the network log");
    assert!(log.contains("numgen random mod 100 <"), "no loss rule: {log}");
    assert!(heals(&log).iter().sum::<u64>() > 0, "the loss rules dropped nothing:\n{log}");
    // The delay too: by tc netem, or else by the NFQUEUE delayer, which counts what it held
    // (tests/latency.rs measures that it holds packets for the delay).
    if log.contains("no latency (") {
        eprintln!("SKIPPED the delay: this machine has no way to delay a link:\n{log}");
    } else if log.contains("latency by nfqueue") {
        assert!(log.contains(" by nfqueue (delayer pid "), "no delayer started:\n{log}");
        assert!(log.contains(" packets delayed by nfqueue ("), "no delay counted:\n{log}");
        assert!(report_has_delay(&out), "the report's faults do not say nfqueue delayed packets");
    } else {
        assert!(log.contains(" by tc netem"), "no netem delay:\n{log}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Whether the run's report says a fired fault's delay was made by nfqueue.
fn report_has_delay(out: &Path) -> bool {
    let report = std::fs::read_to_string(out.join("register-detcd-3.json")).unwrap_or_default();
    report.contains("delay by nfqueue, ")
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

#[test]
fn a_killed_run_leaves_namespaces_that_the_next_sweep_removes_and_ctrl_c_leaves_none() {
    if !namespaces_usable() {
        return;
    }
    let _one = serial();
    let start = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_detcd-chaos"))
            .args(["run", "register", "--binary", "detcd", "--duration", "60s", "--seed", "2"])
            .args(["--faults", "partition,netem", "--binary-path"])
            .arg(detcd())
            .arg("--out")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("detcd-chaos starts")
    };
    let until_namespaces = |pid: u32| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while namespaces_of(pid).len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(namespaces_of(pid).len(), 3, "three namespaces for run {pid}");
        // Into the chaos phase.
        std::thread::sleep(Duration::from_secs(4));
    };

    // SIGKILL: no clean-up runs; the members die with the command (PDEATHSIG), the network
    // stays until a sweep sees its pid is gone.
    let out = out_dir("network-kill");
    let mut killed = start(&out);
    let pid = killed.id();
    until_namespaces(pid);
    let removed = network::sweep_leftovers();
    assert!(!removed.iter().any(|name| name.contains(&pid.to_string())), "{removed:?}");
    assert_eq!(namespaces_of(pid).len(), 3, "a sweep removed a live run's namespaces");
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    assert_eq!(namespaces_of(pid).len(), 3, "SIGKILL ran no clean-up");
    assert!(link_exists(&format!("dcb{pid}")));
    let removed = network::sweep_leftovers();
    assert!(removed.contains(&format!("dchaos-{pid}-0")), "{removed:?}");
    assert!(namespaces_of(pid).is_empty(), "the sweep left {:?}", namespaces_of(pid));
    assert!(!link_exists(&format!("dcb{pid}")), "the sweep left the bridge");
    // SIGKILL also left the killed run's scratch directory (member data and logs).
    let _ =
        std::fs::remove_dir_all(std::env::temp_dir().join(format!("detcd-chaos-detcd-{pid}-0")));

    // Ctrl-C: the run cleans up after itself.
    let mut interrupted = start(&out);
    let pid = interrupted.id();
    until_namespaces(pid);
    let status = Command::new("kill").args(["-INT", &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = interrupted.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "detcd-chaos did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(130));
    assert!(namespaces_of(pid).is_empty(), "Ctrl-C left {:?}", namespaces_of(pid));
    assert!(!link_exists(&format!("dcb{pid}")), "Ctrl-C left the bridge");
    let _ = std::fs::remove_dir_all(&out);
}

/// Without CAP_NET_ADMIN (here: as `nobody`, by `setpriv`) the network faults are refused in
/// one line before anything starts.
#[test]
fn without_root_network_faults_are_refused_in_one_line() {
    if !Path::new("/usr/bin/setpriv").is_file() || !namespaces_usable() {
        eprintln!("SKIPPED: needs root and util-linux's setpriv to drop to nobody");
        return;
    }
    let output = Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(env!("CARGO_BIN_EXE_detcd-chaos"))
        .args(["run", "register", "--binary", "detcd", "--faults", "kill,partition"])
        .args(["--binary-path", "/bin/true", "--out", "/nonexistent"])
        .output()
        .expect("setpriv runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("network faults (partition, netem) refused"), "{stderr}");
    assert!(stderr.contains("CAP_NET_ADMIN"), "{stderr}");
}
