//! The history model: what clients asked, when, and what they were told.
//!
//! A history is a list of [`Operation`]s. Each one has a `call` and a `return` time; only their
//! order matters (times from different clients are compared with each other, so they must come
//! from one clock: virtual time in the simulator, or a monotonic clock of the test driver). An
//! operation whose `return` is `None` has an *unknown outcome*: it may take effect at any point
//! after its call, or never (a timeout, a crashed client, Jepsen's `:info`).
//!
//! Invariants kept by the loaders ([`crate::jsonl`], [`crate::edn`]): `return >= call` when known,
//! and times are finite numbers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One client operation: an invocation and, if known, its completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// The client (process) that issued the operation. A client issues one operation at a time.
    pub client: u64,
    /// When the operation was invoked.
    pub call: f64,
    /// When the response arrived; `None` = unknown outcome.
    #[serde(rename = "return", default)]
    pub ret: Option<f64>,
    /// The operation's name, e.g. `read`, `put`, `txn`; each model lists the names it knows.
    pub f: String,
    /// The key the operation touches, for models that are checked per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What the client sent.
    #[serde(default)]
    pub input: Value,
    /// What the client was told (ignored when the outcome is unknown).
    #[serde(default)]
    pub output: Value,
}

impl Operation {
    /// True when the outcome of the operation is not known.
    pub fn is_unknown(&self) -> bool {
        self.ret.is_none()
    }

    /// A short human description, e.g. `client 3 put x 5 -> {"revision":7}`.
    pub fn describe(&self) -> String {
        let key = self.key.as_deref().map(|k| format!(" {k}")).unwrap_or_default();
        let input = if self.input.is_null() { String::new() } else { format!(" {}", self.input) };
        let output = match (&self.ret, &self.output) {
            (None, _) => "?".to_string(),
            (Some(_), serde_json::Value::Null) if !self.f.contains("read") && self.f != "get" => {
                "ok".to_string()
            }
            (Some(_), output) => output.to_string(),
        };
        format!("client {} {}{key}{input} -> {output}", self.client, self.f)
    }

    /// True when the two operations' intervals overlap (unknown returns reach to infinity).
    pub fn overlaps(&self, other: &Operation) -> bool {
        let end = |op: &Operation| op.ret.unwrap_or(f64::INFINITY);
        self.call <= end(other) && other.call <= end(self)
    }
}

/// A recorded history: operations in any order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub ops: Vec<Operation>,
}

impl History {
    pub fn new(ops: Vec<Operation>) -> Self {
        History { ops }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
