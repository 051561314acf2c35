//! The committed event history of a run, as the simulator sees it inside the members: the ground
//! truth a watch checker compares watchers against.
//!
//! Events are read from the replica of the most advanced running member, often, so a compaction
//! (which drops history) cannot get ahead of the reader. Members agree on what they applied (the
//! run's invariants check that), so any member's history is the committed one.
//!
//! Invariants: `events` holds every event of revisions `1..=through`, in commit order, unless
//! `hole` says which revisions could not be read (they were compacted first); a checker must not
//! trust a history with a hole.

use crate::cluster::{Cluster, MemberSlot};
use detcd_core::kv::{Event, KeyRange};
use detcd_core::member::Member;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the reader looks for new revisions.
const POLL: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Default)]
pub struct CommittedEvents {
    pub events: Vec<Event>,
    /// Every revision up to here was read.
    pub through: i64,
    /// Revisions that were compacted before they could be read.
    pub hole: Option<String>,
}

/// Reads committed events from a cluster's members while the run goes on; clones share it.
#[derive(Clone)]
pub struct CommittedReader {
    slots: Vec<Arc<Mutex<MemberSlot>>>,
    log: Arc<Mutex<CommittedEvents>>,
}

impl CommittedReader {
    /// A reader of `cluster`'s current members; call `spawn` to start polling.
    pub fn new(cluster: &Cluster) -> Self {
        let slots = cluster.members.values().map(|member| member.slot.clone()).collect();
        CommittedReader { slots, log: Arc::default() }
    }

    /// Polls on the current node until the run ends.
    pub fn spawn(&self) {
        let reader = self.clone();
        madsim::task::spawn(async move {
            loop {
                reader.poll();
                madsim::time::sleep(POLL).await;
            }
        });
    }

    /// What was read so far (after one last read).
    pub fn finish(&self) -> CommittedEvents {
        self.poll();
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    fn most_advanced(&self) -> Option<Member> {
        let running = self.slots.iter().filter_map(|slot| match &*slot.lock().ok()? {
            MemberSlot::Running(member) => Some(member.clone()),
            _ => None,
        });
        running.max_by_key(|member| member.replica().lock().machine.revision())
    }

    fn poll(&self) {
        let Some(member) = self.most_advanced() else { return };
        let Ok(mut log) = self.log.lock() else { return };
        let state = member.replica().lock();
        let current = state.machine.revision();
        if current <= log.through {
            return;
        }
        let everything = KeyRange { key: vec![0], range_end: vec![0] };
        match state.machine.events(&everything, log.through + 1, current) {
            Ok(events) => log.events.extend(events),
            Err(error) => {
                let hole = format!("revisions {}..={current}: {error}", log.through + 1);
                log.hole.get_or_insert(hole);
            }
        }
        log.through = current;
    }
}
