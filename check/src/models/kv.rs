//! `kv`: independent string-keyed registers with get / put / append (and cas), checked per key.
//!
//! Every operation names its key in the `key` field; a missing key reads as `null` (or as `""`:
//! many key-value stores, and porcupine's histories, return the empty string for it).
//!
//! | `f` | `input` | `output` |
//! |---|---|---|
//! | `get` (or `read`) | (ignored) | the value, or `null` if absent |
//! | `put` (or `write`) | the value | (ignored) |
//! | `append` | a string to append (to `""` if absent) | (ignored) |
//! | `cas` | `[expected, new]` | `true` / `false` as for `register` |
//!
//! ```text
//! {"client":0,"call":0,"return":1,"f":"put","key":"x","input":"a"}
//! {"client":1,"call":0,"return":2,"f":"append","key":"x","input":"b"}
//! {"client":2,"call":3,"return":4,"f":"get","key":"x","output":"ab"}
//! ```
//!
//! The state is a map from key to value, so the model is also correct when checked as one
//! partition; by default it partitions by key (P-compositionality).

use std::sync::Arc;

use serde_json::Value;

use super::register::{canonical, cas_outcome, cas_pair};
use crate::history::{History, Operation};
use crate::linearizability::{partition_by_key, Model, Next};

/// The key-value model; `partitioned: false` checks all keys as one object (slower; for
/// comparisons and tests).
#[derive(Clone, Copy, Debug)]
pub struct Kv {
    pub partitioned: bool,
}

impl Default for Kv {
    fn default() -> Self {
        Kv { partitioned: true }
    }
}

/// A value: `None` = absent.
type Slot = Option<String>;

/// A stored text: shared (cloning a state copies no bytes) with its hash kept alongside (hashing
/// a state reads no bytes). The hash is polynomial, so an append extends it from the suffix
/// alone. Appends make values long, so all of this matters for the search's speed.
#[derive(Clone, Debug)]
pub struct Text {
    hash: u64,
    text: Arc<String>,
}

/// A key with its hash computed once.
#[derive(Clone, Debug)]
pub struct Key {
    hash: u64,
    name: Arc<str>,
}

impl Key {
    fn new(name: &str) -> Key {
        Key { hash: extend_hash(0, name.as_bytes()), name: name.into() }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.name, &other.name) || self.name == other.name)
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

const HASH_BASE: u64 = 0x100_0000_01b3;

fn extend_hash(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = hash.wrapping_mul(HASH_BASE).wrapping_add(b as u64 + 1);
    }
    hash
}

impl Text {
    fn new(text: String) -> Text {
        Text { hash: extend_hash(0, text.as_bytes()), text: Arc::new(text) }
    }

    /// This text followed by `suffix`.
    fn appended(&self, suffix: &str) -> Text {
        let mut text = String::with_capacity(self.text.len() + suffix.len());
        text.push_str(&self.text);
        text.push_str(suffix);
        Text { hash: extend_hash(self.hash, suffix.as_bytes()), text: Arc::new(text) }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

#[derive(Debug)]
pub enum KvAction {
    /// The value read (canonical JSON; `None` when the outcome is unknown).
    Get(Option<Slot>),
    Put(Text),
    Append(String),
    Cas {
        expected: String,
        new: Text,
        swapped: Option<bool>,
    },
}

#[derive(Debug)]
pub struct KvOp {
    pub key: Key,
    pub action: KvAction,
}

impl Model for Kv {
    /// Keys with their values, sorted by key (a per-key partition holds one).
    type State = Vec<(Key, Text)>;
    type Op = KvOp;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn decode(&self, op: &Operation) -> Result<KvOp, String> {
        let key = Key::new(op.key.as_deref().ok_or("kv operations need a `key`")?);
        let action = match op.f.as_str() {
            "get" | "read" => KvAction::Get((!op.is_unknown()).then(|| match &op.output {
                Value::Null => None,
                other => Some(text(other)),
            })),
            "put" | "write" => KvAction::Put(Text::new(text(&op.input))),
            "append" => KvAction::Append(text(&op.input)),
            "cas" => {
                let Value::Array(pair) = &op.input else {
                    return Err(cas_pair(&op.input).err().unwrap_or_default());
                };
                let (expected, new) = match pair.as_slice() {
                    [expected, new] => (text(expected), text(new)),
                    _ => {
                        return Err(format!("cas input must be [expected, new], got {}", op.input))
                    }
                };
                KvAction::Cas { expected, new: Text::new(new), swapped: cas_outcome(op)? }
            }
            other => return Err(format!("kv has no operation {other:?} (get, put, append, cas)")),
        };
        Ok(KvOp { key, action })
    }

    fn init(&self) -> Self::State {
        Vec::new()
    }

    fn step(&self, state: &Self::State, op: &KvOp) -> Next<Self::State> {
        let slot = state.binary_search_by(|(key, _)| key.as_str().cmp(op.key.as_str()));
        let current_text = slot.ok().map(|i| &state[i].1);
        let current = current_text.map(Text::as_str);
        let with = |value: Text| {
            let mut next = state.clone();
            match slot {
                Ok(i) => next[i].1 = value,
                Err(i) => next.insert(i, (op.key.clone(), value)),
            }
            Next::To(next)
        };
        match &op.action {
            KvAction::Get(None) => Next::Same,
            KvAction::Get(Some(read)) => {
                Next::same_if(read.as_deref() == current.or(read.as_ref().and(Some(""))))
            }
            KvAction::Put(value) => with(value.clone()),
            KvAction::Append(suffix) => {
                with(current_text.map_or_else(|| Text::new(suffix.clone()), |t| t.appended(suffix)))
            }
            KvAction::Cas { expected, new, swapped } => {
                let matches = current.map_or("null", |v| v) == expected;
                match swapped {
                    Some(swapped) if *swapped != matches => Next::Illegal,
                    _ if matches => with(new.clone()),
                    _ => Next::Same,
                }
            }
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        let pairs: Vec<String> =
            state.iter().map(|(k, v)| format!("{}={:?}", k.as_str(), v.as_str())).collect();
        format!("{{{}}}", pairs.join(", "))
    }

    fn is_read_only(&self, op: &KvOp) -> bool {
        matches!(op.action, KvAction::Get(_))
    }

    fn partition(&self, history: &History) -> Vec<(Option<String>, Vec<usize>)> {
        if self.partitioned {
            partition_by_key(history)
        } else {
            vec![(None, (0..history.ops.len()).collect())]
        }
    }
}

/// Values are stored as plain text: strings as themselves (so `append` concatenates), other JSON
/// as canonical text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => canonical(other),
    }
}
