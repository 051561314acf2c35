//! Each node's own clock: the one place the core reads time.
//!
//! In the simulator madsim has a single virtual clock shared by every node. Real machines disagree
//! about time, so each node here sees `local = anchor_local + (virtual - anchor_virtual) * rate`: an
//! offset, a drift `rate` (1.0 = perfect; 1.5 = runs 50% fast) and jumps, which re-anchor the line.
//! Durations the node asks to sleep are on its own clock and are converted back to virtual time, so
//! a node whose clock runs fast really does fire its election and lease timers early.
//!
//! Invariants: a node with no skew installed reads exactly virtual time; local time never goes below
//! zero and never goes back: this clock stands for a monotonic clock (openraft's `Instant`, lease
//! deadlines), which real kernels only ever step forward, so a skew or jump that would set it back
//! keeps its reading and takes only the new rate; a jump changes the clock from that moment on
//! (timers already armed keep their virtual deadline, as a real kernel's monotonic timers would).
//! Outside the simulator this is the process's monotonic clock and skews do not exist.

use std::time::Duration;

/// How one node's clock deviates from true (virtual) time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockSkew {
    /// Added to true time, in nanoseconds (negative = behind).
    pub offset_nanos: i64,
    /// Local seconds per true second (1.0 = no drift). Must be positive.
    pub rate: f64,
}

impl Default for ClockSkew {
    fn default() -> Self {
        ClockSkew { offset_nanos: 0, rate: 1.0 }
    }
}

/// The current node's clock, as the core's `Clock` trait.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeClock;

impl crate::clock::Clock for NodeClock {
    fn now(&self) -> Duration {
        local_now()
    }
}

#[cfg(madsim)]
pub use simulated::{clear_skews, jump, set_skew, skew_of};

#[cfg(madsim)]
mod simulated {
    use super::ClockSkew;
    use madsim::task::NodeId;
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// A node's clock line: local time at `anchor_virtual` was `anchor_local`, moving at `rate`.
    #[derive(Debug, Clone, Copy)]
    struct Line {
        anchor_virtual: i128,
        anchor_local: i128,
        rate: f64,
    }

    impl Line {
        fn local_at(&self, virtual_nanos: i128) -> i128 {
            let elapsed = (virtual_nanos - self.anchor_virtual) as f64 * self.rate;
            self.anchor_local + elapsed as i128
        }
    }

    thread_local! {
        // One simulation runs per thread, so per-thread state is per-run state.
        static LINES: RefCell<BTreeMap<NodeId, Line>> = const { RefCell::new(BTreeMap::new()) };
    }

    fn virtual_nanos() -> i128 {
        madsim::time::TimeHandle::try_current().map_or(0, |time| time.elapsed().as_nanos() as i128)
    }

    fn current_node() -> Option<NodeId> {
        madsim::time::TimeHandle::try_current().map(|_| madsim::plugin::node())
    }

    fn line_of(node: NodeId) -> Option<Line> {
        LINES.with(|lines| lines.borrow().get(&node).copied())
    }

    /// Sets a node's offset and drift from now on (replacing earlier skew and jumps); an offset
    /// below the clock's current reading is not taken (the clock never goes back).
    pub fn set_skew(node: NodeId, skew: ClockSkew) {
        let now = virtual_nanos();
        let rate = if skew.rate > 0.0 { skew.rate } else { 1.0 };
        let local = (now + skew.offset_nanos as i128).max(reading(node, now));
        let line = Line { anchor_virtual: now, anchor_local: local, rate };
        LINES.with(|lines| lines.borrow_mut().insert(node, line));
    }

    /// Moves a node's clock forward by `by_nanos` at this moment; a jump back is not taken (the
    /// clock never goes back).
    pub fn jump(node: NodeId, by_nanos: i64) {
        let now = virtual_nanos();
        let line = line_of(node).unwrap_or(Line { anchor_virtual: 0, anchor_local: 0, rate: 1.0 });
        let local = line.local_at(now) + (by_nanos as i128).max(0);
        let jumped = Line { anchor_virtual: now, anchor_local: local, rate: line.rate };
        LINES.with(|lines| lines.borrow_mut().insert(node, jumped));
    }

    /// What `node`'s clock reads at virtual time `now`.
    fn reading(node: NodeId, now: i128) -> i128 {
        line_of(node).map_or(now, |line| line.local_at(now))
    }

    /// The node's skew as seen now: its offset from true time and its rate.
    pub fn skew_of(node: NodeId) -> ClockSkew {
        let now = virtual_nanos();
        match line_of(node) {
            Some(line) => {
                ClockSkew { offset_nanos: (line.local_at(now) - now) as i64, rate: line.rate }
            }
            None => ClockSkew::default(),
        }
    }

    /// Forgets every node's skew: called by the harness at the start of a run.
    pub fn clear_skews() {
        LINES.with(|lines| lines.borrow_mut().clear());
    }

    /// The current node's clock line, if it has one. Most runs skew no clock at all, and every
    /// timer and `Instant` of every member reads this: with no lines the task's node is not
    /// looked up.
    fn current_line() -> Option<Line> {
        let skewed = LINES.with(|lines| !lines.borrow().is_empty());
        if skewed {
            current_node().and_then(line_of)
        } else {
            None
        }
    }

    pub(super) fn local_now() -> Duration {
        let Some(time) = madsim::time::TimeHandle::try_current() else {
            return Duration::ZERO;
        };
        let elapsed = time.elapsed();
        match current_line() {
            Some(line) => {
                let local = line.local_at(elapsed.as_nanos() as i128);
                Duration::from_nanos(local.max(0) as u64)
            }
            None => elapsed,
        }
    }

    pub(super) fn to_real_duration(local: Duration) -> Duration {
        match current_line() {
            Some(line) => Duration::from_secs_f64(local.as_secs_f64() / line.rate),
            None => local,
        }
    }
}

#[cfg(not(madsim))]
mod system {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    pub(super) fn local_now() -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }

    pub(super) fn to_real_duration(local: Duration) -> Duration {
        local
    }
}

#[cfg(madsim)]
use simulated as source;
#[cfg(not(madsim))]
use system as source;

/// Now, on the current node's clock.
pub(crate) fn local_now() -> Duration {
    source::local_now()
}

/// How much true time passes while the current node's clock advances by `local`.
pub(crate) fn to_real_duration(local: Duration) -> Duration {
    source::to_real_duration(local)
}
