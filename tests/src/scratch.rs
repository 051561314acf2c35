//! What every test cluster needs from the machine: free loopback ports and a fresh directory.
//!
//! A port is free when the kernel hands it out; it is released at once, so another process could
//! take it before the server binds it — rare on loopback, and the server then fails with "address
//! in use", which the test reports. Directories are unique per test process and call, and start
//! empty.

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
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
