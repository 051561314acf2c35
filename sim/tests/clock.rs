//! Per-node clocks: skew, drift and jumps over madsim's single virtual clock.
#![cfg(madsim)]

use detcd_core::clock::Clock;
use detcd_core::runtime::{node_clock, ClockSkew, DetRuntime, NodeClock};
use detcd_sim::run_seed;
use openraft_rt::AsyncRuntime;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// (virtual time a 2 s local sleep took, local clock change over it, local time before a jump
/// back, after it, and after a jump forward)
async fn skewed_node() -> (Duration, Duration, [Duration; 3]) {
    node_clock::clear_skews();
    let handle = madsim::runtime::Handle::current();
    let node =
        handle.create_node().name("skewed").ip(IpAddr::V4(Ipv4Addr::new(10, 7, 0, 1))).build();
    node_clock::set_skew(node.id(), ClockSkew { offset_nanos: 5_000_000_000, rate: 2.0 });
    node.spawn(async {
        let virtual_start = madsim::time::Instant::now();
        let local_start = NodeClock.now();
        DetRuntime::sleep(Duration::from_secs(2)).await;
        let took = virtual_start.elapsed();
        let local_elapsed = NodeClock.now() - local_start;
        let node = madsim::plugin::node();
        let before = NodeClock.now();
        node_clock::jump(node, -3_000_000_000);
        let after_back = NodeClock.now();
        node_clock::jump(node, 3_000_000_000);
        (took, local_elapsed, [before, after_back, NodeClock.now()])
    })
    .await
    .expect("task")
}

#[test]
fn a_fast_clock_fires_timers_early_and_jumps_move_it_forward_only() {
    let (took, local_elapsed, [before, after_back, after_forward]) = run_seed(1, skewed_node);
    assert!(
        took >= Duration::from_millis(999) && took <= Duration::from_millis(1002),
        "2 s at rate 2 takes 1 s: {took:?}"
    );
    assert!(
        local_elapsed >= Duration::from_secs(2),
        "the node saw its own 2 s pass: {local_elapsed:?}"
    );
    // 5 s offset + 2 s local elapsed ~ 7 s (plus the virtual time before the sleep).
    assert!(before >= Duration::from_secs(7) && before < Duration::from_secs(8), "{before:?}");
    // The clock stands for a monotonic one: a jump back is not taken, a jump forward is.
    assert_eq!(after_back, before, "a monotonic clock never steps back");
    assert_eq!(after_forward, before + Duration::from_secs(3), "a jump forward moves it");
}

/// A skew whose offset is below the clock's reading keeps the reading and takes the new rate.
async fn skew_back() -> (Duration, Duration, Duration) {
    node_clock::clear_skews();
    let handle = madsim::runtime::Handle::current();
    let node = handle.create_node().name("back").ip(IpAddr::V4(Ipv4Addr::new(10, 7, 0, 2))).build();
    let id = node.id();
    node_clock::set_skew(id, ClockSkew { offset_nanos: 5_000_000_000, rate: 1.0 });
    node.spawn(async move {
        let before = NodeClock.now();
        node_clock::set_skew(id, ClockSkew { offset_nanos: -5_000_000_000, rate: 2.0 });
        let after = NodeClock.now();
        madsim::time::sleep(Duration::from_secs(1)).await;
        (before, after, NodeClock.now() - after)
    })
    .await
    .expect("task")
}

#[test]
fn a_skew_never_sets_the_clock_back_but_takes_its_rate() {
    let (before, after, one_true_second) = run_seed(3, skew_back);
    assert_eq!(after, before, "a monotonic clock never steps back");
    assert!(
        one_true_second >= Duration::from_secs(2) && one_true_second < Duration::from_millis(2010),
        "rate 2: {one_true_second:?}"
    );
}

async fn unskewed() -> (Duration, Duration) {
    node_clock::clear_skews();
    let before = NodeClock.now();
    DetRuntime::sleep(Duration::from_millis(1500)).await;
    (NodeClock.now() - before, madsim::time::TimeHandle::current().elapsed())
}

#[test]
fn a_node_without_skew_reads_virtual_time() {
    let (local, virtual_elapsed) = run_seed(2, unskewed);
    // madsim adds a tick of scheduling time to every timer.
    assert!(
        local >= Duration::from_millis(1500) && local < Duration::from_millis(1501),
        "{local:?}"
    );
    assert!(virtual_elapsed >= local);
}
