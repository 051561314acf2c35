//! Snapshots end to end: `etcdctl snapshot save` downloads a member's state from `detcd`,
//! `detcd snapshot status` reads it, and `detcd snapshot restore` makes a data directory that a
//! new cluster starts from with the snapshot's keys. The same file is an etcd database: etcd's
//! own `etcdctl snapshot status` reads it and `etcdctl snapshot restore` makes a data directory
//! real etcd 3.4 starts from with the keys, their history and the leases.

use detcd_tests::cluster::{detcd_binary, Cluster};
use detcd_tests::etcdctl::{self, ok};
use detcd_tests::real_etcd::EtcdCluster;
use std::process::Command;

/// `detcd snapshot <args>`: (success, stdout, stderr).
fn detcd_snapshot(args: &[&str]) -> (bool, String, String) {
    let output =
        Command::new(detcd_binary()).arg("snapshot").args(args).output().expect("detcd runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// `detcd snapshot restore` of `file` into `data_dir` for the first member of the planned
/// cluster `target`: (success, stdout, stderr).
fn detcd_restore(target: &Cluster, file: &str, data_dir: &str) -> (bool, String, String) {
    let (name, peer_url) = (target.nodes[0].name.clone(), target.peer_url(0));
    detcd_snapshot(&[
        "restore",
        file,
        "--name",
        &name,
        "--data-dir",
        data_dir,
        "--initial-cluster",
        &target.initial_cluster_flag(),
        "--initial-cluster-token",
        target.token(),
        "--initial-advertise-peer-urls",
        &peer_url,
    ])
}

#[test]
fn save_status_restore_and_start_from_the_restored_data_dir() {
    let source = Cluster::start(1);
    let ep = source.nodes[0].endpoint();
    for (key, value) in [("a", "1"), ("b", "2"), ("a", "3")] {
        ok(&ep, &["put", key, value]);
    }
    let file = source.scratch().join("saved.db");
    let file = file.to_str().expect("utf-8 path");
    let saved = ok(&ep, &["snapshot", "save", file]);
    assert!(saved.contains(&format!("Snapshot saved at {file}")), "{saved}");

    let (status_ok, json, err) = detcd_snapshot(&["status", file, "-w", "json"]);
    assert!(status_ok, "{err}");
    let size = std::fs::metadata(file).expect("saved file").len();
    assert!(json.contains("\"revision\":4,\"totalKey\":2,"), "{json}");
    assert!(json.ends_with(&format!("\"totalSize\":{size}}}\n")), "{json}");
    let (_, table, _) = detcd_snapshot(&["status", file, "-w", "table"]);
    assert!(table.contains("|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |"), "{table}");
    // The snapshot's hash is the key space's hash at its revision, as HashKV reports it.
    let (_, simple, _) = detcd_snapshot(&["status", file]);
    let hash = simple.split(", ").next().expect("hash").to_string();
    let hashkv = ok(&ep, &["endpoint", "hashkv", "-w", "json"]);
    let decimal = u32::from_str_radix(&hash, 16).expect("hex hash");
    assert!(hashkv.contains(&format!("\"hash\":{decimal}")), "{hash} vs {hashkv}");

    let mut damaged = std::fs::read(file).expect("read");
    damaged[0] ^= 0xff;
    let damaged_file = source.scratch().join("damaged.db");
    std::fs::write(&damaged_file, damaged).expect("write");
    let (refused, _, why) = detcd_snapshot(&["status", damaged_file.to_str().unwrap()]);
    assert!(!refused && why.contains("sha256"), "{why}");

    let mut target = Cluster::plan(1);
    let data_dir = target.data_dir(0).to_str().expect("utf-8").to_string();
    let restore = |dir: &str| detcd_restore(&target, file, dir);
    let (restored, out, err) = restore(&data_dir);
    assert!(restored, "{out}{err}");
    let (again, _, why) = restore(&data_dir);
    assert!(!again && why.contains("exists"), "{why}");

    target.start_planned();
    let restored_ep = target.nodes[0].endpoint();
    assert_eq!(ok(&restored_ep, &["get", "a"]), "a\n3\n");
    assert_eq!(ok(&restored_ep, &["get", "b"]), "b\n2\n");
    assert_eq!(ok(&restored_ep, &["put", "c", "new"]), "OK\n");
    let revision = ok(&restored_ep, &["get", "c", "-w", "json"]);
    assert!(revision.contains("\"revision\":5"), "the restored cluster continues at 5: {revision}");
}

#[test]
fn restore_refuses_a_member_missing_from_initial_cluster() {
    let (ok, _, why) = detcd_snapshot(&[
        "restore",
        "/nonexistent.db",
        "--name",
        "x",
        "--data-dir",
        "/tmp/never-created",
        "--initial-cluster",
        "y=http://127.0.0.1:1",
        "--initial-advertise-peer-urls",
        "http://127.0.0.1:1",
    ]);
    assert!(!ok && why.contains("no member \"x\""), "{why}");
}

#[test]
fn a_detcd_snapshot_is_an_etcd_database_real_etcd_starts_from() {
    let source = Cluster::start(1);
    let ep = source.nodes[0].endpoint();
    ok(&ep, &["put", "a", "1"]);
    ok(&ep, &["put", "b", "2"]);
    let lease = ok(&ep, &["lease", "grant", "600"]);
    let lease = lease.split_whitespace().nth(1).expect("lease id").to_string();
    ok(&ep, &["put", "c", "3", "--lease", &lease]);
    ok(&ep, &["del", "a"]);
    ok(&ep, &["compact", "3"]);
    for i in 0..300 {
        ok(&ep, &["put", &format!("k{i:03}"), &"x".repeat(200)]);
    }
    let file = source.scratch().join("to-etcd.db");
    let file = file.to_str().expect("utf-8 path");
    ok(&ep, &["snapshot", "save", file]);

    // etcd's tool opens it as a bbolt database and checks every page: revision 305 is the
    // newest revision key in the `key` bucket.
    let status = etcdctl::run("", &["snapshot", "status", file, "-w", "json"]);
    assert!(status.ok, "{}", status.stderr);
    assert!(status.stdout.contains("\"revision\":305,"), "{}", status.stdout);

    let mut etcd = EtcdCluster::start(1);
    restore_into_etcd(&mut etcd, file);
    etcd.restart(0);
    let etcd_ep = etcd.members[0].endpoint();
    assert_eq!(ok(&etcd_ep, &["get", "b"]), "b\n2\n");
    assert_eq!(ok(&etcd_ep, &["get", "a"]), "");
    assert_eq!(ok(&etcd_ep, &["get", "k299", "--print-value-only"]).trim(), "x".repeat(200));
    // History and the compaction point came along: c as it was at revision 4, a compacted away.
    let c = ok(&etcd_ep, &["get", "c", "--rev", "4", "-w", "json"]);
    assert!(c.contains("\"create_revision\":4,\"mod_revision\":4,\"version\":1"), "{c}");
    let compacted = etcdctl::run(&etcd_ep, &["get", "a", "--rev", "2"]);
    assert!(
        compacted.stderr.contains("required revision has been compacted"),
        "{}",
        compacted.stderr
    );
    // The lease is there, with its TTL, and c is attached to it.
    let leases = ok(&etcd_ep, &["lease", "list"]);
    assert!(leases.contains(&lease), "{leases}");
    let keys = ok(&etcd_ep, &["lease", "timetolive", &lease, "--keys"]);
    assert!(
        keys.contains("granted with TTL(600s)") && keys.contains("attached keys([c])"),
        "{keys}"
    );
}

/// Replaces the data of `etcd`'s only member with `snapshot`, restored by etcd's own
/// `etcdctl snapshot restore` (the member stays stopped; `restart` starts it on the result).
fn restore_into_etcd(etcd: &mut EtcdCluster, snapshot: &str) {
    etcd.kill(0);
    let member = &etcd.members[0];
    let data_dir = etcd.data_dir().join(format!("{}.etcd", member.name));
    std::fs::remove_dir_all(&data_dir).expect("remove the member's data dir");
    let peer_url = format!("http://127.0.0.1:{}", member.peer_port);
    let restored = etcdctl::run(
        "",
        &[
            "snapshot",
            "restore",
            snapshot,
            "--name",
            &member.name,
            "--data-dir",
            data_dir.to_str().expect("utf-8"),
            "--initial-cluster",
            &format!("{}={peer_url}", member.name),
            "--initial-advertise-peer-urls",
            &peer_url,
            "--initial-cluster-token",
            "real-etcd",
        ],
    );
    assert!(restored.ok, "{}", restored.stderr);
}

/// What a client sees of a key space: every key with its revisions, version and lease, the
/// store's revision, whether revision 2 is compacted, and the leases with their TTLs and keys.
fn picture(ep: &str) -> String {
    let all = ok(ep, &["get", "", "--prefix", "-w", "json"]);
    let revision = all.split("\"revision\":").nth(1).and_then(|r| r.split([',', '}']).next());
    let kvs = all.find("\"kvs\"").map_or("", |at| &all[at..]);
    let compacted = etcdctl::run(ep, &["get", "a", "--rev", "2"]).stderr.contains("compacted");
    let mut leases = String::new();
    for id in ok(ep, &["lease", "list"]).lines().skip(1) {
        let ttl = ok(ep, &["lease", "timetolive", id, "--keys"]);
        // "granted with TTL(900s), remaining(899s), attached keys([c])": all but the clock.
        let granted = ttl.split("granted with ").nth(1).unwrap_or("").trim();
        let kept: Vec<&str> =
            granted.split(", ").filter(|part| !part.starts_with("remaining(")).collect();
        leases.push_str(&format!("{id} {}\n", kept.join(", ")));
    }
    format!("revision {revision:?}\ncompacted {compacted}\n{kvs}\n{leases}")
}

#[test]
fn a_key_space_goes_from_etcd_to_detcd_and_back_unchanged() {
    // etcd first: history, a lease with a key, a delete and a compaction.
    let mut etcd = EtcdCluster::start(1);
    let etcd_ep = etcd.members[0].endpoint();
    for (key, value) in [("a", "1"), ("b", "2"), ("a", "3"), ("d", "4")] {
        ok(&etcd_ep, &["put", key, value]);
    }
    let lease = ok(&etcd_ep, &["lease", "grant", "900"]);
    let lease = lease.split_whitespace().nth(1).expect("lease id").to_string();
    ok(&etcd_ep, &["put", "c", "leased", "--lease", &lease]);
    ok(&etcd_ep, &["del", "d"]);
    ok(&etcd_ep, &["compact", "4"]);
    ok(&etcd_ep, &["put", "b", "5"]);
    let original = picture(&etcd_ep);
    assert!(original.contains("compacted true") && original.contains("TTL(900s)"), "{original}");
    // Into detcd (the same keys, revisions, compaction point and leases) and back into etcd.
    let (in_detcd, back_in_etcd) = through_detcd_and_back(&mut etcd, "kv", &[], picture);
    assert_eq!(in_detcd, original);
    assert_eq!(back_in_etcd, original);
}

/// Takes `etcd`'s snapshot, restores it into a new one-member detcd, and detcd's own snapshot
/// back into `etcd` (snapshots saved with `flags`, etcdctl's credentials say); answers what
/// `picture` shows on detcd, then on etcd.
fn through_detcd_and_back(
    etcd: &mut EtcdCluster,
    name: &str,
    flags: &[&str],
    picture: fn(&str) -> String,
) -> (String, String) {
    let scratch = etcd.data_dir().to_path_buf();
    let from_etcd = scratch.join(format!("{name}-from-etcd.db"));
    let from_etcd = from_etcd.to_str().expect("utf-8");
    ok(&etcd.members[0].endpoint(), &[flags, &["snapshot", "save", from_etcd]].concat());

    let mut target = Cluster::plan(1);
    let data_dir = target.data_dir(0).to_str().expect("utf-8").to_string();
    let (restored, out, err) = detcd_restore(&target, from_etcd, &data_dir);
    assert!(restored, "{out}{err}");
    target.start_planned();
    let detcd_ep = target.nodes[0].endpoint();
    let in_detcd = picture(&detcd_ep);

    let from_detcd = scratch.join(format!("{name}-from-detcd.db"));
    let from_detcd = from_detcd.to_str().expect("utf-8");
    ok(&detcd_ep, &[flags, &["snapshot", "save", from_detcd]].concat());
    restore_into_etcd(etcd, from_detcd);
    etcd.restart(0);
    (in_detcd, picture(&etcd.members[0].endpoint()))
}

/// What a client sees of an auth store: users, roles, a role's permissions and a user's roles (as
/// root), and what the user `u` may do.
fn auth_picture(ep: &str) -> String {
    let root = ["--user", "root:rootpw"];
    let as_root = |args: &[&str]| ok(ep, &[&root[..], args].concat());
    let read = etcdctl::run(ep, &["--user", "u:upw", "get", "a", "--print-value-only"]);
    let write = etcdctl::run(ep, &["--user", "u:upw", "put", "b", "x"]);
    let wrong = etcdctl::run(ep, &["--user", "u:nope", "get", "a"]);
    format!(
        "{}{}{}{}read {:?} {}\nwrite {}\nwrong password {}\n",
        as_root(&["user", "list"]),
        as_root(&["role", "list"]),
        as_root(&["role", "get", "r"]),
        as_root(&["user", "get", "u"]),
        read.ok,
        read.stdout.trim(),
        write.stderr.contains("permission denied"),
        wrong.stderr.contains("authentication failed"),
    )
}

#[test]
fn an_auth_store_goes_from_etcd_to_detcd_and_back_unchanged() {
    let mut etcd = EtcdCluster::start(1);
    let etcd_ep = etcd.members[0].endpoint();
    ok(&etcd_ep, &["put", "a", "1"]);
    for step in [
        &["user", "add", "root:rootpw"][..],
        &["role", "add", "root"],
        &["user", "grant-role", "root", "root"],
        &["role", "add", "r"],
        &["role", "grant-permission", "r", "readwrite", "a"],
        &["role", "grant-permission", "r", "read", "p", "--prefix"],
        &["user", "add", "u:upw"],
        &["user", "grant-role", "u", "r"],
        &["auth", "enable"],
    ] {
        ok(&etcd_ep, step);
    }
    let original = auth_picture(&etcd_ep);
    assert!(original.contains("read true 1\nwrite true\nwrong password true"), "{original}");
    let root = ["--user", "root:rootpw"];
    let (in_detcd, back_in_etcd) = through_detcd_and_back(&mut etcd, "auth", &root, auth_picture);
    assert_eq!(in_detcd, original);
    assert_eq!(back_in_etcd, original);
}
