//! Safety invariants checked continuously from what the simulator can see inside every member.
//!
//! - Election safety: at most one leader per term.
//! - State machine safety (which implies log matching for applied entries and that committed
//!   entries are never lost or replaced): every member applies the same command, from the same
//!   term, at each index.
//! - Within one incarnation of a member, applied indexes strictly increase and its revision never
//!   goes backwards; a restarted member never applies an index differently from before.
//! - At the end: members at the same revision have the same key-space hash (checked by the run).
//!
//! The first violation of each kind is kept with the virtual time it was seen, under its own
//! label (`raft invariants` for the above; the run adds `liveness`, `convergence`, `recovery`,
//! `membership` and `panic`), so a report says which promise broke.

use crate::trace;
use detcd_core::member::MemberEvent;
use detcd_core::raft::types::NodeId;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The label of the continuous safety checks above.
pub const RAFT: &str = "raft invariants";

/// One thing the simulator saw go wrong: which check (`label`) and what, with its virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub label: String,
    pub text: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.label, self.text)
    }
}

#[derive(Default)]
struct State {
    leader_of_term: BTreeMap<u64, NodeId>,
    /// index -> (term, command digest) as first applied by any member.
    applied: BTreeMap<u64, (u64, u64)>,
    /// member -> (last applied index, last revision) in its current incarnation.
    progress: BTreeMap<NodeId, (u64, i64)>,
    violations: Vec<Violation>,
}

/// The invariant checker of one run; cheap to clone, clones share it.
#[derive(Clone, Default)]
pub struct Invariants {
    state: Arc<Mutex<State>>,
}

impl Invariants {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }

    fn violate(state: &mut State, text: String) {
        Self::violate_as(state, RAFT, text)
    }

    fn violate_as(state: &mut State, label: &str, text: String) {
        trace::event("sim", format_args!("VIOLATION {label}: {text}"));
        let text = format!("{:.3}s: {text}", trace::now().as_secs_f64());
        state.violations.push(Violation { label: label.to_string(), text });
    }

    /// A member reports it leads `term`.
    pub fn leader(&self, member: NodeId, term: u64) {
        self.with(|state| match state.leader_of_term.get(&term) {
            Some(other) if *other != member => {
                let text = format!("two leaders in term {term}: n{other} and n{member}");
                Self::violate(state, text);
            }
            Some(_) => {}
            None => {
                state.leader_of_term.insert(term, member);
            }
        })
    }

    /// A member (re)started: its progress starts over (from its disk).
    pub fn restarted(&self, member: NodeId) {
        self.with(|state| state.progress.remove(&member));
    }

    /// What a member reported while applying.
    pub fn observe(&self, event: MemberEvent) {
        let MemberEvent::Applied { member, index, term, digest, revision } = event;
        self.with(|state| {
            match state.applied.get(&index) {
                Some(&(t, d)) if (t, d) != (term, digest) => {
                    let text = format!(
                        "n{member} applied index {index} from term {term} (command {digest:016x}), \
                         but index {index} was applied from term {t} (command {d:016x})"
                    );
                    Self::violate(state, text);
                }
                Some(_) => {}
                None => {
                    state.applied.insert(index, (term, digest));
                }
            }
            if let Some(&(last_index, last_revision)) = state.progress.get(&member) {
                if index <= last_index {
                    Self::violate(
                        state,
                        format!("n{member} applied index {index} after {last_index}"),
                    );
                }
                if revision < last_revision {
                    let text =
                        format!("n{member} revision went back from {last_revision} to {revision}");
                    Self::violate(state, text);
                }
            }
            state.progress.insert(member, (index, revision));
        })
    }

    /// Records a violation found elsewhere (liveness, hash mismatch), under its own label.
    pub fn report(&self, label: &str, text: String) {
        self.with(|state| Self::violate_as(state, label, text));
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.with(|state| state.violations.clone())
    }

    /// The highest term that had a leader.
    pub fn max_term(&self) -> u64 {
        self.with(|state| state.leader_of_term.keys().next_back().copied().unwrap_or(0))
    }
}
