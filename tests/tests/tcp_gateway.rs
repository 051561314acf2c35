//! `detcd gateway start`, etcd's TCP gateway, in front of a real 3-member `detcd`: `etcdctl`
//! reaches the cluster through it, an endpoint that refuses connections is skipped (and said so),
//! and one that comes back is used again after `--retry-delay`. Bad flags end it with one line.

use detcd_tests::background::Background;
use detcd_tests::cluster::{detcd_binary, Cluster};
use detcd_tests::etcdctl;
use detcd_tests::scratch::free_port;
use std::process::Command;
use std::time::{Duration, Instant};

/// The gateway, its log (stderr) read line by line.
fn gateway(endpoints: &str, listen: &str, retry_delay: &str) -> Background {
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!(
        "exec {} gateway --endpoints={endpoints} start --listen-addr {listen} --retry-delay {retry_delay} 2>&1",
        detcd_binary().display()
    ));
    Background::start(command)
}

/// Reads the gateway's log until a line contains `text`; fails the test after `limit`.
fn wait_for_line(gateway: &Background, text: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(line) = gateway.next_line(deadline - Instant::now()) {
            if line.contains(text) {
                return line;
            }
        }
    }
    panic!("the gateway did not log {text:?} within {limit:?}");
}

#[test]
fn etcdctl_reaches_the_cluster_through_the_gateway_past_an_endpoint_that_refuses() {
    let cluster = Cluster::start(3);
    let dead = format!("127.0.0.1:{}", free_port());
    let listen = format!("127.0.0.1:{}", free_port());
    let endpoints = format!("http://{dead},{}", cluster.endpoints());
    let gateway = gateway(&endpoints, &listen, "1m");
    let ready = wait_for_line(&gateway, "ready to proxy client requests", Duration::from_secs(10));
    assert!(ready.contains(&listen), "{ready}");

    // Each etcdctl run is a new connection, so the gateway's turn moves over every endpoint.
    for i in 0..4 {
        let value = format!("v{i}");
        assert_eq!(etcdctl::ok(&listen, &["put", "k", &value]), "OK\n");
        assert_eq!(etcdctl::ok(&listen, &["get", "k", "--print-value-only"]), format!("{value}\n"));
    }
    let deactivated = wait_for_line(&gateway, "deactivated endpoint", Duration::from_secs(1));
    assert!(deactivated.contains(&dead), "{deactivated}");
    // The key went to the cluster, not to the gateway: a member answers it directly.
    let direct = cluster.nodes[2].endpoint();
    assert_eq!(etcdctl::ok(&direct, &["get", "k", "--print-value-only"]), "v3\n");
}

#[test]
fn an_endpoint_that_comes_back_is_used_again_after_the_retry_delay() {
    let mut cluster = Cluster::start(1);
    let listen = format!("127.0.0.1:{}", free_port());
    let gateway = gateway(&cluster.nodes[0].endpoint(), &listen, "300ms");
    wait_for_line(&gateway, "ready to proxy client requests", Duration::from_secs(10));

    cluster.nodes[0].kill();
    assert!(!etcdctl::run(&listen, &["put", "k", "v"]).ok, "no endpoint is up");
    wait_for_line(&gateway, "deactivated endpoint", Duration::from_secs(5));

    cluster.restart(0);
    wait_for_line(&gateway, "activated endpoint", Duration::from_secs(5));
    assert_eq!(etcdctl::ok(&listen, &["put", "k", "v"]), "OK\n");
}

#[test]
fn bad_flags_end_the_gateway_with_one_line() {
    let run = |args: &[&str]| {
        let output = Command::new(detcd_binary()).args(args).output().expect("detcd runs");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, stderr) = run(&["gateway", "start", "--endpoints", "localhost"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "detcd: error parsing endpoint \"localhost\": want host:port or a URL with a port\n"
    );
    let (code, stderr) = run(&["gateway", "start", "--discovery-srv", "example.com"]);
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with("detcd: --discovery-srv is not supported"), "{stderr}");
    let (code, stderr) = run(&["gateway", "start", "--listen-addr", "256.0.0.1:1"]);
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with("detcd: --listen-addr 256.0.0.1:1: "), "{stderr}");
}
