//! Keys and values of a run.
//!
//! Key `n` of the key space is `n` in decimal, zero-padded on the left to `--key-size` bytes, so
//! every key has exactly the requested size and distinct numbers never collide (the plan checks
//! that the size is wide enough). Values are `--val-size` bytes of `'v'`: their content does not
//! matter to either server, only their size.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The keys one client draws from.
#[derive(Debug)]
pub struct KeyPicker {
    key_size: usize,
    key_space: u64,
    rng: StdRng,
}

impl KeyPicker {
    /// Client `client`'s picker; clients get different, reproducible sequences.
    pub fn new(key_size: usize, key_space: u64, client: usize) -> KeyPicker {
        KeyPicker { key_size, key_space, rng: StdRng::seed_from_u64(client as u64) }
    }

    /// A uniformly random key of the key space.
    pub fn random(&mut self) -> Vec<u8> {
        let n = self.rng.gen_range(0..self.key_space);
        key(n, self.key_size)
    }
}

/// Key number `n`, `size` bytes wide.
pub fn key(n: u64, size: usize) -> Vec<u8> {
    format!("{n:0>size$}").into_bytes()
}

/// A value of `size` bytes.
pub fn value(size: usize) -> Vec<u8> {
    vec![b'v'; size]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_zero_padded_numbers_of_the_requested_size() {
        assert_eq!(key(42, 6), b"000042");
        assert_eq!(key(0, 1), b"0");
        assert_eq!(value(3), b"vvv");
    }

    #[test]
    fn random_keys_stay_in_the_key_space_and_cover_it() {
        let mut picker = KeyPicker::new(2, 10, 7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let k = picker.random();
            assert_eq!(k.len(), 2);
            seen.insert(k);
        }
        assert_eq!(seen.len(), 10);
        assert!(seen.iter().all(|k| k.as_slice() <= b"09".as_slice()));
    }
}
