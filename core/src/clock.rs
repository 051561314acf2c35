//! The time seam: every read of time in the core goes through a `Clock`.
//!
//! The core never reads the wall clock. Code that needs time (lease countdowns on the leader,
//! client deadlines, raft timers) is handed a `Clock`; the simulator supplies one per node with its
//! own offset, drift and jumps over madsim's virtual time, the server supplies the system's
//! monotonic clock, and tests supply a `ManualClock` they move by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A node's monotonic view of time, measured from an arbitrary origin.
pub trait Clock: Send + Sync {
    fn now(&self) -> Duration;
}

/// A clock that only moves when told to: for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}
