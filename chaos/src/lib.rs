//! detcd-chaos: the simulator's scenarios on real processes, under real faults.
//!
//! `detcd-chaos run <scenario> --binary detcd|etcd` starts a real cluster ([`cluster`]) on
//! loopback or, for network faults, each member in its own network namespace on a bridge
//! ([`network`]), runs a scenario's workload through the real gRPC client ([`workloads`]),
//! injects faults drawn from the seed ([`faults`]: SIGKILL and restart, SIGSTOP/SIGCONT
//! pauses, partitions and degraded links ([`partition`]; their latency by `tc netem` or an
//! NFQUEUE delayer, [`latency`], [`netdelay`]), clock jumps and drift through
//! libfaketime ([`clock`]), failing and slow fsyncs and the loss of unsynced writes at kills
//! through a FUSE file system ([`disk`], [`lazyfs`]), of the leader or a random member),
//! heals, checks liveness ([`liveness`]) and judges
//! the recorded history ([`recorder`]) with the same checkers and the same JSON Lines history
//! as `cargo sim` ([`run`]), and the simulator's HTML page ([`page`]). Everything it starts is gone when it exits, also on Ctrl-C
//! ([`interrupt`]). `detcd-chaos check <scenario> <history.jsonl>` judges a recorded history
//! again ([`rejudge`]).
//!
//! The same scenario thus runs three ways: simulated, on real detcd, and on real etcd 3.4 —
//! the last proving the harness on a trusted system. The schedule of faults is reproducible
//! from the seed; the system under test is not, so a finding here is turned into a simulator
//! seed or plan to be replayed.
//!
//! `scratch` (free ports, scratch directories) is shared with `detcd-tests`; `child` is how
//! every process the run starts is confined (its own group, its namespace, dying with the run).

pub mod child;
pub mod clock;
pub mod cluster;
pub mod dirlog;
pub mod disk;
pub mod faults;
pub mod freeze;
pub mod interrupt;
pub mod latency;
pub mod lazyfs;
pub mod liveness;
pub mod netdelay;
pub mod network;
pub mod page;
pub mod partition;
pub mod recorder;
pub mod rejudge;
pub mod relay;
pub mod run;
pub mod scratch;
pub mod unsynced;
pub mod workloads;
