//! A private network for one run: each member in its own network namespace, joined by a veth
//! pair to a bridge on the host, on which the run's clients live; partitions and packet loss as
//! `nftables` rules inside the members' namespaces, latency with `tc netem` or, where the kernel
//! has no `sch_netem`, an NFQUEUE rule and a delayer process in the member's namespace
//! (`latency`, `netdelay`).
//!
//! Layout of a run with pid P on subnet 10.77.N.0/24 (N free on this machine when it starts):
//! bridge `dcbP` holds 10.77.N.1 (the harness's own calls: setup, leader look-ups, liveness)
//! and 10.77.N.(100+c) for client c (its relays connect from it, see `relay`), member i lives in namespace `dchaos-P-i` behind veth `dcvP-i`, as
//! `eth0` with 10.77.N.(11+i), and serves on ports 2379 (clients) and 2380 (peers) there. No
//! address leaves this machine: the bridge has no uplink and nothing routes to it.
//!
//! A cut `a -> b` drops, in `b`'s namespace, every packet from `a`'s address (or, when `b` is
//! a client, drops in `a`'s namespace every packet to the client's address), so a one-way cut
//! is one rule and a partition two. Every rule has a counter: the heal reads how many packets
//! each member's rules dropped before deleting them, so the trace proves a partition bit. A
//! degraded link's delay holds the member's outgoing packets; the network log names the
//! mechanism at creation and at each apply, and the heal says how many packets a delayer held.
//!
//! Invariants (what makes a run leave nothing behind):
//! - every name carries the pid of the run that made it; dropping the [`Network`] deletes its
//!   namespaces (their veths and rules go with them) and its bridge, after killing its delayers;
//! - a run killed before its drop leaves them behind; [`sweep_leftovers`], called by every
//!   [`Network::create`], kills whatever process still lives in the namespaces of pids no longer
//!   alive (a delayer) and deletes those namespaces, bridges and veths;
//! - one network per process at a time (the names hold only the pid).

use crate::latency::{self, Delay, Mechanism};
use crate::partition::{Node, Plan};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

const NAMESPACE_PREFIX: &str = "dchaos-";
const BRIDGE_PREFIX: &str = "dcb";
const VETH_PREFIX: &str = "dcv";
const TABLE: &str = "detcd_chaos";
/// A member's client and peer ports inside its namespace.
pub const CLIENT_PORT: u16 = 2379;
pub const PEER_PORT: u16 = 2380;
/// Members get 10.77.N.11 to .99, clients .100 to .249.
const MAX_MEMBERS: usize = 89;
const MAX_CLIENTS: usize = 150;
/// The CAP_NET_ADMIN bit of /proc/self/status's CapEff.
const CAP_NET_ADMIN: u32 = 12;

static IN_USE: AtomicBool = AtomicBool::new(false);

/// The network of one run; dropping it deletes everything it made.
pub struct Network {
    subnet: u8,
    bridge: String,
    namespaces: Vec<String>,
    clients: usize,
    /// How a link is delayed here (netem, nfqueue, or not at all).
    latency: Mechanism,
    /// Members whose namespace carries nftables rules now.
    faulty: BTreeSet<usize>,
    /// Delays in force, by member.
    delays: BTreeMap<usize, Delay>,
    log: Vec<String>,
    clock: Instant,
}

/// Whether this process may build namespaces and filters; the reason in one line if not.
pub fn usable() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    if caps & (1 << CAP_NET_ADMIN) == 0 {
        return Err("network namespaces need root (CAP_NET_ADMIN), which this process lacks".into());
    }
    for (tool, package) in [("ip", "iproute2"), ("nft", "nftables")] {
        if run(&[tool, "-V"], None).is_err() {
            return Err(format!(
                "`{tool}` is missing (Debian's {package}; scripts/test installs it)"
            ));
        }
    }
    Ok(())
}

impl Network {
    /// Builds the bridge with an address per client and one namespace per member, after
    /// sweeping dead runs' leftovers.
    pub fn create(members: usize, clients: usize, clock: Instant) -> Result<Network, String> {
        usable()?;
        if members > MAX_MEMBERS || clients > MAX_CLIENTS {
            return Err(format!(
                "a network holds at most {MAX_MEMBERS} members and {MAX_CLIENTS} clients"
            ));
        }
        let swept = sweep_leftovers();
        if IN_USE.swap(true, Ordering::SeqCst) {
            return Err("this process already has a network".into());
        }
        let pid = std::process::id();
        let mut network = Network {
            subnet: free_subnet(pid)?,
            bridge: format!("{BRIDGE_PREFIX}{pid}"),
            namespaces: Vec::new(),
            clients,
            latency: Mechanism::Unavailable("not probed yet".into()),
            faulty: BTreeSet::new(),
            delays: BTreeMap::new(),
            log: Vec::new(),
            clock,
        };
        for name in swept {
            network.note(format!("removed a dead run's leftover {name}"));
        }
        // From here on, a failure drops `network`, which deletes what was made so far.
        let bridge = network.bridge.clone();
        let host = format!("{}/24", network.host_address());
        run(&["ip", "link", "add", &bridge, "type", "bridge"], None)?;
        run(&["ip", "addr", "add", &host, "dev", &bridge], None)?;
        for client in 0..clients {
            let address = format!("{}/24", network.client_address(client));
            run(&["ip", "addr", "add", &address, "dev", &bridge], None)?;
        }
        run(&["ip", "link", "set", &bridge, "up"], None)?;
        for index in 0..members {
            let namespace = format!("{NAMESPACE_PREFIX}{pid}-{index}");
            let veth = format!("{VETH_PREFIX}{pid}-{index}");
            run(&["ip", "netns", "add", &namespace], None)?;
            network.namespaces.push(namespace.clone());
            run(
                &[
                    "ip", "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns",
                    &namespace,
                ],
                None,
            )?;
            run(&["ip", "link", "set", &veth, "master", &bridge], None)?;
            run(&["ip", "link", "set", &veth, "up"], None)?;
            let address = format!("{}/24", network.address(index));
            run(&["ip", "-n", &namespace, "addr", "add", &address, "dev", "eth0"], None)?;
            run(&["ip", "-n", &namespace, "link", "set", "eth0", "up"], None)?;
            run(&["ip", "-n", &namespace, "link", "set", "lo", "up"], None)?;
        }
        // The delayer is this command's hidden `netdelay`; a library user (a test) names the
        // detcd-chaos executable with `set_delayer`.
        let exe = std::env::current_exe().ok();
        let program = exe.filter(|exe| exe.file_name().is_some_and(|n| n == "detcd-chaos"));
        if let Some(first) = network.namespaces.first() {
            network.latency = latency::probe(first, program.as_deref());
        }
        network.note(format!(
            "created bridge {} ({}) and namespaces {}; {}",
            network.bridge,
            host,
            network.namespaces.join(" "),
            network.latency.describe()
        ));
        Ok(network)
    }

    /// Delays links with a delayer run as `program netdelay` (the detcd-chaos executable),
    /// where the kernel has no `tc netem`; for users of this library other than detcd-chaos.
    pub fn set_delayer(&mut self, program: &Path) {
        if self.latency == Mechanism::Netem {
            return;
        }
        if let Some(first) = self.namespaces.first() {
            self.latency = latency::probe(first, Some(program));
            let what = self.latency.describe();
            self.note(what);
        }
    }

    /// The bridge's own address, from which the harness's calls come.
    pub fn host_address(&self) -> String {
        format!("10.77.{}.1", self.subnet)
    }

    /// How many clients have an address on the bridge.
    pub fn clients(&self) -> usize {
        self.clients
    }

    /// Client `index`'s address on the bridge.
    pub fn client_address(&self, index: usize) -> String {
        format!("10.77.{}.{}", self.subnet, 100 + index)
    }

    /// Member `index`'s address in its namespace.
    pub fn address(&self, index: usize) -> String {
        format!("10.77.{}.{}", self.subnet, 11 + index)
    }

    /// Member `index`'s namespace, as `setns(2)` opens it.
    pub fn namespace_path(&self, index: usize) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.namespaces[index])
    }

    /// How latency is added here.
    pub fn latency(&self) -> &Mechanism {
        &self.latency
    }

    /// The pids of the delayers running now.
    pub fn delayer_pids(&self) -> Vec<u32> {
        self.delays.values().filter_map(Delay::pid).collect()
    }

    /// What the network did, one line per event, with seconds on the run's clock.
    pub fn log(&self) -> &[String] {
        &self.log
    }

    fn note(&mut self, line: String) {
        self.log.push(format!("{:.3}s {line}", self.clock.elapsed().as_secs_f64()));
    }

    fn node_address(&self, node: Node) -> String {
        match node {
            Node::Member(index) => self.address(index),
            Node::Client(index) => self.client_address(index),
        }
    }

    /// Puts `plan` in force (after healing whatever was), `what` naming it in the log.
    pub fn apply(&mut self, plan: &Plan, what: &str) -> Result<(), String> {
        self.heal()?;
        let members = self.namespaces.len();
        let mut input: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut output: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for &(from, to) in &plan.cuts {
            match (from, to) {
                (_, Node::Member(to)) if to < members => {
                    let rule = format!("ip saddr {} counter drop", self.node_address(from));
                    input.entry(to).or_default().push(rule);
                }
                (Node::Member(from), Node::Client(client)) if from < members => {
                    let rule = format!("ip daddr {} counter drop", self.client_address(client));
                    output.entry(from).or_default().push(rule);
                }
                _ => {}
            }
        }
        if let Some((member, loss, _)) = plan.degrade.filter(|d| d.0 < members) {
            let rule = format!("numgen random mod 100 < {loss} counter drop");
            input.entry(member).or_default().push(rule.clone());
            output.entry(member).or_default().push(rule);
        }
        let touched: BTreeSet<usize> = input.keys().chain(output.keys()).copied().collect();
        self.note(format!("apply {what}"));
        for member in touched {
            let chain = |hook: &str, lo: &str, rules: Option<&Vec<String>>| {
                let mut text = format!(
                    "  chain {hook} {{\n    type filter hook {hook} priority 0; policy accept;\n    {lo} \"lo\" accept\n"
                );
                for rule in rules.into_iter().flatten() {
                    text.push_str(&format!("    {rule}\n"));
                }
                text + "  }\n"
            };
            let script = format!(
                "table inet {TABLE} {{\n{}{}}}\n",
                chain("input", "iifname", input.get(&member)),
                chain("output", "oifname", output.get(&member))
            );
            self.faulty.insert(member);
            let namespace = self.namespaces[member].clone();
            run(&["ip", "netns", "exec", &namespace, "nft", "-f", "-"], Some(&script))?;
            let rules = |hook: &str, rules: Option<&Vec<String>>| {
                rules.map(|r| format!(" {hook}: {};", r.join(", "))).unwrap_or_default()
            };
            self.note(format!(
                "  {namespace}:{}{}",
                rules("input", input.get(&member)),
                rules("output", output.get(&member))
            ));
        }
        if let Some((member, _, delay)) = plan.degrade.filter(|d| d.0 < members) {
            let namespace = self.namespaces[member].clone();
            if let Mechanism::Unavailable(why) = &self.latency {
                let line = format!("  {namespace}: no delay ({why})");
                self.note(line);
            } else {
                let path = self.namespace_path(member);
                let started = Delay::start(&self.latency, &namespace, &path, delay)?;
                let by = match started.pid() {
                    Some(pid) => format!("nfqueue (delayer pid {pid})"),
                    None => "tc netem".into(),
                };
                self.delays.insert(member, started);
                self.note(format!("  {namespace}: delay {delay}ms by {by}"));
            }
        }
        Ok(())
    }

    /// Removes every rule, qdisc and delayer in force; returns what they did.
    pub fn heal(&mut self) -> Result<Healed, String> {
        let mut healed = Healed { dropped: 0, delayed: 0, latency: self.latency.name() };
        if self.faulty.is_empty() && self.delays.is_empty() {
            return Ok(healed);
        }
        // Delays first: a delayer's packets leave at their time while the loss rules still hold.
        let mut delayed = Vec::new();
        let mut failed = None;
        for (member, delay) in std::mem::take(&mut self.delays) {
            let namespace = &self.namespaces[member];
            match delay.stop() {
                Ok(stopped) => {
                    if let Some(packets) = stopped.delayed {
                        healed.delayed += packets;
                        delayed.push(format!("{namespace} delayed {packets}"));
                    }
                }
                Err(why) => failed = Some(why),
            }
        }
        let mut total = 0;
        let mut dropped = Vec::new();
        for member in std::mem::take(&mut self.faulty) {
            let namespace = self.namespaces[member].clone();
            let listed = run(
                &["ip", "netns", "exec", &namespace, "nft", "list", "table", "inet", TABLE],
                None,
            )
            .unwrap_or_default();
            let packets = counted_packets(&listed);
            total += packets;
            dropped.push(format!("{namespace} dropped {packets}"));
            // Absent when the member only had a qdisc.
            let _ = run(
                &["ip", "netns", "exec", &namespace, "nft", "delete", "table", "inet", TABLE],
                None,
            );
        }
        healed.dropped = total;
        let delays = if delayed.is_empty() {
            String::new()
        } else {
            format!("; {} packets delayed by nfqueue ({})", healed.delayed, delayed.join(", "))
        };
        self.note(format!("heal: {} packets dropped ({}){delays}", total, dropped.join(", ")));
        match failed {
            Some(why) => Err(why),
            None => Ok(healed),
        }
    }
}

/// What a heal undid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Healed {
    /// Packets the loss and partition rules dropped.
    pub dropped: u64,
    /// Packets a delayer held (0 under netem, which counts nothing).
    pub delayed: u64,
    /// The latency mechanism: `netem`, `nfqueue` or `none`.
    pub latency: &'static str,
}

impl Drop for Network {
    fn drop(&mut self) {
        // Their processes first: a live process would keep its namespace alive.
        self.delays.clear();
        for namespace in &self.namespaces {
            let _ = run(&["ip", "netns", "del", namespace], None);
        }
        let _ = run(&["ip", "link", "del", &self.bridge], None);
        IN_USE.store(false, Ordering::SeqCst);
    }
}

/// The sum of `counter packets N` in an `nft list` output.
fn counted_packets(listed: &str) -> u64 {
    let words: Vec<&str> = listed.split_whitespace().collect();
    words
        .windows(3)
        .filter(|w| w[0] == "counter" && w[1] == "packets")
        .filter_map(|w| w[2].parse::<u64>().ok())
        .sum()
}

/// A /24 in 10.77.0.0/16 that no interface of this machine is on, starting from the pid's.
fn free_subnet(pid: u32) -> Result<u8, String> {
    let listed = run(&["ip", "-o", "-4", "addr", "show"], None)?;
    let used: BTreeSet<u8> = listed
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("10.77."))
        .filter_map(|rest| rest.split('.').next()?.parse().ok())
        .collect();
    (0..254u32)
        .map(|i| ((pid + i) % 254 + 1) as u8)
        .find(|n| !used.contains(n))
        .ok_or_else(|| "no free 10.77.N.0/24 subnet".into())
}

/// The pid in a name made by [`Network::create`], if it is one.
fn owner(name: &str) -> Option<u32> {
    let rest = name
        .strip_prefix(NAMESPACE_PREFIX)
        .or_else(|| name.strip_prefix(VETH_PREFIX))
        .or_else(|| name.strip_prefix(BRIDGE_PREFIX))?;
    let digits = rest.split('-').next()?;
    digits.parse().ok()
}

/// Deletes the namespaces, bridges and veths of runs whose process is gone (a run that was
/// SIGKILLed or crashed before its clean-up); returns their names.
pub fn sweep_leftovers() -> Vec<String> {
    let dead = |name: &str| {
        owner(name).is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
    };
    let mut removed = Vec::new();
    let namespaces = run(&["ip", "netns", "list"], None).unwrap_or_default();
    for name in namespaces.lines().filter_map(|line| line.split_whitespace().next()) {
        if !name.starts_with(NAMESPACE_PREFIX) || !dead(name) {
            continue;
        }
        // A delayer that outlived its run (members die with it, by PDEATHSIG SIGKILL).
        let pids = run(&["ip", "netns", "pids", name], None).unwrap_or_default();
        for pid in pids.split_whitespace().filter_map(|pid| pid.parse::<libc::pid_t>().ok()) {
            // SAFETY: a plain kill(2); the pid lives in a dead run's namespace, so it is ours.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                removed.push(format!("process {pid} in {name}"));
            }
        }
        if run(&["ip", "netns", "del", name], None).is_ok() {
            removed.push(name.to_string());
        }
    }
    // `12: dcb123: <...>` and `13: dcv123-0@if2: <...>`; a veth whose peer's namespace was
    // just deleted is gone already.
    let links = run(&["ip", "-o", "link", "show"], None).unwrap_or_default();
    for line in links.lines() {
        let Some(field) = line.split_whitespace().nth(1) else { continue };
        let name = field.trim_end_matches(':').split('@').next().unwrap_or("");
        let ours = name.starts_with(BRIDGE_PREFIX) || name.starts_with(VETH_PREFIX);
        if ours && dead(name) && run(&["ip", "link", "del", name], None).is_ok() {
            removed.push(name.to_string());
        }
    }
    removed
}

/// Runs `args` (with `stdin` fed in, if any) to its standard output, or its error in one line.
pub(crate) fn run(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut command = Command::new(args[0]);
    command
        .args(&args[1..])
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", args.join(" ")))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!("`{}` failed: {}", args.join(" "), stderr.trim().replace('\n', "; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_runs_pid() {
        assert_eq!(owner("dchaos-4242-1"), Some(4242));
        assert_eq!(owner("dcv4242-0"), Some(4242));
        assert_eq!(owner("dcb4242"), Some(4242));
        assert_eq!(owner("docker0"), None);
        assert_eq!(owner("eth0"), None);
    }

    #[test]
    fn dropped_packets_are_summed_over_every_counter() {
        let listed = "table inet detcd_chaos {\n chain input {\n ip saddr 10.77.3.12 counter packets 17 bytes 900 drop\n ip saddr 10.77.3.13 counter packets 3 bytes 10 drop\n }\n}";
        assert_eq!(counted_packets(listed), 20);
        assert_eq!(counted_packets(""), 0);
    }
}
