//! [`Key`]: a key as the index stores it, shaped so the B-tree compares it cheaply.
//!
//! A random put or range start descends a million-key tree through about forty key compares.
//! With a plain byte string each compare is a `memcmp` call behind a pointer; here the first
//! [`INLINE`] bytes sit in the key itself, zero-padded, and one compare of big-endian words
//! decides almost every comparison without a call or a second cache line.
//!
//! Invariants:
//! - `head` holds the first `min(len, INLINE)` bytes of the key, the rest of `head` is zero;
//! - a key of at most `INLINE` bytes is `Tail::Short(len)` and owns no heap memory; a longer
//!   key is `Tail::Long` with *all* its bytes (so it can be borrowed as one slice);
//! - `Ord` is plain lexicographic byte order, the order etcd ranges over. Comparing the padded
//!   heads first is exact: if the heads differ, their first difference is either a real byte
//!   difference or a pad zero against a real byte of a longer key that continues the shorter
//!   one - both give the byte-order answer. Only equal heads need the tails.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;

/// How many leading bytes a key keeps inline: 16, so the head is one 128-bit word and a key is
/// 32 bytes, two to a cache line. (The keys of the benchmark, and many real ones, are at
/// most 16 bytes; longer ones keep their head inline and the whole key on the heap.)
pub const INLINE: usize = 16;

/// A stored key: up to [`INLINE`] bytes inline, longer keys on the heap.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    head: [u8; INLINE],
    tail: Tail,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Tail {
    /// The key is `head[..len]`.
    Short(u8),
    /// The whole key (longer than `INLINE`).
    Long(Box<[u8]>),
}

impl Key {
    /// Copies `bytes` into a key; allocates only for keys longer than [`INLINE`].
    pub fn from_slice(bytes: &[u8]) -> Key {
        let mut head = [0u8; INLINE];
        let inline = bytes.len().min(INLINE);
        head[..inline].copy_from_slice(&bytes[..inline]);
        let tail = match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE => Tail::Short(len),
            _ => Tail::Long(bytes.into()),
        };
        Key { head, tail }
    }

    pub fn as_slice(&self) -> &[u8] {
        match &self.tail {
            Tail::Short(len) => &self.head[..usize::from(*len)],
            Tail::Long(bytes) => bytes,
        }
    }

    /// The padded head as a big-endian word: comparing two compares the first `INLINE` bytes in
    /// byte order.
    #[inline(always)]
    fn word(&self) -> u128 {
        u128::from_be_bytes(self.head)
    }
}

impl Ord for Key {
    /// Inlined into the tree's descent (about forty compares per random put at a million
    /// keys): as a call it cost more than the compare itself.
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        match self.word().cmp(&other.word()) {
            Ordering::Equal => self.cmp_tails(other),
            unequal => unequal,
        }
    }
}

impl Key {
    /// The order of two keys with equal padded heads (rare: equal keys, or a shared 16-byte
    /// prefix), kept out of line.
    #[inline(never)]
    fn cmp_tails(&self, other: &Self) -> Ordering {
        match (&self.tail, &other.tail) {
            // Equal padded heads and both short: the keys differ only in trailing zeros.
            (Tail::Short(a), Tail::Short(b)) => a.cmp(b),
            _ => self.as_slice().cmp(other.as_slice()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Deref for Key {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

/// Encoded as a sequence of bytes, exactly as the byte vector it replaced, so snapshots keep
/// their format.
impl Serialize for Key {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.as_slice())
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<u8>::deserialize(deserializer).map(|bytes| Key::from_slice(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_as_small_as_the_inline_bytes_and_a_pointer() {
        assert_eq!(std::mem::size_of::<Key>(), INLINE + 16);
    }

    #[test]
    fn order_is_byte_order_across_lengths_and_trailing_zeros() {
        let samples: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            b"a".to_vec(),
            b"a\0".to_vec(),
            b"a\0\0".to_vec(),
            b"ab".to_vec(),
            vec![0xff],
            vec![0xff; 24],
            vec![0xff; 25],
            [vec![7; 24], vec![0]].concat(),
            [vec![7; 24], vec![1]].concat(),
            vec![7; 24],
            vec![7; 23],
            [vec![7; 23], vec![0]].concat(),
            [vec![7; 23], vec![0, 0]].concat(),
            vec![7; 16],
            vec![7; 15],
            [vec![7; 15], vec![0]].concat(),
            [vec![7; 16], vec![0]].concat(),
            [vec![7; 16], vec![0, 1]].concat(),
            b"key/000000000001".to_vec(),
            b"key/000000000010".to_vec(),
            b"/registry/pods/default/nginx-1".to_vec(),
            b"/registry/pods/default/nginx-2".to_vec(),
        ];
        for a in &samples {
            let ka = Key::from_slice(a);
            assert_eq!(ka.as_slice(), a.as_slice());
            for b in &samples {
                let kb = Key::from_slice(b);
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(ka == kb, a == b);
            }
        }
    }

    #[test]
    fn serializes_as_the_byte_vector_did() {
        for bytes in [b"k".to_vec(), vec![9; 40]] {
            let key = Key::from_slice(&bytes);
            let encoded = postcard::to_stdvec(&key).unwrap_or_default();
            assert_eq!(encoded, postcard::to_stdvec(&bytes).unwrap_or_default());
            assert_eq!(postcard::from_bytes::<Key>(&encoded).ok(), Some(key));
        }
    }
}
