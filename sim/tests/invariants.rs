//! `invariant!` in the simulator: the core's invariant checks are on in the simulator build
//! (`--release --cfg madsim`, where `debug_assert!` is off), and one that fails inside a run is
//! that seed's failure, with the invariant's message, like any other panic in a run.
#![cfg(madsim)]

use detcd_core::api::PutRequest;
use detcd_core::apply::{Command, StateMachine};
use detcd_sim::run::RunConfig;
use detcd_sim::simulate;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use std::sync::Arc;

// The simulator build runs the core's invariant checks: this file does not compile otherwise.
const _: () = assert!(detcd_core::invariant::ENABLED, "invariant! is off in the simulator build");

/// A workload whose first client, a moment into the run, hands a state machine an older log
/// index than it last applied: a deliberately broken input the applied-index invariant rejects.
struct ReappliesAnOlderIndex;

impl Workload for ReappliesAnOlderIndex {
    fn name(&self) -> &str {
        "older-index"
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            madsim::time::sleep(std::time::Duration::from_millis(500)).await;
            if ctx.index != 1 {
                return;
            }
            let mut machine = StateMachine::new();
            let put = PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ..Default::default() };
            let _ = machine.apply(7, &Command::Put(put));
            let _ = machine.apply(6, &Command::Noop);
        })
    }
}

#[test]
fn a_broken_invariant_in_a_run_is_that_seeds_failure() {
    let result = simulate(RunConfig::new(5), Arc::new(ReappliesAnOlderIndex));
    let labels: Vec<&str> = result.violations.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["panic"], "{:?}", result.violations);
    let text = &result.violations[0].text;
    assert!(
        text.contains(
            "invariant violated: applied index went backwards: log index 6 applied after 7"
        ),
        "{text}"
    );
}
