//! Crash safety: a member SIGKILLed in the middle of a write load loses no acknowledged write.
//!
//! A writer puts `w/<n>` one at a time through etcdctl (which fails over between endpoints) and
//! records every put that answered OK. Meanwhile a member is killed and restarted on its data
//! directory. Afterwards every member must hold every acknowledged key.

use detcd_tests::cluster::Cluster;
use detcd_tests::etcdctl::{self, ok};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Puts `w/<n>` until `stop`; returns the acknowledged keys.
fn write_until(endpoints: String, stop: Arc<AtomicBool>) -> thread::JoinHandle<BTreeSet<String>> {
    thread::spawn(move || {
        let mut acknowledged = BTreeSet::new();
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let key = format!("w/{n:06}");
            if etcdctl::run(&endpoints, &["put", &key, "x"]).ok {
                acknowledged.insert(key);
            }
            n += 1;
        }
        acknowledged
    })
}

fn keys_on(endpoint: &str) -> BTreeSet<String> {
    let out = ok(endpoint, &["get", "w/", "--prefix", "--keys-only"]);
    out.lines().filter(|l| !l.is_empty()).map(String::from).collect()
}

fn check_all_present(cluster: &Cluster, acknowledged: &BTreeSet<String>) {
    assert!(acknowledged.len() > 10, "the writer made too little progress:\n{}", cluster.logs());
    for node in &cluster.nodes {
        let held = keys_on(&node.endpoint());
        let lost: Vec<&String> = acknowledged.difference(&held).collect();
        assert!(lost.is_empty(), "{} lost acknowledged writes {lost:?}", node.name);
    }
}

#[test]
fn a_single_member_killed_mid_load_keeps_every_acknowledged_write() {
    let mut cluster = Cluster::start(1);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = write_until(cluster.endpoints(), stop.clone());
    thread::sleep(Duration::from_secs(2));
    cluster.nodes[0].kill();
    thread::sleep(Duration::from_millis(500));
    cluster.restart(0);
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let acknowledged = writer.join().expect("writer");
    check_all_present(&cluster, &acknowledged);
}

#[test]
fn a_cluster_member_killed_mid_load_keeps_every_acknowledged_write() {
    let mut cluster = Cluster::start(3);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = write_until(cluster.endpoints(), stop.clone());
    thread::sleep(Duration::from_secs(2));
    for victim in [0, 1] {
        cluster.nodes[victim].kill();
        thread::sleep(Duration::from_secs(2));
        cluster.restart(victim);
        thread::sleep(Duration::from_secs(1));
    }
    stop.store(true, Ordering::SeqCst);
    let acknowledged = writer.join().expect("writer");
    // Let the restarted members catch up before reading from each.
    thread::sleep(Duration::from_secs(2));
    check_all_present(&cluster, &acknowledged);
}
