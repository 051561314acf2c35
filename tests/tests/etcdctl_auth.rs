//! etcdctl's `user`, `role` and `auth` commands, and what auth does to `put`/`get`, run against
//! real etcd 3.4 and against detcd, one member each; their outputs are compared after
//! `normalize`. The session covers etcd's errors (root missing, root role missing, unknown
//! users and roles, wrong passwords, no credentials, permission denied), prefix and from-key
//! permissions, and a user who loses a role. detcd hashes at bcrypt's minimum cost (the cost
//! changes no output).

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl;
use detcd_tests::normalize::normalize;
use detcd_tests::real_etcd::EtcdCluster;
use detcd_tests::servers::Servers;

/// The session, one etcdctl invocation per line (`--user` where a line names one).
const SCRIPT: &[&str] = &[
    "auth enable",
    "user add root:rootpw",
    "role add root",
    "user add root:again",
    "user add alice:alicepw",
    "user add cert-only --no-password",
    "user list",
    "role add reader",
    "role add reader",
    "role list",
    "role grant-permission reader read foo",
    "role grant-permission reader --prefix readwrite dir/",
    "role grant-permission reader --from-key write x",
    "role grant-permission nobody read foo",
    "role get reader",
    "role get nobody",
    "user grant-role alice reader",
    "user grant-role alice nobody",
    "user grant-role bob reader",
    "user get alice",
    "user get bob",
    "user get alice --detail",
    "user get root",
    "user grant-role root root",
    "auth enable",
    "put foo bar",
    "--user=root:wrong get foo",
    "--user=nobody:pw get foo",
    "--user=root:rootpw put foo bar",
    "--user=alice:alicepw get foo",
    "--user=alice:alicepw put foo baz",
    "--user=alice:alicepw put dir/a 1",
    "--user=alice:alicepw get dir/ --prefix",
    "--user=alice:alicepw put zebra 1",
    "--user=alice:alicepw get zebra",
    "--user=alice:alicepw user list",
    "--user=alice:alicepw user get alice",
    "--user=alice:alicepw role get reader",
    "--user=root:rootpw role revoke-permission reader foo",
    "--user=root:rootpw role revoke-permission reader foo",
    "--user=alice:alicepw get foo",
    "--user=root:rootpw user revoke-role alice reader",
    "--user=root:rootpw user revoke-role alice reader",
    "--user=alice:alicepw get dir/a",
    "--user=root:rootpw user revoke-role root root",
    "--user=root:rootpw user delete root",
    "--user=root:rootpw role delete root",
    "--user=root:rootpw user passwd alice --interactive=false",
    "--user=alice:newpw get dir/a",
    "--user=root:rootpw role delete reader",
    "--user=root:rootpw role list",
    "--user=root:rootpw user delete cert-only",
    "--user=root:rootpw user list",
    "--user=root:rootpw auth disable",
    "put foo after",
    "get foo",
    "user delete alice",
    "user delete alice",
];

/// What `user passwd --interactive=false` reads from stdin.
const NEW_PASSWORD: &str = "newpw\n";

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

/// etcdctl's failure line (the client's retry log lines before it carry timestamps and ids).
fn error_lines(stderr: &str) -> String {
    stderr.lines().filter(|line| !line.starts_with('{')).collect::<Vec<_>>().join("\n")
}

fn run_script(servers: &dyn Servers) -> Vec<Printed> {
    let endpoints = servers.endpoints().join(",");
    SCRIPT
        .iter()
        .map(|line| {
            let args: Vec<&str> = line.split_whitespace().collect();
            let run = etcdctl::run_with_stdin(&endpoints, &args, NEW_PASSWORD);
            let (stdout, stderr) = (normalize(&run.stdout), normalize(&error_lines(&run.stderr)));
            Printed { ok: run.ok, stdout, stderr }
        })
        .collect()
}

#[test]
fn a_user_role_and_auth_session_prints_the_same_on_real_etcd_and_detcd() {
    let etcd = std::thread::spawn(|| EtcdCluster::start(1));
    let mut detcd = Cluster::plan(1);
    detcd.nodes[0].args.push("--bcrypt-cost=4".into());
    detcd.start_planned();
    let etcd = etcd.join().expect("etcd starts");
    let on_etcd = run_script(&etcd);
    let on_detcd = run_script(&detcd);
    let mut differences = Vec::new();
    for ((line, etcd), detcd) in SCRIPT.iter().zip(&on_etcd).zip(&on_detcd) {
        if etcd != detcd {
            differences.push(format!("etcdctl {line}\n  etcd:  {etcd}\n  detcd: {detcd}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{} step(s) differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // The session says something, on detcd as on etcd: a few steps by what they must print.
    let at = |line: &str| &on_detcd[SCRIPT.iter().position(|l| *l == line).expect("a step")];
    assert_eq!(at("--user=root:rootpw put foo bar").stdout, "OK\n");
    assert_eq!(at("--user=alice:alicepw put dir/a 1").stdout, "OK\n");
    let denied = at("--user=alice:alicepw put foo baz");
    assert!(!denied.ok && denied.stderr.contains("etcdserver: permission denied"), "{denied}");
    let anonymous = at("put foo bar");
    assert!(anonymous.stderr.contains("etcdserver: user name is empty"), "{anonymous}");
}
