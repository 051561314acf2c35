//! Linearizability checking speed on generated histories shaped like porcupine's benchmarks:
//! a 50-client key-value history of about 3,400 events checked per key, and a 10-client one
//! checked as a single partition; plus register and etcd histories. Run with
//! `cargo bench -p detcd-check`.

use std::time::{Duration, Instant};

use detcd_check::generate::{self, Shape};
use detcd_check::history::History;
use detcd_check::linearizability::{check, Model, Options, Verdict};
use detcd_check::models::{etcd::Etcd, kv::Kv, register::Register};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RUNS: usize = 5;

fn main() {
    let seeded = |seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        move || rng.next_u64()
    };
    let kv50 = Shape { clients: 50, ops: 1700, keys: 8, window: 25.0, unknown: 0.02 };
    let kv10 = Shape { clients: 10, ops: 1700, keys: 8, window: 6.0, unknown: 0.02 };
    let register10 = Shape { clients: 10, ops: 1700, keys: 1, window: 6.0, unknown: 0.02 };
    let etcd10 = Shape { clients: 10, ops: 1700, keys: 8, window: 6.0, unknown: 0.02 };
    bench(
        "kv, 50 clients, 3400 events, per key",
        &Kv::default(),
        &generate::kv(kv50, &mut seeded(1)),
        true,
    );
    bench(
        "kv, 50 clients, 3400 events, per key, 1 thread",
        &Kv::default(),
        &generate::kv(kv50, &mut seeded(1)),
        false,
    );
    bench(
        "kv, 10 clients, 3400 events, one partition",
        &Kv { partitioned: false },
        &generate::kv(kv10, &mut seeded(2)),
        false,
    );
    bench(
        "register, 10 clients, 3400 events",
        &Register,
        &generate::register(register10, &mut seeded(3)),
        false,
    );
    bench("etcd, 10 clients, 3400 events", &Etcd, &generate::etcd(etcd10, &mut seeded(4)), false);
    let mut corrupted = generate::kv(kv50, &mut seeded(1));
    generate::corrupt_read(&mut corrupted, 1200);
    bench("kv, 50 clients, one corrupted read", &Kv::default(), &corrupted, true);
}

fn bench<M: Model>(name: &str, model: &M, history: &History, parallel: bool) {
    let options = Options { parallel, ..Options::default() };
    let mut times = Vec::new();
    let mut verdict = String::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let result = check(model, history, options);
        times.push(started.elapsed());
        verdict = match result {
            Ok(Verdict::Linearizable) => "linearizable".into(),
            Ok(Verdict::NotLinearizable(_)) => "not linearizable".into(),
            Ok(Verdict::Unknown) => "unknown".into(),
            Err(error) => format!("error: {error}"),
        };
    }
    times.sort();
    let median: Duration = times[RUNS / 2];
    println!(
        "{name:<50} {:>4} ops  median {:>9.3} ms  min {:>9.3} ms  ({verdict})",
        history.len(),
        ms(median),
        ms(times[0])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
