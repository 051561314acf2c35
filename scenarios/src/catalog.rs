//! The scenarios `detcd-sim list` shows and `run`/`sweep` accept.
//!
//! `swarm` draws from [`swarm`]: every scenario except those expected to fail (the unfenced lock,
//! which exists to show that the lock checker catches an unsafe use).

use crate::auth::AuthScenario;
use crate::bank::BankScenario;
use crate::bank_stm::BankStmScenario;
use crate::barrier::{BarrierScenario, DoubleBarrierScenario};
use crate::election::ElectionScenario;
use crate::kv::{KvScenario, RegisterScenario};
use crate::lease::LeaseScenario;
use crate::lock::LockScenario;
use crate::queue::QueueScenario;
use crate::rwlock::RwLockScenario;
use crate::scenario::Scenario;
use crate::watch::WatchScenario;

/// Every scenario, in the order `list` shows them.
pub fn all() -> Vec<Box<dyn Scenario>> {
    vec![
        Box::new(BankScenario),
        Box::new(BankStmScenario),
        Box::new(KvScenario),
        Box::new(RegisterScenario),
        Box::new(WatchScenario),
        Box::new(LeaseScenario),
        Box::new(LockScenario { fenced: true }),
        Box::new(LockScenario { fenced: false }),
        Box::new(RwLockScenario),
        Box::new(BarrierScenario),
        Box::new(DoubleBarrierScenario),
        Box::new(QueueScenario { priority: false }),
        Box::new(QueueScenario { priority: true }),
        Box::new(ElectionScenario),
        Box::new(AuthScenario),
    ]
}

/// The scenarios `swarm` picks from: all but those expected to fail.
pub fn swarm() -> Vec<Box<dyn Scenario>> {
    all().into_iter().filter(|scenario| !scenario.expected_to_fail()).collect()
}

/// The scenario called `name`, if there is one. `swarm` is resolved by the runner.
pub fn find(name: &str) -> Option<Box<dyn Scenario>> {
    all().into_iter().find(|scenario| scenario.name() == name)
}

/// The names `run` accepts: every scenario plus `swarm`.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = all().iter().map(|s| s.name()).collect();
    names.push("swarm");
    names
}
