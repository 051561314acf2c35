//! Watch fan-out benchmark: the time to deliver one event to 10,000 watchers.
//!
//! `cargo bench -p detcd-core --bench watch`. Plain `main`, no harness: each scenario builds a hub
//! with 10,000 watchers, then times `notify` (matching + building responses) and the drain of
//! every outbox, over many single-event revisions, and prints the median per revision.

use detcd_core::watch::{MemoryHistory, StreamId, WatchConfig, WatchCreateRequest, WatchHub};
use std::hint::black_box;
use std::time::{Duration, Instant};

const WATCHERS: usize = 10_000;
const ROUNDS: usize = 50;

struct Scenario {
    name: &'static str,
    streams: usize,
    /// The watch request of watcher `i`.
    request: fn(usize) -> WatchCreateRequest,
    /// The key every benchmark write goes to.
    key: &'static str,
    /// How many watchers each write must reach.
    reached: usize,
}

fn same_key(_: usize) -> WatchCreateRequest {
    WatchCreateRequest::key("k/hot", 0)
}

fn same_prefix(_: usize) -> WatchCreateRequest {
    WatchCreateRequest::prefix("k/", 0)
}

/// 10,000 different ranges under "k/", all containing "k/~hot".
fn spread_ranges(i: usize) -> WatchCreateRequest {
    let key = format!("k/{i:05}").into_bytes();
    WatchCreateRequest { key, range_end: b"k0".to_vec(), ..Default::default() }
}

/// 10,000 single keys under "k/": a write reaches one of them.
fn spread_keys(i: usize) -> WatchCreateRequest {
    WatchCreateRequest::key(format!("k/{i:05}"), 0)
}

fn run(scenario: &Scenario) {
    let config = WatchConfig { max_pending_events: usize::MAX, ..Default::default() };
    let mut hub = WatchHub::new(config);
    let mut history = MemoryHistory::new();
    let streams: Vec<StreamId> = (0..scenario.streams).map(|_| hub.open_stream()).collect();
    for i in 0..WATCHERS {
        let stream = streams[i % streams.len()];
        hub.create(stream, (scenario.request)(i), &history);
    }
    for &stream in &streams {
        hub.take_responses(stream);
    }
    let mut notify_times = Vec::with_capacity(ROUNDS);
    let mut drain_times = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let events = history.put(scenario.key, format!("value-{round}"));
        let started = Instant::now();
        hub.notify(&events);
        let notified = Instant::now();
        let mut delivered = 0;
        for &stream in &streams {
            delivered += black_box(hub.take_responses(stream)).len();
        }
        drain_times.push(notified.elapsed());
        notify_times.push(notified - started);
        assert_eq!(delivered, scenario.reached, "{}: every watcher gets the event", scenario.name);
    }
    let notify = median(&mut notify_times);
    let drain = median(&mut drain_times);
    let per_watcher = notify.as_nanos() / scenario.reached.max(1) as u128;
    println!(
        "{:<48} notify {:>8.1} us ({:>4} ns/watcher reached)   drain {:>7.1} us",
        scenario.name,
        notify.as_secs_f64() * 1e6,
        per_watcher,
        drain.as_secs_f64() * 1e6,
    );
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn main() {
    println!("one single-event revision delivered to {WATCHERS} watchers (median of {ROUNDS})");
    let scenarios = [
        Scenario {
            name: "same key, 1 stream",
            streams: 1,
            request: same_key,
            key: "k/hot",
            reached: WATCHERS,
        },
        Scenario {
            name: "same key, 100 streams",
            streams: 100,
            request: same_key,
            key: "k/hot",
            reached: WATCHERS,
        },
        Scenario {
            name: "same prefix range, 100 streams",
            streams: 100,
            request: same_prefix,
            key: "k/hot",
            reached: WATCHERS,
        },
        Scenario {
            name: "10k distinct ranges over a prefix, 100 streams",
            streams: 100,
            request: spread_ranges,
            key: "k/~hot",
            reached: WATCHERS,
        },
        Scenario {
            name: "10k distinct keys under a prefix (reaches 1)",
            streams: 100,
            request: spread_keys,
            key: "k/05000",
            reached: 1,
        },
    ];
    for scenario in &scenarios {
        run(scenario);
    }
}
