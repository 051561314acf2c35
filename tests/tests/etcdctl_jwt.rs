//! `--auth-token jwt,...`: etcdctl logs in and works under a JWT a member signed, on every member
//! of a three-member cluster, each holding the same key (generated here with rcgen, never
//! committed); permissions apply as with simple tokens; and a key file that cannot be read
//! stops start-up with one line naming the flag and the file.

use detcd_tests::cluster::{detcd_binary, Cluster};
use detcd_tests::etcdctl;
use std::process::Command;

#[test]
fn etcdctl_works_under_jwt_tokens_signed_with_an_es256_key() {
    let mut cluster = Cluster::plan(3);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a key");
    let private = cluster.scratch().join("jwt.key");
    let public = cluster.scratch().join("jwt.pub");
    std::fs::create_dir_all(cluster.scratch()).expect("scratch dir");
    std::fs::write(&private, key.serialize_pem()).expect("written");
    std::fs::write(&public, key.public_key_pem()).expect("written");
    let flag = format!(
        "--auth-token=jwt,pub-key={},priv-key={},sign-method=ES256,ttl=5m",
        public.display(),
        private.display()
    );
    for node in &mut cluster.nodes {
        node.args.push(flag.clone());
        node.args.push("--bcrypt-cost=4".into());
    }
    cluster.start_planned();
    let all = cluster.endpoints();
    for step in [
        "user add root:rootpw",
        "user grant-role root root",
        "user add alice:alicepw",
        "role add r",
        "role grant-permission r readwrite foo",
        "user grant-role alice r",
        "auth enable",
    ] {
        etcdctl::ok(&all, &step.split_whitespace().collect::<Vec<_>>());
    }
    for node in &cluster.nodes {
        let endpoint = node.endpoint();
        let put = etcdctl::run(&endpoint, &["--user=alice:alicepw", "put", "foo", "bar"]);
        assert!(put.ok && put.stdout == "OK\n", "{}: {put:?}\n{}", endpoint, cluster.logs());
        let get =
            etcdctl::ok(&endpoint, &["--user=alice:alicepw", "get", "foo", "--print-value-only"]);
        assert_eq!(get, "bar\n");
        let denied = etcdctl::run(&endpoint, &["--user=alice:alicepw", "put", "other", "x"]);
        assert!(!denied.ok && denied.stderr.contains("permission denied"), "{denied:?}");
        let anonymous = etcdctl::run(&endpoint, &["get", "foo"]);
        assert!(!anonymous.ok && anonymous.stderr.contains("user name is empty"), "{anonymous:?}");
    }
    let wrong = etcdctl::run(&all, &["--user=alice:nope", "get", "foo"]);
    assert!(!wrong.ok && wrong.stderr.contains("authentication failed"), "{wrong:?}");
    // A permission taken away applies to the next login at once.
    etcdctl::ok(&all, &["--user=root:rootpw", "role", "revoke-permission", "r", "foo"]);
    let revoked = etcdctl::run(&all, &["--user=alice:alicepw", "get", "foo"]);
    assert!(!revoked.ok && revoked.stderr.contains("permission denied"), "{revoked:?}");
}

#[test]
fn an_unreadable_jwt_key_stops_start_up_naming_the_flag_and_the_file() {
    let output = Command::new(detcd_binary())
        .args(["--auth-token", "jwt,priv-key=/nonexistent/jwt.key,sign-method=RS256"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("detcd: --auth-token: cannot read priv-key file /nonexistent/jwt.key"),
        "{stderr}"
    );
}
