//! The MVCC benches' shared workload: the 16-byte keys and 128-byte values, inserted in
//! a fixed random order, so `mvcc` (the figures) and `mvcc_profile` (profiling, A/B timing)
//! measure the same store.

use detcd_core::api::PutRequest;
use detcd_core::apply::Command;

pub const VALUE_BYTES: usize = 128;
pub const RANGE_KEYS: usize = 1_000;

/// A 16-byte key.
pub fn key(i: usize) -> Vec<u8> {
    format!("key/{i:012}").into_bytes()
}

/// A deterministic permutation of 0..n (xorshift-driven Fisher-Yates), so inserts hit the
/// index in random order.
pub fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// One put per key of `order`, each with its own `fill`-byte value.
pub fn puts(order: &[usize], fill: u8) -> Vec<Command> {
    order
        .iter()
        .map(|&i| {
            let value = vec![fill; VALUE_BYTES];
            Command::Put(PutRequest { key: key(i), value, ..Default::default() })
        })
        .collect()
}
