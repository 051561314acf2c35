//! One MVCC operation in a loop, for counting instructions under callgrind.
//!
//! The machine is shared, so wall-clock figures move with the neighbours' load; an instruction
//! count does not. This bench builds a store (random key order, as `mvcc.rs` does) outside the
//! measured part and then runs one kind of operation inside [`measured`], a function that is
//! never inlined so callgrind can count only it:
//!
//! ```sh
//! cargo bench -p detcd-core --bench mvcc_profile --no-run
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/deps/mvcc_profile-<hash> range 100000
//! ```
//!
//! Operations: `range` (1,000-key ranges from random starts), `keys` (the same, keys only),
//! `count` (count only), `puts` (new keys) and `overwrites`. The second argument is the number
//! of keys (default 100,000). It prints instructions nowhere itself: callgrind does.
//!
//! `time [keys] [range|count|keys|all] [repeat]` instead prints wall-clock medians of cold
//! 1,000-key ranges on a store built as `mvcc.rs` builds it (default a million keys): a quick
//! A/B of a range change, to run alternately with the other binary on a shared machine:
//!
//! ```sh
//! cargo bench -p detcd-core --bench mvcc_profile -- time 1000000 all 2
//! ```

mod workload;

use detcd_core::api::RangeRequest;
use detcd_core::apply::{Command, StateMachine};
use std::hint::black_box;
use std::time::{Duration, Instant};
use workload::{key, puts, shuffled, RANGE_KEYS};

/// The allocator `detcd` and `detcd-sim` ship with, so counts and times include its cost, not
/// glibc's (which was two thirds of a range before the switch).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 100;

fn apply(machine: &mut StateMachine, commands: &[Command]) {
    for command in commands {
        let index = machine.applied_index() + 1;
        black_box(machine.apply(index, command).0.is_ok());
    }
}

fn ranges(starts: &[usize], count_only: bool, keys_only: bool) -> Vec<RangeRequest> {
    starts
        .iter()
        .map(|&from| RangeRequest {
            key: key(from),
            range_end: key(from + RANGE_KEYS),
            count_only,
            keys_only,
            ..Default::default()
        })
        .collect()
}

enum Work {
    Apply(Vec<Command>),
    Range(Vec<RangeRequest>),
}

/// The only part callgrind counts.
#[inline(never)]
fn measured(machine: &mut StateMachine, work: &Work) {
    match work {
        Work::Apply(commands) => apply(machine, commands),
        Work::Range(requests) => {
            for request in requests {
                black_box(machine.range(request).map(|r| r.kvs.len()).unwrap_or_default());
            }
        }
    }
}

/// The range kinds [`time_ranges`] times: name, `count_only`, `keys_only`.
const RANGE_KINDS: [(&str, bool, bool); 3] =
    [("range", false, false), ("count", true, false), ("keys", false, true)];

/// Prints the median wall time of 2,000 cold 1,000-key ranges of each kind (or only `only`),
/// `repeat` times, on a store built as `mvcc.rs` builds it (random-order puts, then overwrites).
/// A quick A/B of range changes: seconds instead of the full bench's minutes.
fn time_ranges(keys: usize, only: Option<&str>, repeat: usize) {
    let order = shuffled(keys);
    let mut machine = StateMachine::new();
    apply(&mut machine, &puts(&order, b'a'));
    apply(&mut machine, &puts(&order, b'b'));
    let starts: Vec<usize> = shuffled(keys - RANGE_KEYS).into_iter().take(2_000).collect();
    let kinds = RANGE_KINDS.iter().filter(|(name, ..)| only.is_none_or(|o| o == *name));
    for &(name, count_only, keys_only) in kinds.cycle().take(RANGE_KINDS.len() * repeat) {
        let mut times: Vec<Duration> = ranges(&starts, count_only, keys_only)
            .iter()
            .map(|request| {
                let start = Instant::now();
                drop(black_box(machine.range(request)));
                start.elapsed()
            })
            .collect();
        times.sort_unstable();
        let median = times.get(times.len() / 2).copied().unwrap_or_default();
        println!("{name}: {:.1} us", median.as_secs_f64() * 1e6);
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let operation = args.next().unwrap_or_else(|| "range".to_string());
    if operation == "time" {
        let keys = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
        let only = args.next().filter(|kind| kind != "all");
        let repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(2);
        return time_ranges(keys, only.as_deref(), repeat);
    }
    let keys: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let order = shuffled(keys);
    let mut machine = StateMachine::new();
    let work = match operation.as_str() {
        "puts" => Work::Apply(puts(&order, b'a')),
        other => {
            apply(&mut machine, &puts(&order, b'a'));
            let starts: Vec<usize> = shuffled(keys - RANGE_KEYS).into_iter().take(ROUNDS).collect();
            match other {
                "overwrites" => Work::Apply(puts(&order, b'b')),
                "keys" => Work::Range(ranges(&starts, false, true)),
                "count" => Work::Range(ranges(&starts, true, false)),
                _ => Work::Range(ranges(&starts, false, false)),
            }
        }
    };
    measured(&mut machine, &work);
    println!("{operation}: done ({keys} keys)");
}
