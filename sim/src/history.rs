//! Recording client operations as a history the checkers read (`detcd_check::history`).
//!
//! Each operation is stamped with virtual time at invocation and at completion; an operation whose
//! outcome the client cannot know is completed as unknown (`return: null`), never as failed. Each
//! invocation and completion also goes into the trace.

use crate::trace;
use detcd_check::history::Operation;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The shared history of a run; clones share it.
///
/// A recorder may carry an operation cap (`--max-ops`, and the shrinker's "fewer operations"):
/// once that many operations have been invoked, [`Recorder::exhausted`] says so and every
/// workload's loop stops issuing new ones. Operations already invoked still complete.
#[derive(Clone, Default)]
pub struct Recorder {
    ops: Arc<Mutex<Vec<Operation>>>,
    /// Operations the cluster refused outright (see [`Recorder::refused`]), by index.
    refused: Arc<Mutex<BTreeSet<usize>>>,
    cap: Option<usize>,
}

/// An operation that was invoked and has not completed yet.
#[must_use = "complete the operation (ok, failed or unknown)"]
pub struct Pending {
    index: usize,
}

impl Recorder {
    /// A recorder that lets at most `cap` operations be invoked (`None`: no limit).
    pub fn with_cap(cap: Option<usize>) -> Recorder {
        Recorder { ops: Arc::default(), refused: Arc::default(), cap }
    }

    /// True once the cap's number of operations has been invoked.
    pub fn exhausted(&self) -> bool {
        self.cap.is_some_and(|cap| self.with(|ops| ops.len()) >= cap)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<Operation>) -> T) -> T {
        f(&mut self.ops.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Records the invocation of `f` by `client` now.
    pub fn invoke(&self, client: u64, f: &str, key: Option<&str>, input: Value) -> Pending {
        trace::event(&format!("c{client}"), format_args!("{f} {}", compact(&input)));
        let operation = Operation {
            client,
            call: trace::now().as_secs_f64(),
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

    /// The operation completed with `output` (a success, or a definite failure: `{"error": ...}`).
    pub fn complete(&self, pending: Pending, output: Value) {
        let now = trace::now().as_secs_f64();
        let shown = compact(&output);
        let client = self.with(|ops| {
            let op = &mut ops[pending.index];
            op.ret = Some(now);
            op.output = output;
            op.client
        });
        trace::event(&format!("c{client}"), format_args!("  -> {shown}"));
    }

    /// The client cannot know whether the operation took effect.
    pub fn unknown(&self, pending: Pending, why: &str) {
        let client = self.with(|ops| ops[pending.index].client);
        trace::event(&format!("c{client}"), format_args!("  -> unknown ({why})"));
    }

    /// Like [`Recorder::unknown`], keeping `facts` the client learnt along the way as the output
    /// (what they mean for an unknown outcome is the model's to define, e.g. the bank's
    /// `read_by`); `facts` may name the current time with [`Recorder::now`].
    pub fn unknown_with(&self, pending: Pending, why: &str, facts: Value) {
        let shown = compact(&facts);
        let client = self.with(|ops| {
            let op = &mut ops[pending.index];
            op.output = facts;
            op.client
        });
        trace::event(&format!("c{client}"), format_args!("  -> unknown ({why}) {shown}"));
    }

    /// The current time as histories record it.
    pub fn now(&self) -> f64 {
        trace::now().as_secs_f64()
    }

    /// The cluster refused the operation: it surely had no effect, and the client saw nothing of
    /// the state. For models with no error outputs (a register's write) such an operation
    /// constrains nothing, so it leaves the history; recording it as unknown instead would make
    /// the checker try it both ways at every later point (refusals pile up while a pinned client
    /// waits out a partition, and the search grows with each).
    pub fn refused(&self, pending: Pending, why: &str) {
        let client = self.with(|ops| ops[pending.index].client);
        trace::event(&format!("c{client}"), format_args!("  -> refused ({why})"));
        self.refused.lock().unwrap_or_else(|p| p.into_inner()).insert(pending.index);
    }

    /// Every operation that was not refused outright, in invocation order, taken out of the
    /// recorder: called once, when the run is over (the recorder holds none afterwards, so the
    /// history is moved rather than copied).
    pub fn take_operations(&self) -> Vec<Operation> {
        let refused = std::mem::take(&mut *self.refused.lock().unwrap_or_else(|p| p.into_inner()));
        let ops = self.with(std::mem::take);
        ops.into_iter()
            .enumerate()
            .filter(|(index, _)| !refused.contains(index))
            .map(|(_, op)| op)
            .collect()
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 120 {
        format!("{}...", &text[..text.char_indices().nth(117).map_or(text.len(), |(i, _)| i)])
    } else {
        text
    }
}
