//! Per-node clocks: skew, drift and jumps over madsim's single virtual clock.
#![cfg(madsim)]

use detcd_core::clock::Clock;
use detcd_core::runtime::{node_clock, ClockSkew, DetRuntime, NodeClock};
use detcd_sim::run_seed;
use openraft_rt::AsyncRuntime;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// (virtual time a 2 s local sleep took, local clock change over it, local time after a jump)
async fn skewed_node() -> (Duration, Duration, Duration) {
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
        node_clock::jump(node, -3_000_000_000);
        (took, local_elapsed, NodeClock.now())
    })
    .await
    .expect("task")
}

#[test]
fn a_fast_clock_fires_timers_early_and_jumps_move_it() {
    let (took, local_elapsed, after_jump) = run_seed(1, skewed_node);
    assert!(
        took >= Duration::from_millis(999) && took <= Duration::from_millis(1002),
        "2 s at rate 2 takes 1 s: {took:?}"
    );
    assert!(
        local_elapsed >= Duration::from_secs(2),
        "the node saw its own 2 s pass: {local_elapsed:?}"
    );
    // 5 s offset + 2 s local elapsed - 3 s jump ~ 4 s (plus the virtual time before the sleep).
    assert!(
        after_jump >= Duration::from_secs(4) && after_jump < Duration::from_secs(5),
        "{after_jump:?}"
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
