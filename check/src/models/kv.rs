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

/// A stored text as a persistent chain of appended pieces, newest last, with its length and
/// hash kept alongside. An append makes one small node that shares everything before it, so it
/// costs O(suffix), not O(text), and cloning a state copies no bytes; hashing reads no bytes.
/// The hash is polynomial, so an append extends it from the suffix alone. Appends make values
/// long, so all of this matters for the search's speed.
///
/// Invariants: `len` and `hash` are those of the concatenated pieces; equal texts compare
/// equal whatever their piece boundaries (comparison reads bytes only when length and hash
/// agree, and then walks the pieces).
#[derive(Clone, Debug)]
pub struct Text {
    hash: u64,
    len: usize,
    last: Option<Arc<Piece>>,
}

/// One piece of a [`Text`] and the pieces before it.
#[derive(Debug)]
struct Piece {
    before: Option<Arc<Piece>>,
    bytes: Arc<str>,
}

impl Drop for Piece {
    /// Frees a long chain iteratively: a recursive drop of thousands of appends would overflow
    /// the stack.
    fn drop(&mut self) {
        let mut before = self.before.take();
        while let Some(piece) = before {
            before = match Arc::try_unwrap(piece) {
                Ok(mut alone) => alone.before.take(),
                Err(_) => None,
            };
        }
    }
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
    fn new(text: &str) -> Text {
        Text::default().appended_shared(text.into())
    }

    /// This text followed by `suffix` (shared, not copied).
    fn appended_shared(&self, suffix: Arc<str>) -> Text {
        if suffix.is_empty() {
            return self.clone();
        }
        Text {
            hash: extend_hash(self.hash, suffix.as_bytes()),
            len: self.len + suffix.len(),
            last: Some(Arc::new(Piece { before: self.last.clone(), bytes: suffix })),
        }
    }

    /// The pieces, newest first.
    fn pieces_backwards(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::successors(self.last.as_deref(), |piece| piece.before.as_deref())
            .map(|piece| piece.bytes.as_bytes())
    }

    /// Whether the text is exactly `read` (whose hash is known, so a different text is almost
    /// always told apart without reading a byte).
    fn is_read(&self, read: &Read) -> bool {
        self.hash == read.hash && self.is(read.text.as_bytes())
    }

    /// Whether the text is exactly `bytes`.
    pub fn is(&self, bytes: &[u8]) -> bool {
        if self.len != bytes.len() {
            return false;
        }
        let mut end = bytes.len();
        self.pieces_backwards().all(|piece| {
            let start = end - piece.len();
            let same = bytes[start..end] == *piece;
            end = start;
            same
        })
    }

    /// Whether the text is a prefix of `bytes`.
    fn is_prefix_of(&self, bytes: &[u8]) -> bool {
        bytes.get(..self.len).is_some_and(|prefix| self.is(prefix))
    }

    /// The text as one string (for explanations).
    pub fn to_text(&self) -> String {
        let mut pieces: Vec<&[u8]> = self.pieces_backwards().collect();
        pieces.reverse();
        String::from_utf8_lossy(&pieces.concat()).into_owned()
    }
}

impl Default for Text {
    /// The empty text.
    fn default() -> Text {
        Text { hash: 0, len: 0, last: None }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.hash == other.hash && self.len == other.len && same_bytes(self, other)
    }
}

/// Whether two texts of equal length hold the same bytes: compared from the end, piece by
/// piece, without copying; as soon as both sides stand at the start of one shared chain of
/// pieces (texts grown from a common ancestor), the rest is known equal.
fn same_bytes(a: &Text, b: &Text) -> bool {
    let (mut next_a, mut next_b) = (a.last.as_deref(), b.last.as_deref());
    let (mut rest_a, mut rest_b): (&[u8], &[u8]) = (&[], &[]);
    loop {
        if rest_a.is_empty() && rest_b.is_empty() {
            match (next_a, next_b) {
                (Some(x), Some(y)) if std::ptr::eq(x, y) => return true,
                (None, None) => return true,
                _ => {}
            }
        }
        if rest_a.is_empty() {
            let Some(piece) = next_a else { return rest_b.is_empty() && next_b.is_none() };
            (rest_a, next_a) = (piece.bytes.as_bytes(), piece.before.as_deref());
        }
        if rest_b.is_empty() {
            let Some(piece) = next_b else { return false };
            (rest_b, next_b) = (piece.bytes.as_bytes(), piece.before.as_deref());
        }
        let common = rest_a.len().min(rest_b.len());
        let (keep_a, tail_a) = rest_a.split_at(rest_a.len() - common);
        let (keep_b, tail_b) = rest_b.split_at(rest_b.len() - common);
        if tail_a != tail_b {
            return false;
        }
        (rest_a, rest_b) = (keep_a, keep_b);
    }
}

impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The model's state: keys with their values, sorted by key. A partition of a per-key check
/// holds at most one key, so that case lies inline and a new state costs no allocation of its
/// own. Invariant (so derived equality is equality of contents): `One` exactly when at most
/// one key is stored, `Many` otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvState {
    One(Option<(Key, Text)>),
    Many(Vec<(Key, Text)>),
}

impl KvState {
    fn pairs(&self) -> &[(Key, Text)] {
        match self {
            KvState::One(one) => one.as_slice(),
            KvState::Many(many) => many,
        }
    }

    /// The value of `key`, if stored.
    fn get(&self, key: &Key) -> Option<&Text> {
        if let KvState::One(one) = self {
            // Per key, the only key there is: compared by hash (and pointer) first.
            return one.as_ref().filter(|(k, _)| k == key).map(|(_, value)| value);
        }
        let pairs = self.pairs();
        let found = pairs.binary_search_by(|(k, _)| k.as_str().cmp(key.as_str())).ok()?;
        Some(&pairs[found].1)
    }

    /// This state with `key` set to `value`.
    fn with(&self, key: &Key, value: Text) -> KvState {
        match self {
            KvState::One(None) => KvState::One(Some((key.clone(), value))),
            KvState::One(Some((k, _))) if k == key => KvState::One(Some((key.clone(), value))),
            _ => {
                let mut pairs = self.pairs().to_vec();
                match pairs.binary_search_by(|(k, _)| k.as_str().cmp(key.as_str())) {
                    Ok(i) => pairs[i].1 = value,
                    Err(i) => pairs.insert(i, (key.clone(), value)),
                }
                KvState::Many(pairs)
            }
        }
    }
}

/// A value a get returned, with its hash (as a [`Text`]'s) computed once.
#[derive(Debug)]
pub struct Read {
    hash: u64,
    text: String,
}

impl Read {
    fn new(text: String) -> Read {
        Read { hash: extend_hash(0, text.as_bytes()), text }
    }
}

#[derive(Debug)]
pub enum KvAction {
    /// The value read (`None` inside: null, absent; `None` outside: the outcome is unknown).
    Get(Option<Option<Read>>),
    Put(Text),
    Append(Arc<str>),
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
    type State = KvState;
    type Op = KvOp;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn decode(&self, op: &Operation) -> Result<KvOp, String> {
        let key = Key::new(op.key.as_deref().ok_or("kv operations need a `key`")?);
        let action = match op.f.as_str() {
            "get" | "read" => KvAction::Get((!op.is_unknown()).then(|| match &op.output {
                Value::Null => None,
                other => Some(Read::new(text(other))),
            })),
            "put" | "write" => KvAction::Put(Text::new(&text(&op.input))),
            "append" => KvAction::Append(text(&op.input).into()),
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
                KvAction::Cas { expected, new: Text::new(&new), swapped: cas_outcome(op)? }
            }
            other => return Err(format!("kv has no operation {other:?} (get, put, append, cas)")),
        };
        Ok(KvOp { key, action })
    }

    fn init(&self) -> Self::State {
        KvState::One(None)
    }

    fn step(&self, state: &Self::State, op: &KvOp) -> Next<Self::State> {
        let current = state.get(&op.key);
        match &op.action {
            KvAction::Get(None) => Next::Same,
            KvAction::Get(Some(read)) => {
                // An absent key reads as null, or as "" (see the module doc).
                let legal = match (read, current) {
                    (Some(read), Some(current)) => current.is_read(read),
                    (Some(read), None) => read.text.is_empty(),
                    (None, current) => current.is_none(),
                };
                Next::same_if(legal)
            }
            KvAction::Put(value) => Next::To(state.with(&op.key, value.clone())),
            KvAction::Append(suffix) => {
                let value = current.cloned().unwrap_or_default().appended_shared(suffix.clone());
                Next::To(state.with(&op.key, value))
            }
            KvAction::Cas { expected, new, swapped } => {
                let matches = current.map_or(expected == "null", |v| v.is(expected.as_bytes()));
                match swapped {
                    Some(swapped) if *swapped != matches => Next::Illegal,
                    _ if matches => Next::To(state.with(&op.key, new.clone())),
                    _ => Next::Same,
                }
            }
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        let pairs: Vec<String> = state
            .pairs()
            .iter()
            .map(|(k, v)| format!("{}={:?}", k.as_str(), v.to_text()))
            .collect();
        format!("{{{}}}", pairs.join(", "))
    }

    fn effect_name(&self, op: &KvOp) -> Option<String> {
        // Quoted (`{:?}`) so that no two different operations print alike.
        let key = op.key.as_str();
        match &op.action {
            KvAction::Get(_) => None,
            KvAction::Put(value) => Some(format!("put {key:?} {:?}", value.to_text())),
            KvAction::Append(suffix) => Some(format!("append {key:?} {suffix:?}")),
            KvAction::Cas { expected, new, .. } => {
                Some(format!("cas {key:?} {expected:?} {:?}", new.to_text()))
            }
        }
    }

    fn overwrites(&self, later: &KvOp, earlier: &KvOp) -> bool {
        matches!(later.action, KvAction::Put(_)) && later.key == earlier.key
    }

    /// An unknown put or append is unobserved when no read of its key with a known outcome
    /// holds what it wrote: after a put of `v` a key's value starts with `v` until the next
    /// put, and after an append of `s` it contains `s` until then. Leaving such an operation
    /// out changes the key's value only where no read looks (appends are legal on any value,
    /// and the next put makes the values equal again), so every linearization stays one. A key
    /// with any compare-and-swap is left alone (a swap's guard looks at the value too).
    fn unobserved(&self, ops: &[(&KvOp, bool)]) -> Vec<bool> {
        let mut reads: std::collections::HashMap<&Key, Vec<&str>> = Default::default();
        let mut guarded: std::collections::HashSet<&Key> = Default::default();
        for (op, known) in ops {
            match &op.action {
                KvAction::Get(Some(Some(read))) if *known => {
                    reads.entry(&op.key).or_default().push(&read.text)
                }
                KvAction::Cas { .. } => {
                    guarded.insert(&op.key);
                }
                _ => {}
            }
        }
        let no_reads = Vec::new();
        ops.iter()
            .map(|(op, known)| {
                if *known || guarded.contains(&op.key) {
                    return false;
                }
                let reads = reads.get(&op.key).unwrap_or(&no_reads);
                match &op.action {
                    KvAction::Put(value) => {
                        let value = value.to_text();
                        !reads.iter().any(|read| read.starts_with(value.as_str()))
                    }
                    KvAction::Append(suffix) => {
                        !suffix.is_empty() && !reads.iter().any(|read| read.contains(&**suffix))
                    }
                    _ => false,
                }
            })
            .collect()
    }

    /// A read is outgrown once its key's value is present and no prefix of what it returned:
    /// appends only extend a value, so only a put (or a compare-and-swap that may swap) of a
    /// prefix of the read value, on the same key, can make the read legal again. A read of
    /// null is outgrown once the key exists: nothing removes a key.
    fn revivers(&self, ops: &[&KvOp]) -> Vec<Option<Vec<usize>>> {
        let mut writers: std::collections::HashMap<&Key, Vec<(usize, &Text)>> = Default::default();
        for (position, op) in ops.iter().enumerate() {
            let written = match &op.action {
                KvAction::Put(value) => value,
                KvAction::Cas { new, swapped, .. } if *swapped != Some(false) => new,
                _ => continue,
            };
            writers.entry(&op.key).or_default().push((position, written));
        }
        ops.iter()
            .map(|op| match &op.action {
                KvAction::Get(Some(Some(read))) => Some(
                    writers
                        .get(&op.key)
                        .into_iter()
                        .flatten()
                        .filter(|(_, value)| value.is_prefix_of(read.text.as_bytes()))
                        .map(|&(position, _)| position)
                        .collect(),
                ),
                KvAction::Get(Some(None)) => Some(Vec::new()),
                _ => None,
            })
            .collect()
    }

    fn outgrown(&self, state: &KvState, op: &KvOp) -> bool {
        let current = state.get(&op.key);
        match (&op.action, current) {
            (KvAction::Get(Some(Some(read))), Some(value)) => {
                !value.is_prefix_of(read.text.as_bytes())
            }
            (KvAction::Get(Some(None)), current) => current.is_some(),
            _ => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_compare_by_content_whatever_their_pieces() {
        let whole = Text::new("abcdef");
        let pieces = Text::new("ab").appended_shared("cd".into()).appended_shared("ef".into());
        assert_eq!(whole, pieces);
        assert_eq!(fx(&whole), fx(&pieces));
        assert!(pieces.is(b"abcdef"));
        assert!(!pieces.is(b"abcdeg"));
        assert!(!pieces.is(b"abcde"));
        assert_ne!(pieces, Text::new("abcdeg"));
        assert_eq!(pieces.to_text(), "abcdef");
        assert_eq!(Text::new(""), Text::default());
        let base = Text::new("ab");
        let (x, y) = (base.appended_shared("c".into()), base.appended_shared("c".into()));
        assert_eq!(x, y);
        assert_eq!(x.appended_shared("de".into()), Text::new("abc").appended_shared("de".into()));
        assert_ne!(base.appended_shared("cd".into()), base.appended_shared("dc".into()));
        assert!(same_bytes(&Text::new("ab"), &Text::new("ab")));
        assert!(!same_bytes(&Text::new("ab"), &Text::new("ba")));
    }

    #[test]
    fn a_long_chain_of_appends_drops_without_overflowing_the_stack() {
        let mut text = Text::default();
        for _ in 0..200_000 {
            text = text.appended_shared("x".into());
        }
        assert_eq!(text.len, 200_000);
        drop(text);
    }

    #[test]
    fn reads_of_absent_keys_and_empty_values() {
        let key = Key::new("k");
        let get = |read: Option<&str>| KvOp {
            key: key.clone(),
            action: KvAction::Get(Some(read.map(|r| Read::new(r.to_string())))),
        };
        let absent = Kv::default().init();
        assert_eq!(Kv::default().step(&absent, &get(None)), Next::Same);
        assert_eq!(Kv::default().step(&absent, &get(Some(""))), Next::Same);
        assert_eq!(Kv::default().step(&absent, &get(Some("a"))), Next::Illegal);
        let empty = absent.with(&key, Text::new(""));
        assert_eq!(Kv::default().step(&empty, &get(None)), Next::Illegal);
        assert_eq!(Kv::default().step(&empty, &get(Some(""))), Next::Same);
    }

    fn fx(text: &Text) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        hasher.finish()
    }
}
