//! `detcd-go-bench`, the load generator on etcd's own Go client (`bench/go/`, what
//! `scripts/bench-vs-etcd --instrument go` measures with), against a real 1-member `detcd`: every
//! workload runs without errors, its line has detcd-bench's shape, and the server's revision shows
//! that exactly the reported writes happened. Bad flags are refused with one line and exit 2.
//!
//! It is built the way the script builds it: GOPATH mode over Debian's etcd sources
//! (`scripts/test` installs `golang-go` and `golang-etcd-server-dev` when missing).

use detcd_core::api::RangeRequest;
use detcd_proto::client::GrpcClient;
use detcd_tests::cluster::Cluster;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn go_bench_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let cache = std::fs::canonicalize(&target).expect("target directory").join("go-bench");
        let binary = cache.join("detcd-go-bench");
        let gopath = format!("{}:/usr/share/gocode", cache.join("gopath").display());
        let status = Command::new("go")
            .current_dir(&workspace)
            .env("GO111MODULE", "off")
            .env("GOFLAGS", "")
            .env("GOPATH", gopath)
            .env("GOCACHE", cache.join("gocache"))
            .args(["build", "-o"])
            .arg(&binary)
            .arg("./bench/go")
            .status()
            .expect("go runs");
        assert!(status.success(), "building detcd-go-bench failed");
        binary
    })
}

fn go_bench(args: &[&str]) -> Output {
    Command::new(go_bench_binary()).args(args).output().expect("detcd-go-bench runs")
}

/// One summary line: workload, ok, errors, requests/s, p50, p99, p999 (ms).
fn run_line(endpoint: &str, workload: &str) -> (u64, u64, Vec<f64>) {
    let output = go_bench(&[
        "--workload",
        workload,
        "--endpoints",
        endpoint,
        "--clients",
        "4",
        "--conns",
        "2",
        "--key-size",
        "4",
        "--key-space",
        "50",
        "--val-size",
        "16",
        "--duration",
        "500ms",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{workload} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fields: Vec<&str> = stdout.trim().split('\t').collect();
    assert_eq!(fields.len(), 7, "{stdout}");
    assert_eq!(fields[0], workload);
    let numbers = fields[3..].iter().map(|f| f.parse::<f64>().expect("a number")).collect();
    (fields[1].parse().expect("ok count"), fields[2].parse().expect("error count"), numbers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workload_runs_through_etcds_go_client_and_its_writes_are_exactly_the_reported_ones()
{
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(1)).await.expect("cluster");
    let endpoint = cluster.nodes[0].endpoint();
    let mut writes = 0;
    for workload in ["put", "range-l", "range-s", "txn", "watch"] {
        let endpoint = endpoint.clone();
        let (ok, errors, numbers) =
            tokio::task::spawn_blocking(move || run_line(&endpoint, workload)).await.expect("run");
        assert!(ok > 0 && errors == 0, "{workload}: {ok} ok, {errors} errors");
        let [rate, p50, p99, p999] = numbers[..] else { panic!("{numbers:?}") };
        assert!(rate > 0.0, "{workload}");
        assert!(p50 > 0.0 && p50 <= p99 && p99 <= p999, "{workload}: {numbers:?}");
        if matches!(workload, "put" | "txn" | "watch") {
            writes += ok as i64;
        }
    }

    let client = GrpcClient::new(&[endpoint.as_str()]).expect("client");
    let everything = RangeRequest { key: vec![0], range_end: vec![0], ..Default::default() };
    let reply = client.range(everything).await.expect("range");
    assert_eq!(reply.header.revision, 1 + writes, "one revision per reported write");
    assert!((1..=50).contains(&reply.count), "keys come from the key space: {}", reply.count);
    assert!(reply.kvs.iter().all(|kv| kv.value == vec![b'v'; 16]), "values are --val-size bytes");
    drop(cluster);
}

#[test]
fn bad_flags_are_refused_with_one_line_and_exit_2() {
    let refused = go_bench(&["--workload", "scan", "--key-size", "2", "--key-space", "1000"]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "detcd-go-bench: unknown --workload \"scan\" (put, range-l, range-s, txn, watch); \
         --key-size 2 is too small for 1000 keys\n"
    );
}

#[test]
fn a_cluster_that_is_not_there_fails_with_exit_status_1() {
    let output = go_bench(&["--endpoints", "127.0.0.1:1", "--duration", "100ms"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("detcd-go-bench: connecting to 127.0.0.1:1: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line, no client library logging: {stderr}");
}
