//! What every real cluster (a test's or a chaos run's) needs from the machine: free loopback ports and a fresh directory.
//!
//! Ports are taken below the kernel's ephemeral range (Linux hands out 32768 and up for port 0
//! and for every outgoing connection's source port): a port handed out by `bind(0)` and released
//! could be taken by some client's outgoing connection before the server binds it, and the server
//! then failed with "address in use". Below that range only listeners compete, so a port that
//! binds now is the test's; a per-process counter, offset by the process id, keeps test threads
//! and concurrent test binaries apart. Directories are unique per test process and call, and
//! start empty.

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// First port and number of ports handed out (all below the ephemeral range).
const PORTS: (u32, u32) = (20_000, 12_000);

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let offset = std::process::id().wrapping_mul(7_919);
    for _ in 0..PORTS.1 {
        let n = NEXT.fetch_add(1, Ordering::SeqCst) as u32;
        let port = (PORTS.0 + offset.wrapping_add(n) % PORTS.1) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A fresh, empty directory `<tmp>/<prefix>-<pid>-<n>`.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}
