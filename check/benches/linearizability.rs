//! Linearizability checking speed on generated histories shaped like porcupine's benchmarks:
//! a 50-client key-value history of about 3,400 events checked per key, and a 10-client one
//! checked as a single partition; plus register and etcd histories. Run with
//! `cargo bench -p detcd-check`.
//!
//! With `PORCUPINE_DATA=<dir>` it also times porcupine's own test histories (its `test_data/`
//! folder: `kv/c10-ok.txt` ... as Jepsen-style EDN, `jepsen/etcd_NNN.log` as Jepsen log lines),
//! so the figures compare with porcupine's on the very same inputs.

use std::time::{Duration, Instant};

use detcd_check::edn::{self, Workload};
use detcd_check::generate::{self, Shape};
use detcd_check::history::History;
use detcd_check::jsonl;
use detcd_check::linearizability::{check, Model, Options, Verdict};
use detcd_check::models::{etcd::Etcd, kv::Kv, register::Register};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RUNS: usize = 5;

/// The allocator the shipped binaries use (`detcd-sim check` among them).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    // The simulator's shape under faults: few clients, many timed-out (unknown) operations.
    let etcd8_unknown = Shape { clients: 8, ops: 800, keys: 8, window: 6.0, unknown: 0.15 };
    bench(
        "etcd, 8 clients, 15% unknown",
        &Etcd,
        &generate::etcd(etcd8_unknown, &mut seeded(5)),
        false,
    );
    let mut corrupted = generate::kv(kv50, &mut seeded(1));
    generate::corrupt_read(&mut corrupted, 1200);
    bench("kv, 50 clients, one corrupted read", &Kv::default(), &corrupted, true);
    if let Ok(dir) = std::env::var("PORCUPINE_DATA") {
        porcupine(&dir);
    }
    if let Ok(files) = std::env::var("ETCD_HISTORIES") {
        recorded_etcd(&files);
    }
}

/// Histories the simulator recorded (`ETCD_HISTORIES=a.history.jsonl,b.history.jsonl`), checked
/// with the etcd model, as `cargo sim check --model etcd` would.
fn recorded_etcd(files: &str) {
    for path in files.split(',').filter(|p| !p.is_empty()) {
        let Ok(text) = std::fs::read_to_string(path) else {
            println!("{path}: cannot read");
            continue;
        };
        match jsonl::parse(path, &text) {
            Ok(history) => {
                let unknown = history.ops.iter().filter(|op| op.is_unknown()).count();
                bench(&format!("{path} ({unknown} unknown)"), &Etcd, &history, false);
            }
            Err(error) => println!("{error}"),
        }
    }
}

/// Porcupine's test histories, checked the way its tests check them.
fn porcupine(dir: &str) {
    for name in ["c10-ok", "c10-bad", "c50-ok", "c50-bad"] {
        let path = format!("{dir}/kv/{name}.txt");
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let history = match edn::parse_workload(&path, &text, Workload::KeyValue) {
            Ok(history) => history,
            Err(error) => return println!("{error}"),
        };
        bench(&format!("porcupine {name}, per key"), &Kv::default(), &history, true);
        bench(&format!("porcupine {name}, per key, 1 thread"), &Kv::default(), &history, false);
        // Porcupine checks only the 10-client history as one partition.
        if name.starts_with("c10") {
            bench(
                &format!("porcupine {name}, one partition"),
                &Kv { partitioned: false },
                &history,
                false,
            );
        }
    }
    let mut histories = Vec::new();
    for number in 0..=102 {
        let path = format!("{dir}/jepsen/etcd_{number:03}.log");
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        match edn::parse_workload(&path, &jepsen_log_to_edn(&text), Workload::Register) {
            Ok(history) => histories.push((number, history)),
            Err(error) => println!("{error}"),
        }
    }
    if histories.is_empty() {
        return;
    }
    let started = Instant::now();
    let cpu_started = thread_cpu();
    let mut verdicts = Vec::new();
    for (number, history) in &histories {
        let verdict = check(&Register, history, Options::default());
        verdicts.push(format!("{number}:{}", matches!(verdict, Ok(Verdict::Linearizable))));
    }
    let elapsed = started.elapsed();
    let cpu =
        thread_cpu().zip(cpu_started).map_or(0.0, |(end, start)| ms(end.saturating_sub(start)));
    println!(
        "porcupine jepsen etcd logs: {} histories in {:.3} ms (cpu {cpu:.3} ms)",
        histories.len(),
        ms(elapsed)
    );
    println!("  verdicts (number:linearizable): {}", verdicts.join(" "));
}

/// `INFO  jepsen.util - 3\t:ok\t:cas\t[1 2]` -> `{:process 3, :type :ok, :f :cas, :value [1 2]}`.
fn jepsen_log_to_edn(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let Some(rest) = line.split("jepsen.util - ").nth(1) else { continue };
        let fields: Vec<&str> = rest.split('\t').collect();
        if let [process, kind, f, value] = fields.as_slice() {
            out.push_str(&format!(
                "{{:process {process}, :type {kind}, :f {f}, :value {value}}}\n"
            ));
        }
    }
    out
}

fn bench<M: Model>(name: &str, model: &M, history: &History, parallel: bool) {
    // `BENCH_FILTER=text` runs only the benches whose name contains it.
    if std::env::var("BENCH_FILTER").is_ok_and(|filter| !name.contains(&filter)) {
        return;
    }
    let options = Options { parallel, ..Options::default() };
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut verdict = String::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let cpu_started = thread_cpu();
        let result = check(model, history, options);
        times.push(started.elapsed());
        cpu_times.push(thread_cpu().zip(cpu_started).map(|(end, start)| end.saturating_sub(start)));
        verdict = match result {
            Ok(Verdict::Linearizable) => "linearizable".into(),
            Ok(Verdict::NotLinearizable(_)) => "not linearizable".into(),
            Ok(Verdict::Unknown) => "unknown".into(),
            Err(error) => format!("error: {error}"),
        };
    }
    times.sort();
    cpu_times.sort();
    let median: Duration = times[RUNS / 2];
    // CPU time of this thread: what the check costs when the machine is shared (serial runs only).
    let cpu = match cpu_times[RUNS / 2] {
        Some(cpu) if !parallel => format!("cpu {:>9.3} ms", ms(cpu)),
        _ => " ".repeat(16),
    };
    println!(
        "{name:<50} {:>4} ops  median {:>9.3} ms  min {:>9.3} ms  {cpu}  ({verdict})",
        history.len(),
        ms(median),
        ms(times[0])
    );
}

/// This thread's CPU time (Linux), so figures stay honest on a busy machine.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
