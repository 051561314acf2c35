//! The real-etcd harness itself: members serve on the ports it chose, and dropping the cluster
//! leaves no etcd process and no data directory behind.

use detcd_tests::real_etcd::EtcdCluster;
use std::path::Path;

#[test]
fn a_dropped_cluster_leaves_no_process_and_no_data_behind() {
    let cluster = EtcdCluster::start(3);
    let endpoints = cluster.endpoints();
    let health = detcd_tests::etcdctl::run(&endpoints.join(","), &["endpoint", "health"]);
    assert!(health.ok, "{health:?}");
    // etcdctl 3.4 prints health to stderr, 3.5 to stdout.
    let printed = format!("{}{}", health.stdout, health.stderr);
    assert_eq!(printed.matches("is healthy").count(), 3, "{printed}");
    let pids: Vec<u32> = cluster.members.iter().filter_map(|m| m.pid()).collect();
    assert_eq!(pids.len(), 3);
    let data = cluster.data_dir().to_path_buf();
    assert!(data.is_dir());
    drop(cluster);
    for pid in pids {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "etcd {pid} survived the drop");
    }
    assert!(!data.exists(), "{} survived the drop", data.display());
}
