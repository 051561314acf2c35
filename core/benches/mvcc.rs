//! MVCC figures: applied puts per second, 1,000-key range latency, memory per stored key.
//!
//! Run with `cargo bench -p detcd-core --bench mvcc`. Plain `fn main` (no harness): it prints
//! figures rather than asserting them. Puts go through `StateMachine::apply` exactly as raft
//! would apply them (response, events with prev_kv, lease bookkeeping included); commands are
//! built before the clock starts. A counting global allocator measures live heap bytes.

mod workload;

use detcd_core::api::RangeRequest;
use detcd_core::apply::{Command, StateMachine};
use detcd_core::kv::KeyValue;
use mimalloc::MiMalloc;
use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use workload::{key, puts, shuffled, RANGE_KEYS, VALUE_BYTES};

/// Counts live heap bytes, over mimalloc (the allocator `detcd` and `detcd-sim` ship with).
///
/// The count is a plain load and store, not an atomic read-modify-write: the bench is one
/// thread, and a locked add on every allocation and free costs about 20 cycles each - as much
/// as a small allocation itself - which inflated every figure below (a 1,000-key range makes
/// 2,000 allocations and 2,000 frees) with a cost the store does not have outside the bench.
struct Counting;

fn count(delta: isize) {
    LIVE.store(LIVE.load(Ordering::Relaxed).wrapping_add_signed(delta), Ordering::Relaxed);
}

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const KEYS: usize = 1_000_000;

fn apply_all(machine: &mut StateMachine, commands: &[Command]) -> f64 {
    let start = Instant::now();
    let mut refused = 0;
    for command in commands {
        let index = machine.applied_index() + 1;
        let (result, events) = machine.apply(index, command);
        refused += usize::from(result.is_err());
        black_box(events);
    }
    let rate = commands.len() as f64 / start.elapsed().as_secs_f64();
    assert_eq!(refused, 0, "every put applies");
    rate
}

fn ordered(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// The floor the index itself sets: bare inserts of the same keys into a `BTreeMap` holding a
/// history-sized value, no values, events or responses.
fn bare_index_inserts(order: &[usize]) -> f64 {
    let keys: Vec<Vec<u8>> = order.iter().map(|&i| key(i)).collect();
    let start = Instant::now();
    let mut index = std::collections::BTreeMap::new();
    for k in &keys {
        index.insert(smallvec::SmallVec::<[u8; 24]>::from_slice(k), [0u64; 9]);
    }
    black_box(&index);
    keys.len() as f64 / start.elapsed().as_secs_f64()
}

/// The floor the response type sets on a 1,000-key range: a `KeyValue` owns its key and value as
/// `Vec`s, so every returned pair costs two allocations, two copies and two frees even when
/// every byte is cached. This makes and drops 1,000 such pairs from one cached key and value.
fn copy_floor_micros(rounds: usize) -> f64 {
    let (key, value) = (key(0), vec![b'v'; VALUE_BYTES]);
    let times = (0..rounds).map(|_| {
        let start = Instant::now();
        let kvs: Vec<KeyValue> = (0..RANGE_KEYS)
            .map(|_| KeyValue { key: key.clone(), value: value.clone(), ..KeyValue::default() })
            .collect();
        black_box(kvs);
        start.elapsed()
    });
    median_micros(times.collect())
}

/// The median of per-round times, in microseconds. The machine is shared: a mean takes in
/// every time the bench was descheduled, a median mostly does not.
fn median_micros(mut times: Vec<Duration>) -> f64 {
    times.sort_unstable();
    times.get(times.len() / 2).map_or(0.0, |t| t.as_secs_f64() * 1e6)
}

fn median_range_micros(machine: &StateMachine, starts: &[usize], count_only: bool) -> f64 {
    median_range_micros_with(machine, starts, count_only, false)
}

fn median_range_micros_with(
    machine: &StateMachine,
    starts: &[usize],
    count_only: bool,
    keys_only: bool,
) -> f64 {
    let mut times = Vec::with_capacity(starts.len());
    let mut returned = 0;
    for &from in starts {
        let request = RangeRequest {
            key: key(from),
            range_end: key(from + RANGE_KEYS),
            count_only,
            keys_only,
            ..Default::default()
        };
        let start = Instant::now();
        let response = machine.range(&request).expect("range");
        let kvs = response.kvs.len();
        let count = response.count as usize;
        drop(black_box(response));
        times.push(start.elapsed());
        assert_eq!(count, RANGE_KEYS);
        returned += kvs;
    }
    if !count_only {
        assert_eq!(returned, starts.len() * RANGE_KEYS);
    }
    median_micros(times)
}

fn main() {
    println!(
        "detcd mvcc bench: {KEYS} keys, 16-byte keys, {VALUE_BYTES}-byte values, single thread; range figures are medians"
    );
    let order = shuffled(KEYS);
    println!(
        "index floor (bare BTreeMap inserts, random order): {:>10.0} inserts/s",
        bare_index_inserts(&order)
    );

    let first = puts(&order, b'a');
    let live_before = LIVE.load(Ordering::Relaxed);
    let mut machine = StateMachine::new();
    let rate = apply_all(&mut machine, &first);
    let live_after = LIVE.load(Ordering::Relaxed);
    drop(first);
    let per_key = (live_after - live_before) as f64 / KEYS as f64;
    println!("puts, new keys, random key order:      {rate:>10.0} applied puts/s");
    println!("memory per stored key:                 {per_key:>10.1} bytes (live heap of the state machine / keys; {VALUE_BYTES} are the value)");

    let second = puts(&order, b'b');
    let rate = apply_all(&mut machine, &second);
    drop(second);
    println!("puts, overwrites (history kept):       {rate:>10.0} applied puts/s");

    let rounds = 2_000;
    let starts: Vec<usize> = shuffled(KEYS - RANGE_KEYS).into_iter().take(rounds).collect();
    let cold = median_range_micros(&machine, &starts, false);
    println!("range of {RANGE_KEYS} keys, random start (cold): {cold:>7.1} us (median of {rounds}; kvs copied out)");
    let cold_count = median_range_micros(&machine, &starts, true);
    println!("count-only range, random start (cold):  {cold_count:>7.1} us");
    let cold_keys = median_range_micros_with(&machine, &starts, false, true);
    println!("keys-only range, random start (cold):   {cold_keys:>7.1} us (values never read)");
    let same = vec![KEYS / 2; rounds];
    let hot = median_range_micros(&machine, &same, false);
    println!("range of {RANGE_KEYS} keys, repeated (hot):     {hot:>7.1} us");
    let floor = copy_floor_micros(rounds);
    println!("copy floor: {RANGE_KEYS} KeyValues made and dropped: {floor:>7.1} us (cached bytes, allocation only)");
    drop(machine);

    let sequential = puts(&ordered(KEYS), b'a');
    let mut machine = StateMachine::new();
    let rate = apply_all(&mut machine, &sequential);
    println!("puts, new keys, ascending key order:   {rate:>10.0} applied puts/s");
}
