//! Named fault-injection points inside the core, switched on per run by the seed (FoundationDB's
//! "buggify").
//!
//! A site is a place where the core can misbehave in a way the real world allows: apply slowly,
//! lose or repeat a peer message, snapshot at an odd moment, hit a slow disk. When the simulator
//! enables buggify for a run, each site is decided once, at its first use, to be active for the
//! whole run (with probability `SITE_ACTIVE`); an active site then fires at each use with its own
//! small probability. Every draw comes from madsim's seeded generator, so a seed replays exactly.
//! Outside the simulator `fires` is always false and compiles to nothing.

/// The fault-injection sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Site {
    /// Pause before applying a batch of committed entries.
    ApplyDelay,
    /// Lose a message to a peer (reported as unreachable).
    DropPeerMessage,
    /// Deliver a message to a peer twice.
    DuplicatePeerMessage,
    /// Build a snapshot (and purge the log) now.
    ForceSnapshot,
    /// Take longer to make a log append durable.
    SlowDisk,
}

impl Site {
    pub const ALL: [Site; 5] = [
        Site::ApplyDelay,
        Site::DropPeerMessage,
        Site::DuplicatePeerMessage,
        Site::ForceSnapshot,
        Site::SlowDisk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Site::ApplyDelay => "apply-delay",
            Site::DropPeerMessage => "drop-peer-message",
            Site::DuplicatePeerMessage => "duplicate-peer-message",
            Site::ForceSnapshot => "force-snapshot",
            Site::SlowDisk => "slow-disk",
        }
    }

    /// How often an active site fires.
    #[cfg_attr(not(madsim), allow(dead_code))]
    fn fire_probability(self) -> f64 {
        match self {
            Site::ApplyDelay => 0.05,
            Site::DropPeerMessage => 0.02,
            Site::DuplicatePeerMessage => 0.02,
            Site::ForceSnapshot => 0.01,
            Site::SlowDisk => 0.05,
        }
    }
}

/// Chance that a site is active for a run once buggify is on.
pub const SITE_ACTIVE: f64 = 0.25;

#[cfg(madsim)]
mod simulated {
    use super::{Site, SITE_ACTIVE};
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct State {
        enabled: bool,
        decided: BTreeMap<Site, bool>,
    }

    thread_local! {
        // One simulation per thread: per-thread state is per-run state.
        static STATE: RefCell<State> = RefCell::new(State::default());
    }

    fn draw() -> f64 {
        madsim::rand::random::<f64>()
    }

    pub fn reset(enabled: bool) {
        STATE.with(|state| *state.borrow_mut() = State { enabled, decided: BTreeMap::new() });
    }

    pub fn fires(site: Site) -> bool {
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            if !state.enabled {
                return false;
            }
            let active = *state.decided.entry(site).or_insert_with(|| draw() < SITE_ACTIVE);
            active && draw() < site.fire_probability()
        })
    }

    pub fn active_sites() -> Vec<Site> {
        STATE.with(|state| {
            state.borrow().decided.iter().filter(|(_, on)| **on).map(|(site, _)| *site).collect()
        })
    }
}

/// Turns buggify on or off for the run on this thread, forgetting earlier decisions.
#[cfg(madsim)]
pub fn reset(enabled: bool) {
    simulated::reset(enabled)
}

/// Whether `site` misbehaves this time.
#[cfg(madsim)]
pub fn fires(site: Site) -> bool {
    simulated::fires(site)
}

/// The sites decided active so far in this run.
#[cfg(madsim)]
pub fn active_sites() -> Vec<Site> {
    simulated::active_sites()
}

#[cfg(not(madsim))]
#[inline(always)]
pub fn fires(_site: Site) -> bool {
    false
}
