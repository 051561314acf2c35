//! A real cluster: `detcd` or etcd 3.4 member processes that a run starts, kills, restarts,
//! pauses and resumes, on loopback or each in its own network namespace ([`Network`]).
//!
//! detcd takes etcd's flags, so one member type starts either binary the same way: free ports
//! below the ephemeral range on loopback (or the member's own address and the standard ports in
//! its namespace), a data directory and a log per start in one fresh scratch directory, and
//! "ready to serve client requests" in the log (both print it) as the sign that a member serves
//! clients. A member is put in its namespace by `setns(2)` between fork and exec, so its pid is
//! the one the cluster signals, as on loopback.
//!
//! Invariants (what makes a run leave nothing behind):
//! - dropping the [`Cluster`] SIGKILLs and reaps every member process it started (a paused one
//!   too: SIGKILL ends a stopped process) and removes the scratch directory;
//! - members run in their own process group, so a Ctrl-C at the terminal reaches only the chaos
//!   command, which then cleans up (see `interrupt`), and never stops a member behind its back;
//! - each member is started with `PR_SET_PDEATHSIG = SIGKILL`, so if the chaos command itself is
//!   SIGKILLed its members die with it. The kernel sends it when the *thread* that forked the
//!   member ends, so members are started only from the thread that owns the cluster (the run's
//!   main thread), which lives as long as the command;
//! - the network, if any, is dropped after the members (a field drops after `drop` ran), so no
//!   member outlives its namespace's removal;
//! - with disk faults, each member's data directory is a `lazyfs` mount over `infraN.backing`,
//!   mounted before the member first starts and unmounted after it is killed for good; every
//!   kill (by a fault or a heal) loses the member's unsynced writes before it can restart.

use crate::clock::Clocks;
use crate::dirlog::Commit;
use crate::interrupt::{self, Interrupted};
use crate::lazyfs::{self, Counts, FsyncMode, Mounted};
use crate::network::{self, Network};
use crate::scratch::{free_port, scratch_dir};
use detcd_core::plant::{Bug, PROCESS_VARIABLE};
use std::fmt;
use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a member may take to log "ready to serve client requests".
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const READY_LINE: &str = "ready to serve client requests";

/// Which server the cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Detcd,
    Etcd,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Detcd => "detcd",
            Kind::Etcd => "etcd",
        }
    }
}

/// The server binary a cluster runs.
#[derive(Debug, Clone)]
pub struct Binary {
    pub kind: Kind,
    pub path: PathBuf,
    /// The planted bug every member switches on (`DETCD_PLANTED_BUG`, detcd built with the
    /// `planted-bugs` feature only).
    pub plant: Option<Bug>,
}

/// Why a cluster could not do what it was asked (a harness failure, not a finding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterError {
    Interrupted,
    Failed(String),
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Interrupted => f.write_str("interrupted"),
            ClusterError::Failed(why) => f.write_str(why),
        }
    }
}

impl From<Interrupted> for ClusterError {
    fn from(_: Interrupted) -> Self {
        ClusterError::Interrupted
    }
}

/// One member: its ports, directories and (while running) its process.
pub struct Member {
    pub name: String,
    /// The address it serves on: 127.0.0.1, or its own in its namespace.
    pub host: String,
    pub client_port: u16,
    pub peer_port: u16,
    /// Its network namespace (`/run/netns/...`), when the cluster has a network.
    namespace: Option<PathBuf>,
    data_dir: PathBuf,
    log: PathBuf,
    process: Option<Child>,
    starts: usize,
    paused: bool,
}

impl Member {
    /// `<host>:<client port>`.
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.host, self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://{}:{}", self.host, self.peer_port)
    }

    /// Whether the process runs (paused or not).
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Whether the process is stopped by SIGSTOP.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The log of the current (or last) start.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Child::id)
    }

    fn signal(&self, signal: libc::c_int) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid; it cannot have been reaped and reused,
            // since whatever reaps it here (`kill`, a `try_wait` that saw it exit) clears
            // `process` at the same time.
            unsafe {
                libc::kill(pid as libc::pid_t, signal);
            }
        }
    }

    /// SIGKILL (no shutdown code runs; unsynced writes are lost), and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
    }

    /// SIGSTOP: the member hangs with its sockets open and answers nothing.
    pub fn pause(&mut self) {
        if self.is_running() && !self.paused {
            self.signal(libc::SIGSTOP);
            self.paused = true;
        }
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&mut self) {
        if self.paused {
            self.signal(libc::SIGCONT);
            self.paused = false;
        }
    }
}

/// A cluster of real members; dropping it kills them and removes their files and network.
pub struct Cluster {
    pub binary: Binary,
    pub members: Vec<Member>,
    dir: PathBuf,
    network: Option<Network>,
    clocks: Option<Clocks>,
    /// Each member's file system, when the run has disk faults.
    disks: Vec<Mounted>,
    /// What fsync does on every member when no disk fault holds (`--fsync-delay`: a slow disk
    /// throughout the chaos phase); a disk fault hands back to it when it heals.
    fsync_base: FsyncMode,
}

impl Cluster {
    /// Starts `size` members (in `network`'s namespaces, if given, else on loopback; with
    /// libfaketime at `faketime` preloaded, if given; on `lazyfs` mounts committing directory
    /// changes as `disk` says, if given) and waits until each serves clients.
    pub fn start(
        binary: Binary,
        size: usize,
        network: Option<Network>,
        faketime: Option<PathBuf>,
        disk: Option<Commit>,
    ) -> Result<Cluster, ClusterError> {
        if !binary.path.is_file() {
            return Err(ClusterError::Failed(format!(
                "{} not found at {}",
                binary.kind.name(),
                binary.path.display()
            )));
        }
        let dir = scratch_dir(&format!("detcd-chaos-{}", binary.kind.name()));
        let members = (1..=size)
            .map(|i| Member {
                name: format!("infra{i}"),
                host: network
                    .as_ref()
                    .map_or_else(|| "127.0.0.1".to_string(), |n| n.address(i - 1)),
                client_port: if network.is_some() { network::CLIENT_PORT } else { free_port() },
                peer_port: if network.is_some() { network::PEER_PORT } else { free_port() },
                namespace: network.as_ref().map(|n| n.namespace_path(i - 1)),
                data_dir: dir.join(format!("infra{i}.data")),
                log: PathBuf::new(),
                process: None,
                starts: 0,
                paused: false,
            })
            .collect();
        let mut cluster = Cluster {
            binary,
            members,
            dir,
            network,
            clocks: None,
            disks: Vec::new(),
            fsync_base: FsyncMode::Normal,
        };
        if let Some(commit) = disk {
            for index in 0..size {
                let name = &cluster.members[index].name;
                let mounted = lazyfs::mount(
                    &cluster.dir.join(format!("{name}.backing")),
                    &cluster.dir.join(format!("{name}.grave")),
                    &cluster.members[index].data_dir,
                    commit,
                )
                .map_err(|e| ClusterError::Failed(format!("mounting {name}'s disk: {e}")))?;
                cluster.disks.push(mounted);
            }
        }
        if let Some(library) = faketime {
            let clocks = Clocks::create(library, &cluster.dir, size)
                .map_err(|e| ClusterError::Failed(format!("clock files: {e}")))?;
            cluster.clocks = Some(clocks);
        }
        for index in 0..size {
            cluster.spawn(index)?;
        }
        for index in 0..size {
            cluster.wait_ready(index)?;
        }
        Ok(cluster)
    }

    fn initial_cluster(&self) -> String {
        let pairs: Vec<String> =
            self.members.iter().map(|m| format!("{}={}", m.name, m.peer_url())).collect();
        pairs.join(",")
    }

    /// Every member's endpoint (`<host>:<port>`), in member order.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(Member::endpoint).collect()
    }

    /// Starts member `index` (on its data directory, if it has one: a restart).
    fn spawn(&mut self, index: usize) -> Result<(), ClusterError> {
        let initial = self.initial_cluster();
        let binary = self.binary.path.clone();
        let mut environment =
            self.clocks.as_ref().map(|c| c.environment(index)).unwrap_or_default();
        if let Some(bug) = self.binary.plant {
            environment.push((PROCESS_VARIABLE.into(), bug.name().into()));
        }
        let member = &mut self.members[index];
        member.starts += 1;
        member.log = member.data_dir.with_extension(format!("log.{}", member.starts));
        let log = fs::File::create(&member.log)
            .map_err(|e| ClusterError::Failed(format!("{}: {e}", member.log.display())))?;
        let client_url = format!("http://{}", member.endpoint());
        let mut command = Command::new(&binary);
        command
            .args(["--name", &member.name])
            .arg(format!("--data-dir={}", member.data_dir.display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={}", member.peer_url()))
            .arg(format!("--initial-advertise-peer-urls={}", member.peer_url()))
            .arg(format!("--initial-cluster={initial}"))
            .args(["--initial-cluster-state", "new", "--initial-cluster-token", "detcd-chaos"])
            .envs(environment)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // Opened here, used in the child: kept open until the spawn returned.
        let namespace = match &member.namespace {
            Some(path) => Some(
                fs::File::open(path)
                    .map_err(|e| ClusterError::Failed(format!("{}: {e}", path.display())))?,
            ),
            None => None,
        };
        let namespace_fd = namespace.as_ref().map(|file| file.as_raw_fd());
        crate::child::confine(&mut command, libc::SIGKILL, namespace_fd);
        let child = command
            .spawn()
            .map_err(|e| ClusterError::Failed(format!("starting {}: {e}", binary.display())))?;
        member.process = Some(child);
        member.paused = false;
        Ok(())
    }

    /// Waits until member `index` logs that it serves clients.
    fn wait_ready(&mut self, index: usize) -> Result<(), ClusterError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let member = &mut self.members[index];
        while Instant::now() < deadline {
            if member.log_text().contains(READY_LINE) {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = member.process.as_mut().map(Child::try_wait) {
                member.process = None;
                return Err(ClusterError::Failed(format!(
                    "{} exited with {status} before it was ready:\n{}",
                    member.name,
                    tail(&member.log_text())
                )));
            }
            interrupt::sleep(Duration::from_millis(20))?;
        }
        Err(ClusterError::Failed(format!(
            "{} not ready after {READY_TIMEOUT:?}:\n{}",
            member.name,
            tail(&member.log_text())
        )))
    }

    /// SIGKILLs member `index` and, with disk faults, loses its unsynced writes; says what was
    /// lost (empty without disk faults).
    pub fn kill(&mut self, index: usize) -> String {
        let Some(disk) = self.disks.get(index) else {
            self.members[index].kill();
            return String::new();
        };
        // Before the SIGKILL: an fsync the member is inside of completes only after it.
        disk.control.cut_power();
        self.members[index].kill();
        let (files, changes, failed) = disk.control.lose_unsynced();
        let mut lost =
            format!("lost unsynced writes to {files} files, {changes} directory changes");
        if !failed.is_empty() {
            lost.push_str(&format!(" ({} undo steps failed: {})", failed.len(), failed.join("; ")));
        }
        lost
    }

    /// Sets member `index`'s fsync behaviour; false without disk faults.
    pub fn set_fsync(&mut self, index: usize, mode: FsyncMode) -> bool {
        self.disks.get(index).map(|disk| disk.control.set_fsync(mode)).is_some()
    }

    /// Gives member `index`'s fsyncs back to what they do when no disk fault holds.
    pub fn reset_fsync(&mut self, index: usize) -> bool {
        let base = self.fsync_base;
        self.set_fsync(index, base)
    }

    /// Sets what every member's fsyncs do when no disk fault holds, from now on; false
    /// without disk faults.
    pub fn set_fsync_base(&mut self, mode: FsyncMode) -> bool {
        self.fsync_base = mode;
        self.disks.iter().for_each(|disk| disk.control.set_fsync(mode));
        !self.disks.is_empty()
    }

    /// What member `index`'s file system did, with disk faults.
    pub fn disk_counts(&self, index: usize) -> Option<Counts> {
        self.disks.get(index).map(|disk| disk.control.counts())
    }

    /// How member `index` exited, if it did (its process is then reaped and gone).
    pub fn exited(&mut self, index: usize) -> Option<String> {
        let member = &mut self.members[index];
        let status = member.process.as_mut().and_then(|child| child.try_wait().ok().flatten())?;
        member.process = None;
        Some(status.to_string())
    }

    /// Starts member `index` again on its data directory and waits until it serves clients.
    pub fn restart(&mut self, index: usize) -> Result<(), ClusterError> {
        // A member that died on its own crashed too: its unsynced writes go as at a kill.
        self.kill(index);
        self.start_at_full_speed(index)?;
        self.wait_ready(index)?;
        self.reset_fsync(index);
        Ok(())
    }

    /// Spawns member `index` with its fsyncs at the disk's own speed until it is ready (the
    /// caller resets them): under `--fsync-delay` a start-up's dozen fsyncs would take seconds,
    /// and the next fault would find a member that never served between the two.
    fn start_at_full_speed(&mut self, index: usize) -> Result<(), ClusterError> {
        self.set_fsync(index, FsyncMode::Normal);
        self.spawn(index)
    }

    /// Starts every member that is down, all before waiting for any (a member of a cluster
    /// that was wholly down is ready only once a quorum runs), then waits for each.
    pub fn restart_all(&mut self) -> Result<(), ClusterError> {
        let down: Vec<usize> =
            (0..self.members.len()).filter(|&i| !self.members[i].is_running()).collect();
        for &index in &down {
            self.kill(index);
            self.start_at_full_speed(index)?;
        }
        for &index in &down {
            self.wait_ready(index)?;
        }
        for &index in &down {
            self.reset_fsync(index);
        }
        Ok(())
    }

    pub fn pause(&mut self, index: usize) {
        self.members[index].pause();
    }

    pub fn resume(&mut self, index: usize) {
        self.members[index].resume();
    }

    /// The members' clocks, when they run under libfaketime.
    pub fn clocks(&mut self) -> Option<&mut Clocks> {
        self.clocks.as_mut()
    }

    /// The run's network, when the members live in namespaces.
    pub fn network(&mut self) -> Option<&mut Network> {
        self.network.as_mut()
    }

    /// Every link whole, every member running and not paused: paused ones continue, dead ones
    /// restart.
    pub fn heal(&mut self) -> Result<(), ClusterError> {
        if let Some(network) = self.network.as_mut() {
            network.heal().map_err(ClusterError::Failed)?;
        }
        for index in 0..self.members.len() {
            self.members[index].resume();
            if !self.members[index].is_running() {
                self.restart(index)?;
            }
        }
        Ok(())
    }

    /// A member that died on its own (not killed by the run), if any, with its log's tail.
    pub fn crashed(&mut self) -> Option<String> {
        for member in &mut self.members {
            if let Some(Ok(Some(status))) = member.process.as_mut().map(Child::try_wait) {
                member.process = None;
                return Some(format!(
                    "{} exited by itself with {status}:\n{}",
                    member.name,
                    tail(&member.log_text())
                ));
            }
        }
        None
    }

    /// Copies every member's logs (all starts) into `dir`, and the network's as `network.log`.
    pub fn save_logs(&self, dir: &Path) -> std::io::Result<()> {
        fs::create_dir_all(dir)?;
        if let Some(network) = &self.network {
            let mut text = network.log().join("\n");
            text.push('\n');
            fs::write(dir.join("network.log"), text)?;
        }
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let is_log =
                path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".log."));
            if is_log {
                if let Some(name) = path.file_name() {
                    fs::copy(&path, dir.join(name))?;
                }
            }
        }
        Ok(())
    }

    /// The scratch directory holding every member's data and logs (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            member.kill();
        }
        for disk in self.disks.drain(..) {
            let _ = disk.unmount();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The last lines of a log, for error messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
