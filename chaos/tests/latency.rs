//! A degraded link really is slower: round trips to a member's namespace, measured from the
//! host, take the fault's delay longer while it holds (by `tc netem` where the kernel has it,
//! else by the NFQUEUE delayer), and are fast again after the heal; the heal counts the
//! packets a delayer held; and neither a heal nor dropping the network mid-delay leaves a
//! delayer process or a namespace behind.
//!
//! Needs root (CAP_NET_ADMIN), Debian's iproute2 and nftables, and iptables where the kernel
//! has no `sch_netem` (`scripts/test` installs them): without them the test says so and is
//! skipped.

mod common;

use common::{namespaces_of, serial};
use detcd_chaos::latency::Mechanism;
use detcd_chaos::network::{self, Network};
use detcd_chaos::partition::Plan;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const ECHO_PORT: u16 = 7070;
const DELAY_MS: u32 = 150;

/// A one-byte echo server in the namespace at `path`, on `address`, until `stop` is set.
fn echo_in(path: PathBuf, address: String, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    let (ready, listening) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let namespace = std::fs::File::open(&path).expect("the namespace opens");
        // SAFETY: setns(2) on this thread only, which serves the echo and nothing else.
        let entered = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
        let listener = TcpListener::bind((address.as_str(), ECHO_PORT)).expect("echo binds");
        listener.set_nonblocking(true).expect("nonblocking");
        ready.send(()).expect("the test waits");
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let stop = stop.clone();
                    std::thread::spawn(move || {
                        let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
                        let mut byte = [0u8; 1];
                        while !stop.load(Ordering::SeqCst) {
                            match stream.read(&mut byte) {
                                Ok(0) => return,
                                Ok(_) => {
                                    if stream.write_all(&byte).is_err() {
                                        return;
                                    }
                                }
                                Err(e)
                                    if matches!(
                                        e.kind(),
                                        ErrorKind::WouldBlock | ErrorKind::TimedOut
                                    ) => {}
                                Err(_) => return,
                            }
                        }
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
    listening.recv_timeout(Duration::from_secs(10)).expect("the echo server listens");
    handle
}

/// The round trips of `count` one-byte echoes over `stream`, sorted.
fn round_trips(stream: &mut TcpStream, count: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..count {
        let started = Instant::now();
        stream.write_all(b"x").expect("write");
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).expect("the echo answers");
        times.push(started.elapsed());
    }
    times.sort();
    times
}

/// Whether `pid` runs (a zombie whose parent has not reaped it yet does not).
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    state.is_some_and(|state| state != "Z")
}

#[test]
fn a_degraded_link_delays_round_trips_by_its_delay_and_leaves_nothing_behind() {
    if let Err(why) = network::usable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let _one = serial();
    let mut network = Network::create(1, 0, Instant::now()).expect("the network");
    network.set_delayer(Path::new(env!("CARGO_BIN_EXE_detcd-chaos")));
    if let Mechanism::Unavailable(why) = network.latency() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let nfqueue = matches!(network.latency(), Mechanism::Nfqueue { .. });
    let stop = Arc::new(AtomicBool::new(false));
    let echo = echo_in(network.namespace_path(0), network.address(0), stop.clone());
    let mut stream =
        TcpStream::connect((network.address(0).as_str(), ECHO_PORT)).expect("the echo connects");
    stream.set_nodelay(true).expect("nodelay");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");

    let before = round_trips(&mut stream, 20);
    let delay = Plan { degrade: Some((0, 0, DELAY_MS)), ..Plan::default() };
    network.apply(&delay, "degrade for the test").expect("the delay applies");
    let pids = network.delayer_pids();
    assert_eq!(pids.len(), usize::from(nfqueue), "one delayer under nfqueue: {pids:?}");
    let during = round_trips(&mut stream, 20);
    let healed = network.heal().expect("the heal");
    let after = round_trips(&mut stream, 20);

    let delay = Duration::from_millis(u64::from(DELAY_MS));
    let median = |times: &[Duration]| times[times.len() / 2];
    eprintln!(
        "{}: median round trip before {:?}, during a {delay:?} delay {:?} (fastest {:?}), after {:?}; heal {healed:?}",
        network.latency().name(),
        median(&before),
        median(&during),
        during[0],
        median(&after)
    );
    assert!(median(&before) < Duration::from_millis(50), "a slow link before: {before:?}");
    // The answer leaves the member's namespace delayed, so no round trip is faster than it.
    assert!(during[0] >= delay * 95 / 100, "a round trip beat the delay: {during:?}");
    assert!(median(&during) < delay + Duration::from_millis(200), "{during:?}");
    assert!(median(&after) < Duration::from_millis(50), "still slow after the heal: {after:?}");
    if nfqueue {
        assert_eq!(healed.latency, "nfqueue");
        assert!(healed.delayed >= 20, "the delayer held fewer packets than answers: {healed:?}");
        assert!(pids.iter().all(|&pid| !alive(pid)), "a healed delayer lives on: {pids:?}");
        let log = network.log().join("\n");
        assert!(log.contains("latency by nfqueue"), "{log}");
        assert!(log.contains("by nfqueue (delayer pid"), "{log}");
        assert!(log.contains(" packets delayed by nfqueue ("), "{log}");
    }

    // Dropped mid-delay (an early exit, Ctrl-C): the delayer and the namespace go with it.
    let delay = Plan { degrade: Some((0, 0, DELAY_MS)), ..Plan::default() };
    network.apply(&delay, "degrade again").expect("the delay applies again");
    let pids = network.delayer_pids();
    stop.store(true, Ordering::SeqCst);
    drop(stream);
    echo.join().expect("the echo thread ends");
    drop(network);
    assert!(pids.iter().all(|&pid| !alive(pid)), "a dropped network's delayer lives: {pids:?}");
    let me = std::process::id();
    assert!(namespaces_of(me).is_empty(), "left {:?}", namespaces_of(me));
}

/// The pids in `namespace` whose command line is a delayer's (`... netdelay ...`).
fn delayers_in(namespace: &str) -> Vec<u32> {
    let output = std::process::Command::new("ip").args(["netns", "pids", namespace]).output();
    let listed =
        output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    listed
        .split_whitespace()
        .filter_map(|pid| pid.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline.split(|&b| b == 0).any(|word| word == b"netdelay")
        })
        .collect()
}

/// A run SIGKILLed while a delay holds: its delayer is told by the kernel (PDEATHSIG) and
/// exits, and the next sweep removes the run's namespaces.
#[test]
fn a_killed_runs_delayer_exits_and_the_sweep_removes_its_namespaces() {
    if let Err(why) = network::usable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let _one = serial();
    let out =
        std::env::temp_dir().join(format!("detcd-chaos-test-delay-kill-{}", std::process::id()));
    // Seed 3's first fault degrades the leader's link from about 4 s on, for about 5 s.
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_detcd-chaos"))
        .args(["run", "register", "--binary", "detcd", "--duration", "20s", "--seed", "3"])
        .args(["--faults", "netem", "--binary-path"])
        .arg(common::detcd())
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("detcd-chaos starts");
    let pid = run.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let delayers = loop {
        let found: Vec<u32> = namespaces_of(pid).iter().flat_map(|ns| delayers_in(ns)).collect();
        if !found.is_empty() {
            break found;
        }
        if Instant::now() > deadline || run.try_wait().expect("wait").is_some() {
            let _ = run.kill();
            let _ = run.wait();
            let _ = std::fs::remove_dir_all(&out);
            // tc netem makes its delay without a process; nothing of a delayer to test then.
            eprintln!("SKIPPED: no delayer appeared (tc netem here, or no way to delay)");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    run.kill().expect("SIGKILL");
    run.wait().expect("reaped");
    let deadline = Instant::now() + Duration::from_secs(10);
    while delayers.iter().any(|&pid| alive(pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(delayers.iter().all(|&pid| !alive(pid)), "a killed run's delayer lives: {delayers:?}");
    assert_eq!(namespaces_of(pid).len(), 3, "SIGKILL ran no clean-up");
    network::sweep_leftovers();
    assert!(namespaces_of(pid).is_empty(), "the sweep left {:?}", namespaces_of(pid));
    let _ = std::fs::remove_dir_all(&out);
    let _ =
        std::fs::remove_dir_all(std::env::temp_dir().join(format!("detcd-chaos-detcd-{pid}-0")));
}
