//! detcd-scenarios: workloads x fault plans x checkers, and what the `detcd-sim` command runs.
//!
//! A scenario is a workload (what clients do), a fault plan or swarm mix (what goes wrong, derived
//! from the seed with `rand_chacha`), and the checkers that judge the recorded history. Running a
//! scenario for a seed is deterministic: the same seed and options give the same trace, history and
//! verdicts. Everything that runs clusters exists only in the `--cfg madsim` build.

#[cfg(madsim)]
pub mod artifacts;
#[cfg(madsim)]
pub mod auth;
#[cfg(madsim)]
pub mod bank;
#[cfg(madsim)]
pub mod bank_stm;
#[cfg(madsim)]
pub mod barrier;
#[cfg(madsim)]
pub mod bench;
#[cfg(madsim)]
pub mod catalog;
#[cfg(madsim)]
pub mod corpus;
#[cfg(madsim)]
pub mod election;
#[cfg(madsim)]
pub mod explore;
#[cfg(madsim)]
pub mod explore_power;
#[cfg(madsim)]
pub mod kv;
#[cfg(madsim)]
pub mod lease;
#[cfg(madsim)]
pub mod lock;
#[cfg(madsim)]
pub mod past_reads;
#[cfg(madsim)]
pub mod plan_file;
#[cfg(madsim)]
pub mod power;
#[cfg(madsim)]
pub mod queue;
#[cfg(madsim)]
pub mod recipe_client;
#[cfg(madsim)]
pub mod report_data;
#[cfg(madsim)]
pub mod resolve;
#[cfg(madsim)]
pub mod runner;
#[cfg(madsim)]
pub mod rwlock;
#[cfg(madsim)]
pub mod scenario;
#[cfg(madsim)]
pub mod shrink;
#[cfg(madsim)]
pub mod sweep;
#[cfg(madsim)]
pub mod watch;
