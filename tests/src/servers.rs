//! One face for the two servers the end-to-end suites run against: real etcd
//! ([`EtcdCluster`]) and detcd ([`Cluster`]). A suite written against [`Servers`] holds both to
//! the same behaviour: the same calls, the same assertions, only the processes differ.

use crate::cluster::Cluster;
use crate::real_etcd::EtcdCluster;

/// A running cluster of either kind.
pub trait Servers: Send {
    /// What the cluster is, for test output (`etcd 3.4.23 x3`, `detcd x1`).
    fn label(&self) -> String;
    /// Every member's client endpoint (`127.0.0.1:<port>`), in member order.
    fn endpoints(&self) -> Vec<String>;
    /// SIGKILLs member `index`.
    fn kill(&mut self, index: usize);
    /// Restarts member `index` on its data and waits until it serves clients.
    fn restart(&mut self, index: usize);
    /// Every member's log, for failure messages.
    fn logs(&self) -> String;
}

impl Servers for EtcdCluster {
    fn label(&self) -> String {
        format!("etcd 3.4 x{}", self.members.len())
    }

    fn endpoints(&self) -> Vec<String> {
        EtcdCluster::endpoints(self)
    }

    fn kill(&mut self, index: usize) {
        EtcdCluster::kill(self, index);
    }

    fn restart(&mut self, index: usize) {
        EtcdCluster::restart(self, index);
    }

    fn logs(&self) -> String {
        EtcdCluster::logs(self)
    }
}

impl Servers for Cluster {
    fn label(&self) -> String {
        format!("detcd x{}", self.nodes.len())
    }

    fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|node| node.endpoint()).collect()
    }

    fn kill(&mut self, index: usize) {
        self.nodes[index].kill();
    }

    fn restart(&mut self, index: usize) {
        Cluster::restart(self, index);
    }

    fn logs(&self) -> String {
        Cluster::logs(self)
    }
}
