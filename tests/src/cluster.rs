//! Real `detcd` processes on loopback: start, wait for readiness, SIGKILL, restart.
//!
//! Ports come from binding port 0 on 127.0.0.1 and releasing it just before `detcd` binds it;
//! data directories live under the system temp directory and are removed when the cluster drops.
//! The `detcd` binary is built on first use with the `cargo` that runs the tests.

use crate::scratch::{free_port, scratch_dir};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a member may take to log "ready to serve client requests".
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The `detcd` binary, built once per test process.
pub fn detcd_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| crate::binaries::build("detcd-server", "detcd"))
}

/// One member: its ports, directories and (while running) its process.
pub struct Node {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    process: Option<Child>,
    starts: usize,
    /// `https` instead of `http` for the client and the peer URLs (TLS clusters).
    https: (bool, bool),
    /// Extra flags of this member (TLS certificates).
    pub args: Vec<String>,
}

impl Node {
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        let scheme = if self.https.1 { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.peer_port)
    }

    /// The client URL (`https://127.0.0.1:<port>` in a cluster with client TLS).
    pub fn client_url(&self) -> String {
        let scheme = if self.https.0 { "https" } else { "http" };
        format!("{scheme}://{}", self.endpoint())
    }

    /// The log of the current (or last) run.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn spawn(&mut self, initial_cluster: &str) {
        self.spawn_in_state(initial_cluster, "new");
    }

    /// `state` is `--initial-cluster-state`: `new`, or `existing` for a member added to a running
    /// cluster with `member add`.
    fn spawn_in_state(&mut self, initial_cluster: &str, state: &str) {
        self.starts += 1;
        self.log = self.data_dir.with_extension(format!("log.{}", self.starts));
        let log = fs::File::create(&self.log).expect("create log");
        let child = Command::new(detcd_binary())
            .args(["--name", &self.name])
            .arg(format!("--data-dir={}", self.data_dir.display()))
            .arg(format!("--listen-client-urls={}", self.client_url()))
            .arg(format!("--advertise-client-urls={}", self.client_url()))
            .arg(format!("--listen-peer-urls={}", self.peer_url()))
            .arg(format!("--initial-advertise-peer-urls={}", self.peer_url()))
            .arg(format!("--initial-cluster={initial_cluster}"))
            .args(["--initial-cluster-state", state, "--initial-cluster-token", "detcd-tests"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("detcd starts");
        self.process = Some(child);
    }

    /// Waits until the member logs that it serves clients; panics with its log if it exits or
    /// takes longer than `READY_TIMEOUT`.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if self.log_text().contains("ready to serve client requests") {
                return;
            }
            if let Some(Ok(Some(status))) = self.process.as_mut().map(Child::try_wait) {
                panic!(
                    "{} exited with {status} before it was ready:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} not ready after {READY_TIMEOUT:?}:\n{}", self.name, self.log_text());
    }

    /// Whether the process ended by itself within `limit` (it is reaped then).
    pub fn exits_within(&mut self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            match self.process.as_mut().map(|child| child.try_wait()) {
                None | Some(Ok(Some(_))) | Some(Err(_)) => {
                    self.process = None;
                    return true;
                }
                Some(Ok(None)) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        false
    }

    /// SIGKILL: no shutdown code runs, unsynced writes are lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A cluster of `detcd` members on loopback.
pub struct Cluster {
    pub nodes: Vec<Node>,
    dir: PathBuf,
}

impl Cluster {
    /// Starts `size` members and waits until each is ready.
    pub fn start(size: usize) -> Cluster {
        let dir = scratch_dir("detcd-tests");
        let mut cluster = Cluster { nodes: Vec::new(), dir };
        for _ in 0..size {
            cluster.plan_node();
        }
        let initial = cluster.initial_cluster();
        for node in &mut cluster.nodes {
            node.spawn(&initial);
        }
        for node in &mut cluster.nodes {
            node.wait_ready();
        }
        cluster
    }

    /// Adds a member that is not running yet (`infra<n>`, fresh ports); returns its index.
    pub fn plan_node(&mut self) -> usize {
        let i = self.nodes.len() + 1;
        self.nodes.push(Node {
            name: format!("infra{i}"),
            client_port: free_port(),
            peer_port: free_port(),
            data_dir: self.dir.join(format!("infra{i}.detcd")),
            log: PathBuf::new(),
            process: None,
            starts: 0,
            https: (false, false),
            args: Vec::new(),
        });
        i - 1
    }

    /// Starts planned member `index` as a member joining the running cluster (after
    /// `etcdctl member add`) and waits until it is ready.
    pub fn start_joining(&mut self, index: usize) {
        let initial = self.initial_cluster();
        let node = &mut self.nodes[index];
        node.spawn_in_state(&initial, "existing");
        node.wait_ready();
    }

    /// The peer URL of member `index` (what `member add --peer-urls` takes).
    pub fn peer_url(&self, index: usize) -> String {
        self.nodes[index].peer_url()
    }

    fn initial_cluster(&self) -> String {
        let pairs: Vec<String> =
            self.nodes.iter().map(|n| format!("{}={}", n.name, n.peer_url())).collect();
        pairs.join(",")
    }

    /// Every member's endpoint, comma-separated (etcdctl's `--endpoints`).
    pub fn endpoints(&self) -> String {
        let endpoints: Vec<String> = self.nodes.iter().map(Node::endpoint).collect();
        endpoints.join(",")
    }

    /// Restarts member `index` on its data directory and waits until it is ready.
    pub fn restart(&mut self, index: usize) {
        let initial = self.initial_cluster();
        let node = &mut self.nodes[index];
        node.kill();
        node.spawn(&initial);
        node.wait_ready();
    }

    /// Every member's log, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes.iter().map(|n| format!("--- {}\n{}", n.name, n.log_text())).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// TLS clusters: members planned with `https` URLs and given their certificate flags before
/// they start.
impl Cluster {
    /// Plans `size` members whose client and/or peer URLs are `https`.
    pub fn plan_https(size: usize, client_https: bool, peer_https: bool) -> Cluster {
        let mut cluster = Cluster::plan(size);
        for node in &mut cluster.nodes {
            node.https = (client_https, peer_https);
        }
        cluster
    }

    /// Starts every planned member without waiting for any (`Node::wait_ready` waits).
    pub fn spawn_planned(&mut self) {
        let initial = self.initial_cluster();
        for node in &mut self.nodes {
            node.spawn(&initial);
        }
    }
}

/// Clusters whose members start from data directories prepared beforehand (e.g. by
/// `detcd snapshot restore`).
impl Cluster {
    /// Plans `size` members (names, ports, data directories) without starting any.
    pub fn plan(size: usize) -> Cluster {
        let mut cluster = Cluster { nodes: Vec::new(), dir: scratch_dir("detcd-tests") };
        for _ in 0..size {
            cluster.plan_node();
        }
        cluster
    }

    /// Starts every planned member as part of a new cluster and waits until each is ready.
    pub fn start_planned(&mut self) {
        let initial = self.initial_cluster();
        for node in &mut self.nodes {
            node.spawn(&initial);
        }
        for node in &mut self.nodes {
            node.wait_ready();
        }
    }

    /// The `--initial-cluster` value the members start with.
    pub fn initial_cluster_flag(&self) -> String {
        self.initial_cluster()
    }

    /// The `--initial-cluster-token` the members start with.
    pub fn token(&self) -> &'static str {
        "detcd-tests"
    }

    /// Member `index`'s `--data-dir`.
    pub fn data_dir(&self, index: usize) -> &Path {
        &self.nodes[index].data_dir
    }

    /// A scratch directory of this cluster's, removed with it.
    pub fn scratch(&self) -> &Path {
        &self.dir
    }
}
