//! The scenarios `detcd-sim list` shows and `run`/`sweep` accept.

use crate::bank::BankScenario;
use crate::kv::{KvScenario, RegisterScenario};
use crate::lease::LeaseScenario;
use crate::scenario::Scenario;
use crate::watch::WatchScenario;

/// Every scenario, in the order `list` shows them.
pub fn all() -> Vec<Box<dyn Scenario>> {
    vec![
        Box::new(BankScenario),
        Box::new(KvScenario),
        Box::new(RegisterScenario),
        Box::new(WatchScenario),
        Box::new(LeaseScenario),
    ]
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
