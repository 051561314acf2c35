//! The seed guide's etcdctl session (and the flags around it) run against real etcd 3.4 and
//! against detcd, one member each; their outputs are compared after `normalize` (ids, ports,
//! timings, raft terms). Any remaining difference is listed with both outputs. Steps marked
//! `loose` show facts that legitimately differ between implementations (db size, raft term and
//! index) or a known difference reported for the server; they are printed, not judged.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl;
use detcd_tests::normalize::normalize;
use detcd_tests::real_etcd::EtcdCluster;
use detcd_tests::servers::Servers;

struct Step {
    /// etcdctl arguments; `{lease}` is this server's lease from the last grant, `{rev}` the
    /// header revision from the last JSON output.
    args: &'static str,
    stdin: &'static str,
    loose: bool,
}

const fn step(args: &'static str) -> Step {
    Step { args, stdin: "", loose: false }
}

const TXN: &str = "value(\"user1\") = \"bad\"\n\ndel user1\n\nput fail yes\n\n";

const SCRIPT: &[Step] = &[
    step("put key1 value1"),
    step("put key2 value2"),
    step("put key3 value3"),
    step("get key1"),
    step("get key --prefix"),
    step("get key --prefix --keys-only"),
    step("get key --prefix --limit=2"),
    step("get key --prefix --sort-by=MODIFY --order=DESCEND"),
    step("get --from-key key2"),
    step("get key --prefix --print-value-only"),
    step("get key1 --consistency=s"),
    step("get key1 -w json"),
    step("put key1 newer --prev-kv"),
    step("del key1"),
    step("del key --prefix --prev-kv"),
    step("get key --prefix"),
    step("del nothing"),
    step("lease grant 300"),
    step("put sample value --lease={lease}"),
    step("get sample"),
    step("get sample -w json"),
    step("lease timetolive {lease} --keys"),
    step("lease list"),
    step("lease keep-alive --once {lease}"),
    step("lease revoke {lease}"),
    step("get sample"),
    step("lease revoke {lease}"),
    step("lease timetolive {lease}"),
    step("put user1 bad"),
    Step { args: "txn", stdin: TXN, loose: false },
    Step { args: "txn", stdin: TXN, loose: false },
    step("get fail"),
    step("put foo v1"),
    step("put foo v2"),
    step("put foo v3 -w json"),
    step("get foo --rev={rev}"),
    step("compaction {rev} --physical"),
    step("get foo --rev=2"),
    step("get foo --rev=99999"),
    step("get foo"),
    step("compaction 2"),
    step("compaction 99999"),
    step("put nothing v --ignore-value"),
    step("put key4 v --ignore-lease"),
    step("lease keep-alive --once 1234"),
    step("lease timetolive 1234"),
    step("member list -w json"),
    step("endpoint health"),
    step("member list"),
    Step { args: "endpoint status", stdin: "", loose: true },
    step("alarm list"),
    step("defrag"),
];

/// What one step printed, normalised.
#[derive(PartialEq)]
struct Printed {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Printed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ok = if self.ok { "ok" } else { "FAILED" };
        write!(f, "[{ok}] stdout={:?} stderr={:?}", self.stdout, self.stderr)
    }
}

/// Runs the script against `servers`; one `Printed` per step.
fn run_script(servers: &dyn Servers) -> Vec<Printed> {
    let endpoints = servers.endpoints().join(",");
    let (mut lease, mut revision) = (String::new(), String::new());
    let mut printed = Vec::new();
    for step in SCRIPT {
        let args = step.args.replace("{lease}", &lease).replace("{rev}", &revision);
        let args: Vec<&str> = args.split_whitespace().collect();
        let run = etcdctl::run_with_stdin(&endpoints, &args, step.stdin);
        if let Some(granted) = run.stdout.strip_prefix("lease ") {
            if granted.contains("granted") {
                lease = granted.split_whitespace().next().unwrap_or_default().to_string();
            }
        }
        if let Some(at) = run.stdout.find("\"revision\":") {
            let digits = run.stdout[at + 11..].chars().take_while(char::is_ascii_digit);
            revision = digits.collect();
        }
        let (stdout, stderr) = (normalize(&run.stdout), normalize(&run.stderr));
        printed.push(Printed { ok: run.ok, stdout, stderr });
    }
    printed
}

#[test]
fn the_seed_guides_etcdctl_session_prints_the_same_on_real_etcd_and_detcd() {
    let etcd = std::thread::spawn(|| EtcdCluster::start(1));
    let detcd = Cluster::start(1);
    let etcd = etcd.join().expect("etcd starts");
    let on_etcd = run_script(&etcd);
    let on_detcd = run_script(&detcd);
    let mut differences = Vec::new();
    for ((step, etcd), detcd) in SCRIPT.iter().zip(&on_etcd).zip(&on_detcd) {
        if etcd == detcd {
            continue;
        }
        let kind = if step.loose { "differs (expected)" } else { "DIFFERS" };
        let text = format!("etcdctl {} {kind}\n  etcd:  {etcd}\n  detcd: {detcd}", step.args);
        eprintln!("{text}");
        if !step.loose {
            differences.push(text);
        }
    }
    assert!(
        differences.is_empty(),
        "{} step(s) differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
