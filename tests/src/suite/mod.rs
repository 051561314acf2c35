//! The recipe suite: every recipe of `detcd_core::recipes` driven through the gRPC transport
//! (`detcd_proto::client::GrpcClient`) against any [`Servers`], so real etcd and detcd are held to
//! the same behaviour by the same code.
//!
//! Each scenario is one recipe's observable contract (exclusion, FIFO order, fencing, blocking
//! and unblocking, atomicity, clear errors on bad input) on its own key prefix. The runner runs
//! them one after another on one cluster, each as its own task with a time limit, so a panic or a
//! hang in one is reported by name and the others still run; the verdict lists every failure.

mod bad_input;
mod barriers;
mod election;
mod failover;
mod locks;
mod queues;
mod session;
mod stm;
pub mod support;

use crate::servers::Servers;
use detcd_proto::client::GrpcClient;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// How long one scenario may take before it counts as hung.
const SCENARIO_LIMIT: Duration = Duration::from_secs(40);

type ScenarioFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One named scenario, given a client of the cluster under test.
pub struct Scenario {
    pub name: &'static str,
    run: fn(GrpcClient) -> ScenarioFuture,
}

macro_rules! scenario {
    ($path:path) => {
        Scenario { name: stringify!($path), run: |client| Box::pin($path(client)) }
    };
}

/// Every recipe scenario and every bad-input scenario that needs only a client.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        scenario!(session::keeps_its_lease_alive_and_close_revokes_it),
        scenario!(locks::mutex_excludes_queues_and_fences),
        scenario!(locks::try_lock_fails_at_once_and_leaves_no_key),
        scenario!(locks::rwmutex_shares_reads_and_keeps_fifo_order),
        scenario!(queues::queue_is_fifo_and_dequeue_blocks_until_a_value),
        scenario!(queues::priority_queue_orders_by_priority_then_fifo),
        scenario!(barriers::barrier_blocks_waiters_until_released),
        scenario!(barriers::double_barrier_enters_and_leaves_together),
        scenario!(stm::bank_transfers_keep_the_sum),
        scenario!(election::campaign_proclaim_resign_leader_and_observe),
        scenario!(bad_input::empty_prefixes_and_zero_counts_are_refused),
        scenario!(bad_input::a_session_revoked_behind_its_back_is_expired),
    ]
}

/// Runs `scenarios` on `servers` (a client of all its members) and panics listing every
/// scenario that failed, with the servers' logs.
pub async fn assert_all_pass(servers: &dyn Servers, scenarios: Vec<Scenario>) {
    let endpoints = servers.endpoints();
    let client = support::client(&endpoints);
    let mut failures = Vec::new();
    for scenario in scenarios {
        let started = Instant::now();
        let outcome = run_one(&scenario, client.clone()).await;
        let took = started.elapsed();
        match outcome {
            Ok(()) => eprintln!("{}: {} ok ({took:.1?})", servers.label(), scenario.name),
            Err(why) => {
                eprintln!("{}: {} FAILED ({took:.1?}): {why}", servers.label(), scenario.name);
                failures.push(format!("{}: {why}", scenario.name));
            }
        }
    }
    if !failures.is_empty() {
        eprintln!("{}", servers.logs());
        panic!(
            "{}: {} scenario(s) failed:\n{}",
            servers.label(),
            failures.len(),
            failures.join("\n")
        );
    }
}

async fn run_one(scenario: &Scenario, client: GrpcClient) -> Result<(), String> {
    let task = tokio::spawn((scenario.run)(client));
    match tokio::time::timeout(SCENARIO_LIMIT, task).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(support::panic_text(error)),
        Err(_) => Err(format!("still running after {SCENARIO_LIMIT:?}")),
    }
}

pub use bad_input::dequeue_behind_a_compaction_fails_with_etcds_error;
pub use failover::a_wait_survives_the_death_of_its_member;
