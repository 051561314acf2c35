//! `detcd-bench` against a real 1-member `detcd`: every workload runs, its summary counts the
//! requests it was asked for with no errors, and the server's revision shows that exactly the
//! reported writes happened. Bad flags are refused with one line and exit status 2.

use detcd_core::api::RangeRequest;
use detcd_proto::client::GrpcClient;
use detcd_tests::cluster::Cluster;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `detcd-bench` binary, built once per test process (as `cluster` builds `detcd`).
fn bench_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| detcd_tests::binaries::build("detcd-bench", "detcd-bench"))
}

fn bench(args: &[&str]) -> Output {
    Command::new(bench_binary()).args(args).output().expect("detcd-bench runs")
}

/// One TSV summary line: workload, ok, errors, requests/s, p50, p99, p999 (ms).
struct Line {
    workload: String,
    ok: u64,
    errors: u64,
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
}

fn run_tsv(endpoint: &str, workload: &[&str], total: u64) -> Line {
    let total = total.to_string();
    let common = [
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
        "--total",
        &total,
        "--output",
        "tsv",
    ];
    let output = bench(&[workload, &common].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{workload:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fields: Vec<&str> = stdout.trim().split('\t').collect();
    assert_eq!(fields.len(), 7, "{stdout}");
    let number = |i: usize| fields[i].parse::<f64>().expect("a number");
    Line {
        workload: fields[0].to_string(),
        ok: fields[1].parse().expect("ok count"),
        errors: fields[2].parse().expect("error count"),
        requests_per_sec: number(3),
        p50_ms: number(4),
        p99_ms: number(5),
        p999_ms: number(6),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workload_runs_against_detcd_and_its_writes_are_exactly_the_reported_ones() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(1)).await.expect("cluster");
    let endpoint = cluster.nodes[0].endpoint();
    let runs = [
        (vec!["put"], 200),
        (vec!["range", "--consistency", "l"], 100),
        (vec!["range", "--consistency", "s"], 100),
        (vec!["txn"], 100),
        (vec!["watch"], 40),
    ];
    let mut writes = 0;
    for (workload, total) in runs {
        let endpoint = endpoint.clone();
        let line = tokio::task::spawn_blocking(move || run_tsv(&endpoint, &workload, total))
            .await
            .expect("bench");
        assert_eq!((line.ok, line.errors), (total, 0), "{}", line.workload);
        assert!(line.requests_per_sec > 0.0, "{}", line.workload);
        assert!(line.p50_ms > 0.0 && line.p50_ms <= line.p99_ms && line.p99_ms <= line.p999_ms);
        if matches!(line.workload.as_str(), "put" | "txn" | "watch") {
            writes += total as i64;
        }
    }

    let client = GrpcClient::new(&[endpoint.as_str()]).expect("client");
    let everything =
        RangeRequest { key: vec![0], range_end: vec![0], count_only: true, ..Default::default() };
    let reply = client.range(everything).await.expect("range");
    assert_eq!(reply.header.revision, 1 + writes, "one revision per reported write");
    assert!((1..=50).contains(&reply.count), "keys come from the key space: {}", reply.count);
    drop(cluster);
}

#[test]
fn text_output_is_the_etcd_benchmark_summary_and_bad_flags_exit_2() {
    let refused = bench(&["put", "--clients", "2", "--conns", "3"]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "detcd-bench: --conns must be between 1 and --clients (2)\n"
    );

    let cluster = Cluster::start(1);
    let output = bench(&["put", "--endpoints", &cluster.nodes[0].endpoint(), "--total", "20"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    for expected in ["Summary (put):", "Requests/sec:", "Requests:\t20 ok, 0 errors", "99.9% in "] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn a_cluster_that_is_not_there_gives_errors_and_exit_status_1() {
    let output = bench(&["put", "--endpoints", "127.0.0.1:1", "--total", "3", "--output", "tsv"]);
    assert_eq!(output.status.code(), Some(1));
    let fields: Vec<String> =
        String::from_utf8_lossy(&output.stdout).trim().split('\t').map(String::from).collect();
    assert_eq!((fields[1].as_str(), fields[2].as_str()), ("0", "3"), "{fields:?}");
}
