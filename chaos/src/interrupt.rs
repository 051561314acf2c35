//! Ctrl-C and SIGTERM: the run stops at its next check and cleans up as on any other exit.
//!
//! The handler only sets a flag (all a signal handler may safely do); the code that waits —
//! for a member to get ready, for the next fault, for a pause to end — sleeps in short steps
//! and returns [`Interrupted`] once the flag is up, so the cluster guard is dropped on the way
//! out and kills and removes everything the run started.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// The run was interrupted (Ctrl-C or SIGTERM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM (once per process is enough; again is harmless).
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Whether an interrupt has arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Sleeps for `duration`, or less if interrupted.
pub fn sleep(duration: Duration) -> Result<(), Interrupted> {
    sleep_until(Instant::now() + duration)
}

/// Sleeps until `deadline`, or less if interrupted.
pub fn sleep_until(deadline: Instant) -> Result<(), Interrupted> {
    loop {
        if requested() {
            return Err(Interrupted);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}
