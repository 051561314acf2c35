//! Latency on a degraded member's link, by whichever mechanism this machine has: `tc netem` on
//! the member's `eth0`, or, where the kernel has no `sch_netem`, an iptables `NFQUEUE` rule in
//! the member's namespace feeding its outgoing packets to a delayer process (`netdelay`) that
//! holds each for the delay. Either way the member's outgoing packets wait, so every round trip
//! through it is longer by the delay.
//!
//! Invariants:
//! - a delayer runs in the member's namespace (entered by `setns(2)` between fork and exec, as
//!   the members are) and the NFQUEUE rule is added only after it listens, so no packet is
//!   queued to nobody; the rule also carries `--queue-bypass`, so if the delayer dies the link
//!   goes on undelayed rather than dead;
//! - stopping a delay deletes the rule first, then asks the delayer to finish (SIGTERM): it
//!   releases what it holds at its time and reports how many packets it delayed;
//! - a [`Delay`] dropped without [`Delay::stop`] (the network torn down early, Ctrl-C) kills its
//!   delayer; a delayer whose run was SIGKILLed gets SIGTERM from the kernel (PDEATHSIG), and
//!   the next run's sweep kills whatever still lives in a dead run's namespace.

use crate::network::run;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The NFQUEUE queue number the delayers use (queues are per namespace, so one number serves).
pub const QUEUE: u16 = 1877;
/// How long a stopped delayer may take beyond the delay to release what it holds and exit.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How this machine delays a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `tc qdisc ... netem delay`.
    Netem,
    /// An NFQUEUE rule (added by `iptables`, the tool named) and a `netdelay` delayer
    /// (`program netdelay ...`).
    Nfqueue { iptables: String, program: PathBuf },
    /// No way to delay here; the reason.
    Unavailable(String),
}

impl Mechanism {
    /// What the mechanism is, for the network log.
    pub fn describe(&self) -> String {
        match self {
            Mechanism::Netem => "latency by tc netem".into(),
            Mechanism::Nfqueue { iptables, .. } => {
                format!("latency by nfqueue (no sch_netem: {iptables} NFQUEUE and a delayer)")
            }
            Mechanism::Unavailable(why) => format!("no latency ({why})"),
        }
    }

    /// A short name: `netem`, `nfqueue` or `none`.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::Netem => "netem",
            Mechanism::Nfqueue { .. } => "nfqueue",
            Mechanism::Unavailable(_) => "none",
        }
    }
}

/// Finds the mechanism by trying it in `namespace` (a fresh one, with `eth0`): netem first,
/// else an NFQUEUE rule, added and deleted again; `program` is `detcd-chaos`, which runs the
/// delayer, if known.
pub fn probe(namespace: &str, program: Option<&Path>) -> Mechanism {
    let netem = ["tc", "-n", namespace, "qdisc", "add", "dev", "eth0", "root", "netem", "delay"];
    if run(&[&netem[..], &["1ms"]].concat(), None).is_ok() {
        let _ = run(&["tc", "-n", namespace, "qdisc", "del", "dev", "eth0", "root"], None);
        return Mechanism::Netem;
    }
    let Some(program) = program else {
        return Mechanism::Unavailable("no sch_netem, and no detcd-chaos to run a delayer".into());
    };
    // The legacy tables first: iptables-nft may turn NFQUEUE into nft's own `queue`, which
    // kernels without CONFIG_NFT_QUEUE lack.
    let mut tried = Vec::new();
    for iptables in ["iptables-legacy", "iptables"] {
        match run_owned(&rule(iptables, namespace, "-A")) {
            Ok(_) => {
                let _ = run_owned(&rule(iptables, namespace, "-D"));
                return Mechanism::Nfqueue {
                    iptables: iptables.to_string(),
                    program: program.to_path_buf(),
                };
            }
            Err(why) => tried.push(why),
        }
    }
    Mechanism::Unavailable(format!(
        "no sch_netem and no NFQUEUE rule: {} (Debian's iptables; scripts/test installs it)",
        tried.join("; ")
    ))
}

/// `ip netns exec <namespace> <iptables> <-A|-D> OUTPUT ... NFQUEUE`, the delay's one rule.
fn rule(iptables: &str, namespace: &str, op: &str) -> Vec<String> {
    let queue = QUEUE.to_string();
    let words = ["ip", "netns", "exec", namespace, iptables, "-w", op, "OUTPUT", "-o", "eth0"];
    let target = ["-j", "NFQUEUE", "--queue-num", &queue, "--queue-bypass"];
    words.iter().chain(&target).map(|word| word.to_string()).collect()
}

/// Runs a command made of owned words.
fn run_owned(words: &[String]) -> Result<String, String> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    run(&words, None)
}

/// A delay in force on one member's link.
pub enum Delay {
    Netem { namespace: String },
    Nfqueue { namespace: String, iptables: String, delayer: Child, stdout: BufReader<ChildStdout> },
}

/// What a stopped delay did.
pub struct Stopped {
    /// Packets the delayer held (none counted under netem).
    pub delayed: Option<u64>,
}

impl Delay {
    /// Delays every packet `namespace`'s member sends by `delay_ms`, by `mechanism`; `path` is
    /// the namespace as `setns(2)` opens it.
    pub fn start(
        mechanism: &Mechanism,
        namespace: &str,
        path: &Path,
        delay_ms: u32,
    ) -> Result<Delay, String> {
        match mechanism {
            Mechanism::Netem => {
                let delay = format!("{delay_ms}ms");
                let add =
                    ["tc", "-n", namespace, "qdisc", "replace", "dev", "eth0", "root", "netem"];
                run(&[&add[..], &["delay", &delay]].concat(), None)?;
                Ok(Delay::Netem { namespace: namespace.to_string() })
            }
            Mechanism::Nfqueue { iptables, program } => {
                let (delayer, stdout) = spawn_delayer(program, path, delay_ms)?;
                // Dropped on a failure below, which kills the delayer.
                let delay = Delay::Nfqueue {
                    namespace: namespace.to_string(),
                    iptables: iptables.clone(),
                    delayer,
                    stdout,
                };
                run_owned(&rule(iptables, namespace, "-A"))?;
                Ok(delay)
            }
            Mechanism::Unavailable(why) => Err(format!("no way to delay a link: {why}")),
        }
    }

    /// The delayer's pid, if this delay has one.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Delay::Netem { .. } => None,
            Delay::Nfqueue { delayer, .. } => Some(delayer.id()),
        }
    }

    /// Ends the delay: removes the qdisc, or the rule and then the delayer, which reports how
    /// many packets it held.
    pub fn stop(mut self) -> Result<Stopped, String> {
        match &mut self {
            Delay::Netem { namespace } => {
                run(&["tc", "-n", namespace, "qdisc", "del", "dev", "eth0", "root"], None)?;
                Ok(Stopped { delayed: None })
            }
            Delay::Nfqueue { namespace, iptables, delayer, stdout } => {
                // No new packet is queued once the rule is gone; what the delayer holds still
                // leaves at its time.
                let removed = run_owned(&rule(iptables, namespace, "-D"));
                // SAFETY: a plain kill(2) of our own child, not yet reaped (so the pid is its).
                unsafe { libc::kill(delayer.id() as libc::pid_t, libc::SIGTERM) };
                let deadline = Instant::now() + STOP_GRACE;
                let status = loop {
                    match delayer.try_wait() {
                        Ok(Some(status)) => break Some(status),
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(10))
                        }
                        _ => {
                            let _ = delayer.kill();
                            let _ = delayer.wait();
                            break None;
                        }
                    }
                };
                let mut said = String::new();
                let _ = stdout.read_to_string(&mut said);
                let mut stderr = String::new();
                if let Some(pipe) = delayer.stderr.as_mut() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                removed?;
                let delayed = said
                    .lines()
                    .find_map(|line| line.strip_prefix("delayed ")?.trim().parse::<u64>().ok());
                match (status, delayed) {
                    (Some(status), Some(delayed)) if status.success() => {
                        Ok(Stopped { delayed: Some(delayed) })
                    }
                    (None, _) => Err(format!(
                        "the delayer in {namespace} did not stop within {STOP_GRACE:?} of SIGTERM"
                    )),
                    (Some(status), _) => Err(format!(
                        "the delayer in {namespace} exited with {status}: {}",
                        stderr.trim()
                    )),
                }
            }
        }
    }
}

impl Drop for Delay {
    fn drop(&mut self) {
        // Only reached without `stop` (which leaves a reaped child, where this is harmless):
        // the network is going away, namespaces and all, so no flush is owed.
        if let Delay::Nfqueue { delayer, .. } = self {
            if let Ok(None) = delayer.try_wait() {
                let _ = delayer.kill();
                let _ = delayer.wait();
            }
        }
    }
}

/// Starts `program netdelay` in the namespace at `path` and waits until it listens.
fn spawn_delayer(
    program: &Path,
    path: &Path,
    delay_ms: u32,
) -> Result<(Child, BufReader<ChildStdout>), String> {
    let namespace = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let fd = namespace.as_raw_fd();
    let mut command = Command::new(program);
    command
        .args(["netdelay", "--queue", &QUEUE.to_string(), "--delay-ms", &delay_ms.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group keeps a terminal's Ctrl-C from it (the run stops it, after deleting
    // the rule); SIGTERM at the run's death lets it release what it holds.
    crate::child::confine(&mut command, libc::SIGTERM, Some(fd));
    let mut child =
        command.spawn().map_err(|e| format!("starting {} netdelay: {e}", program.display()))?;
    drop(namespace);
    let Some(pipe) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the delayer has no standard output".into());
    };
    let mut stdout = BufReader::new(pipe);
    let mut first = String::new();
    let _ = stdout.read_line(&mut first);
    if first.trim() == "listening" {
        return Ok((child, stdout));
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    if let Some(pipe) = child.stderr.as_mut() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    Err(format!("the delayer did not start: {}", stderr.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_queues_to_the_delayers_queue() {
        let rule = rule("iptables", "ns", "-A");
        assert!(rule.windows(2).any(|w| w[0] == "--queue-num" && w[1] == QUEUE.to_string()));
        assert!(rule.iter().any(|w| w == "--queue-bypass"), "a dead delayer must not cut the link");
    }
}
