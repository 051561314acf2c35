//! TLS end to end: real `detcd` processes with etcd's TLS flags, driven by etcd 3.4's `etcdctl`
//! (`--cacert/--cert/--key`) and `curl`, with certificates made by the test (`certs`).
//!
//! Covered: mutual TLS on the client port (a client without a certificate, or with one from
//! another CA, is refused); the JSON gateway and `/health` over TLS and `/metrics` on a plain
//! metrics listener; three members with client and peer TLS; a member whose peer certificate
//! another CA signed is kept out and the others log why; a renewed certificate served without a
//! restart; auto TLS; every bad-input start-up error as one line naming the flag and the file;
//! with auth on, a client certificate's common name acting as the user when no token is given.

use detcd_tests::certs::{Ca, Pair};
use detcd_tests::cluster::{detcd_binary, Cluster};
use detcd_tests::etcdctl::{self, Run};
use detcd_tests::scratch::{free_port, scratch_dir};
use std::process::Command;
use std::time::{Duration, Instant};

/// etcdctl's TLS flags for a client with `pair` trusting `ca`.
fn tls_args(ca: &str, pair: Option<&Pair>) -> Vec<String> {
    let mut args = vec![format!("--cacert={ca}")];
    if let Some(pair) = pair {
        args.push(format!("--cert={}", pair.cert));
        args.push(format!("--key={}", pair.key));
    }
    args
}

/// `etcdctl <tls> <args>` against `endpoints`.
fn ctl(endpoints: &str, tls: &[String], args: &[&str]) -> Run {
    let mut all: Vec<&str> = tls.iter().map(String::as_str).collect();
    all.extend_from_slice(args);
    etcdctl::run(endpoints, &all)
}

fn ctl_ok(endpoints: &str, tls: &[String], args: &[&str]) -> String {
    let run = ctl(endpoints, tls, args);
    assert!(run.ok, "etcdctl {args:?} failed:\n{}\n{}", run.stdout, run.stderr);
    run.stdout
}

/// How many of `endpoints` `etcdctl endpoint health` finds healthy (it reports on stderr).
fn healthy(endpoints: &str, tls: &[String]) -> usize {
    let run = ctl(endpoints, tls, &["endpoint", "health"]);
    assert!(run.ok, "endpoint health failed:\n{}\n{}", run.stdout, run.stderr);
    format!("{}{}", run.stdout, run.stderr).matches("is healthy").count()
}

/// The client-side flags of a member serving `pair`, requiring client certificates from `ca`.
fn client_flags(pair: &Pair, ca: &str) -> Vec<String> {
    vec![
        format!("--cert-file={}", pair.cert),
        format!("--key-file={}", pair.key),
        format!("--trusted-ca-file={ca}"),
        "--client-cert-auth".into(),
    ]
}

/// The peer-side flags of a member presenting `pair` and requiring peers' certificates from `ca`.
fn peer_flags(pair: &Pair, ca: &str) -> Vec<String> {
    vec![
        format!("--peer-cert-file={}", pair.cert),
        format!("--peer-key-file={}", pair.key),
        format!("--peer-trusted-ca-file={ca}"),
        "--peer-client-cert-auth".into(),
    ]
}

/// `curl` with the client's certificate; stdout, or the failure with stderr.
fn curl(args: &[&str]) -> Result<String, String> {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs (install curl)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)))
    }
}

#[test]
fn one_member_serves_etcdctl_over_mutual_tls_and_refuses_clients_without_a_good_certificate() {
    let mut cluster = Cluster::plan_https(1, true, false);
    let ca = Ca::new(cluster.scratch(), "ca");
    let stranger = Ca::new(cluster.scratch(), "stranger");
    let server = ca.leaf("server", "server");
    let client = ca.leaf("client", "alice");
    let forged = stranger.leaf("forged", "alice");
    let (metrics_port, tls_metrics_port) = (free_port(), free_port());
    cluster.nodes[0].args = client_flags(&server, &ca.cert());
    cluster.nodes[0].args.push(format!(
        "--listen-metrics-urls=http://127.0.0.1:{metrics_port},https://127.0.0.1:{tls_metrics_port}"
    ));
    cluster.start_planned();
    let url = cluster.nodes[0].client_url();
    let good = tls_args(&ca.cert(), Some(&client));

    ctl_ok(&url, &good, &["put", "greeting", "hello"]);
    assert_eq!(ctl_ok(&url, &good, &["get", "greeting"]), "greeting\nhello\n");
    assert_eq!(healthy(&url, &good), 1);

    let no_cert = ctl(&url, &tls_args(&ca.cert(), None), &["get", "greeting"]);
    assert!(!no_cert.ok, "a client without a certificate was served: {no_cert:?}");
    let wrong_ca = ctl(&url, &tls_args(&ca.cert(), Some(&forged)), &["get", "greeting"]);
    assert!(!wrong_ca.ok, "a certificate from another CA was accepted: {wrong_ca:?}");
    let plain = ctl(&cluster.nodes[0].endpoint(), &[], &["get", "greeting"]);
    assert!(!plain.ok, "plain gRPC was served on an https URL: {plain:?}");
    let log = cluster.nodes[0].log_text();
    assert!(log.contains("rejected TLS connection"), "{log}");

    // The JSON gateway and /health over TLS, with the client's certificate.
    let cert = ["--cacert", &ca.cert(), "--cert", &client.cert, "--key", &client.key];
    let health = curl(&[&cert[..], &[&format!("{url}/health")]].concat()).unwrap();
    assert_eq!(health, r#"{"health":"true"}"#);
    let range = curl(
        &[&cert[..], &["-d", r#"{"key":"Z3JlZXRpbmc="}"#, &format!("{url}/v3/kv/range")]].concat(),
    )
    .unwrap();
    assert!(range.contains(r#""value":"aGVsbG8=""#), "{range}");
    assert!(curl(&["--cacert", &ca.cert(), &format!("{url}/health")]).is_err());
    // /metrics on its own plain listener, as etcd's --listen-metrics-urls.
    let metrics = curl(&[&format!("http://127.0.0.1:{metrics_port}/metrics")]).unwrap();
    assert!(metrics.contains("etcd_server_has_leader 1"), "{metrics}");
    // An https metrics URL is served with the client side's TLS, client certificates included.
    let tls_metrics = format!("https://127.0.0.1:{tls_metrics_port}/metrics");
    let metrics = curl(&[&cert[..], &[tls_metrics.as_str()]].concat()).unwrap();
    assert!(metrics.contains("etcd_server_has_leader 1"), "{metrics}");
    assert!(curl(&["--cacert", &ca.cert(), &tls_metrics]).is_err());
}

#[test]
fn with_auth_on_a_client_certificates_common_name_is_the_user() {
    let mut cluster = Cluster::plan_https(1, true, false);
    let ca = Ca::new(cluster.scratch(), "ca");
    let server = ca.leaf("server", "server");
    let root = ca.leaf("root", "root");
    let alice = ca.leaf("alice", "alice");
    let mallory = ca.leaf("mallory", "mallory");
    cluster.nodes[0].args = client_flags(&server, &ca.cert());
    cluster.nodes[0].args.push("--bcrypt-cost=4".into());
    cluster.start_planned();
    let url = cluster.nodes[0].client_url();
    let as_root = tls_args(&ca.cert(), Some(&root));
    for step in [
        "user add root:rootpw",
        "user grant-role root root",
        "user add alice --no-password",
        "role add a",
        "role grant-permission a --prefix readwrite a/",
        "user grant-role alice a",
        "auth enable",
    ] {
        ctl_ok(&url, &as_root, &step.split_whitespace().collect::<Vec<_>>());
    }
    // No token: the certificate's name is the user, with that user's permissions.
    let as_alice = tls_args(&ca.cert(), Some(&alice));
    assert_eq!(ctl_ok(&url, &as_alice, &["put", "a/1", "x"]), "OK\n");
    let denied = ctl(&url, &as_alice, &["put", "b/1", "x"]);
    assert!(!denied.ok && denied.stderr.contains("permission denied"), "{denied:?}");
    ctl_ok(&url, &as_root, &["put", "b/1", "x"]);
    // A name the store does not know is refused.
    let stranger = ctl(&url, &tls_args(&ca.cert(), Some(&mallory)), &["get", "a/1"]);
    assert!(!stranger.ok && stranger.stderr.contains("permission denied"), "{stranger:?}");
    // A token takes precedence over the certificate (etcd's order).
    let with_user = [&as_alice[..], &["--user=root:rootpw".to_string()]].concat();
    ctl_ok(&url, &with_user, &["put", "b/2", "x"]);
}

/// Whether `openssl s_client` completes a handshake with `endpoint` given `options`.
fn openssl_connects(endpoint: &str, ca: &str, options: &[&str]) -> bool {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", endpoint, "-CAfile", ca, "-verify_return_error", "-brief"])
        .args(options)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl runs (install openssl)");
    let text = String::from_utf8_lossy(&output.stderr);
    output.status.success() && text.contains("CONNECTION ESTABLISHED")
}

#[test]
fn tls_versions_and_cipher_suites_are_the_ones_the_flags_allow() {
    let mut cluster = Cluster::plan_https(2, true, false);
    let ca = Ca::new(cluster.scratch(), "ca");
    let server = ca.leaf("server", "server");
    let files = vec![format!("--cert-file={}", server.cert), format!("--key-file={}", server.key)];
    // Two single-member clusters would need two tokens; two members of one cluster will do.
    cluster.nodes[0].args = [files.clone(), vec!["--tls-min-version=TLS1.3".into()]].concat();
    cluster.nodes[1].args = [
        files,
        vec![
            "--tls-max-version=TLS1.2".into(),
            "--cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into(),
        ],
    ]
    .concat();
    cluster.start_planned();
    let (only13, only12) = (cluster.nodes[0].endpoint(), cluster.nodes[1].endpoint());
    let ca_file = ca.cert();
    assert!(openssl_connects(&only13, &ca_file, &["-tls1_3"]));
    assert!(!openssl_connects(&only13, &ca_file, &["-tls1_2"]));
    assert!(!openssl_connects(&only12, &ca_file, &["-tls1_3"]));
    assert!(openssl_connects(
        &only12,
        &ca_file,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]
    ));
    assert!(!openssl_connects(
        &only12,
        &ca_file,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"]
    ));
    let tls = tls_args(&ca_file, None);
    for node in &cluster.nodes {
        ctl_ok(&node.client_url(), &tls, &["put", "k", "v"]);
    }
}

#[test]
fn three_members_with_client_and_peer_tls_serve_etcdctl() {
    let mut cluster = Cluster::plan_https(3, true, true);
    let ca = Ca::new(cluster.scratch(), "ca");
    let client = ca.leaf("client", "root");
    for i in 0..3 {
        let pair = ca.leaf(&format!("member{i}"), "etcd-peer");
        let mut args = client_flags(&pair, &ca.cert());
        args.extend(peer_flags(&pair, &ca.cert()));
        args.push("--peer-cert-allowed-cn=etcd-peer".into());
        cluster.nodes[i].args = args;
    }
    cluster.start_planned();
    let tls = tls_args(&ca.cert(), Some(&client));
    let urls: Vec<String> = cluster.nodes.iter().map(|n| n.client_url()).collect();
    ctl_ok(&urls[0], &tls, &["put", "k", "v"]);
    for url in &urls {
        assert_eq!(ctl_ok(url, &tls, &["get", "k"]), "k\nv\n");
    }
    let members = ctl_ok(&urls[1], &tls, &["member", "list"]);
    assert_eq!(members.matches("https://127.0.0.1:").count(), 6, "{members}");
    assert_eq!(healthy(&urls.join(","), &tls), 3);
}

#[test]
fn a_member_whose_peer_certificate_another_ca_signed_is_kept_out_and_the_others_say_why() {
    let mut cluster = Cluster::plan_https(3, true, true);
    let ca = Ca::new(cluster.scratch(), "ca");
    let other = Ca::new(cluster.scratch(), "other");
    let client = ca.leaf("client", "root");
    for i in 0..3 {
        let pair = ca.leaf(&format!("member{i}"), "member");
        let peer = if i == 2 { other.leaf("intruder", "member") } else { pair.clone() };
        let mut args = client_flags(&pair, &ca.cert());
        args.extend(peer_flags(&peer, &ca.cert()));
        args.push("--peer-cert-allowed-cn=member".into());
        cluster.nodes[i].args = args;
    }
    cluster.spawn_planned();
    cluster.nodes[0].wait_ready();
    cluster.nodes[1].wait_ready();
    let tls = tls_args(&ca.cert(), Some(&client));
    let url = cluster.nodes[0].client_url();
    ctl_ok(&url, &tls, &["put", "k", "v"]);
    assert_eq!(ctl_ok(&cluster.nodes[1].client_url(), &tls, &["get", "k"]), "k\nv\n");

    // The intruder never catches up, so it never serves clients; the members log why.
    let deadline = Instant::now() + Duration::from_secs(20);
    let said_why = |cluster: &Cluster| {
        cluster.nodes[..2].iter().any(|n| {
            let log = n.log_text();
            log.contains("rejected TLS connection") && log.contains("UnknownIssuer")
                || log.contains("TLS handshake with peer failed") && log.contains("UnknownIssuer")
        })
    };
    while !said_why(&cluster) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(said_why(&cluster), "no member said why:\n{}", cluster.logs());
    assert!(!cluster.nodes[2].log_text().contains("ready to serve client requests"));
    let intruder = ctl(&cluster.nodes[2].client_url(), &tls, &["get", "k"]);
    assert!(!intruder.ok, "the intruder answered: {intruder:?}");
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart() {
    let mut cluster = Cluster::plan_https(1, true, false);
    let first = Ca::new(cluster.scratch(), "first");
    let second = Ca::new(cluster.scratch(), "second");
    let served = first.leaf("server", "server");
    cluster.nodes[0].args =
        vec![format!("--cert-file={}", served.cert), format!("--key-file={}", served.key)];
    cluster.start_planned();
    let url = cluster.nodes[0].client_url();
    let (old_ca, new_ca) = (tls_args(&first.cert(), None), tls_args(&second.cert(), None));
    ctl_ok(&url, &old_ca, &["put", "k", "v"]);
    assert!(!ctl(&url, &new_ca, &["get", "k"]).ok);

    // Renew: the same files now hold a certificate the second CA signed.
    let renewed = second.leaf("renewed", "server");
    std::fs::copy(&renewed.cert, &served.cert).unwrap();
    std::fs::copy(&renewed.key, &served.key).unwrap();
    assert_eq!(ctl_ok(&url, &new_ca, &["get", "k"]), "k\nv\n");
    assert!(!ctl(&url, &old_ca, &["get", "k"]).ok, "the old certificate is still served");
    assert!(cluster.nodes[0].log_text().contains("reloaded TLS certificate"));
}

#[test]
fn auto_tls_serves_a_self_signed_certificate_to_clients_and_peers() {
    let mut cluster = Cluster::plan_https(3, true, true);
    for node in &mut cluster.nodes {
        node.args = vec!["--auto-tls".into(), "--peer-auto-tls".into()];
    }
    cluster.start_planned();
    // etcdctl 3.4 skips verification only with both flags (as against etcd's auto TLS).
    let insecure = vec!["--insecure-transport=false".into(), "--insecure-skip-tls-verify".into()];
    let url = cluster.nodes[2].client_url();
    ctl_ok(&url, &insecure, &["put", "k", "v"]);
    assert_eq!(ctl_ok(&cluster.nodes[0].client_url(), &insecure, &["get", "k"]), "k\nv\n");
    assert!(cluster.data_dir(0).join("fixtures/client/cert.pem").is_file());
    assert!(cluster.data_dir(0).join("fixtures/peer/key.pem").is_file());
}

/// detcd's exit code and stderr for `args` (it stops before binding anything it would keep).
fn start_up(args: &[String]) -> (Option<i32>, String) {
    let dir = scratch_dir("detcd-tls-bad-input");
    let mut command = Command::new(detcd_binary());
    command.arg(format!("--data-dir={}", dir.join("data").display()));
    for flag in ["--listen-client-urls", "--listen-peer-urls"] {
        if !args.iter().any(|arg| arg.starts_with(flag)) {
            command.arg(format!("{flag}=http://127.0.0.1:{}", free_port()));
        }
    }
    let output = command.args(args).output().expect("detcd runs");
    let _ = std::fs::remove_dir_all(&dir);
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn each_bad_input_is_one_start_up_error_naming_the_flag_and_the_file() {
    let dir = scratch_dir("detcd-tls-bad-files");
    let ca = Ca::new(&dir, "ca");
    let good = ca.leaf("good", "server");
    let other = ca.leaf("other", "server");
    let missing = ca.path("missing.crt");
    let directory = dir.to_string_lossy().into_owned();
    let cert = |c: &str, k: &str| vec![format!("--cert-file={c}"), format!("--key-file={k}")];
    let https = format!("--listen-client-urls=https://127.0.0.1:{}", free_port());
    let cases: Vec<(Vec<String>, String)> = vec![
        (cert(&missing, &good.key), format!("detcd: --cert-file {missing}: cannot read: ")),
        (cert(&good.cert, &directory), format!("detcd: --key-file {directory}: cannot read: ")),
        (
            cert(&good.cert, &other.key),
            format!("detcd: --key-file {} does not match --cert-file {}", other.key, good.cert),
        ),
        (
            [cert(&good.cert, &good.key), vec![format!("--trusted-ca-file={missing}")]].concat(),
            format!("detcd: --trusted-ca-file {missing}: cannot read: "),
        ),
        (
            vec![format!("--peer-cert-file={}", good.key), format!("--peer-key-file={}", good.key)],
            format!("detcd: --peer-cert-file {}: no PEM certificate in the file", good.key),
        ),
        (
            vec![https.clone()],
            format!("detcd: --listen-client-urls {}: https needs --cert-file", &https[21..]),
        ),
        (
            vec![format!("--listen-peer-urls=https://127.0.0.1:{}", free_port())],
            "detcd: --listen-peer-urls https://127.0.0.1:".into(),
        ),
        (
            vec!["--tls-min-version=TLS1.0".into()],
            "detcd: --tls-min-version TLS1.0: not supported".into(),
        ),
    ];
    for (args, expected) in cases {
        let (code, stderr) = start_up(&args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with(&expected), "{args:?}:\n{stderr}\nexpected: {expected}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
