//! Recording client operations against a real cluster as the history the checkers read
//! (`detcd_check::history`), the real-process twin of `detcd_sim::history::Recorder`.
//!
//! Times are seconds on one monotonic clock of the chaos command, from the run's start: every
//! client's times are comparable, as the checkers need. An operation invoked and never completed
//! keeps `return: null` (unknown outcome), so a client that is still waiting when the run ends
//! records nothing false. An operation the cluster certainly did not apply and that observed
//! nothing is *refused* and leaves the history (it constrains nothing, and as an unknown it
//! would only widen the search).

use detcd_check::history::Operation;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The shared history of a run; clones share it.
#[derive(Clone)]
pub struct Recorder {
    ops: Arc<Mutex<Vec<Operation>>>,
    refused: Arc<Mutex<BTreeSet<usize>>>,
    start: Instant,
}

/// An operation that was invoked and has not completed yet.
#[must_use = "complete the operation (ok, refused or unknown)"]
pub struct Pending {
    index: usize,
}

impl Recorder {
    /// A recorder whose clock starts at `start`.
    pub fn new(start: Instant) -> Recorder {
        Recorder { ops: Arc::default(), refused: Arc::default(), start }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<Operation>) -> T) -> T {
        f(&mut self.ops.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Seconds since the run began (the history's time scale).
    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Records the invocation of `f` by `client` now.
    pub fn invoke(&self, client: u64, f: &str, key: Option<&str>, input: Value) -> Pending {
        let operation = Operation {
            client,
            call: self.now(),
            ret: None,
            f: f.to_string(),
            key: key.map(str::to_string),
            input,
            output: Value::Null,
        };
        self.with(|ops| {
            ops.push(operation);
            Pending { index: ops.len() - 1 }
        })
    }

    /// The operation completed with `output`.
    pub fn complete(&self, pending: Pending, output: Value) {
        let now = self.now();
        self.with(|ops| {
            let op = &mut ops[pending.index];
            op.ret = Some(now);
            op.output = output;
        });
    }

    /// The client cannot know whether the operation took effect (its return stays unknown).
    pub fn unknown(&self, pending: Pending) {
        let _ = pending;
    }

    /// The cluster certainly did not apply the operation and the client saw nothing: it
    /// leaves the history.
    pub fn refused(&self, pending: Pending) {
        self.refused.lock().unwrap_or_else(|p| p.into_inner()).insert(pending.index);
    }

    /// Every operation that was not refused, in invocation order.
    pub fn operations(&self) -> Vec<Operation> {
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.with(|ops| {
            ops.iter()
                .enumerate()
                .filter(|(index, _)| !refused.contains(index))
                .map(|(_, op)| op.clone())
                .collect()
        })
    }
}
