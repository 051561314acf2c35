//! Benchmarks of the simulator itself (`cargo sim bench`): how much simulated time and how many
//! seeds a real second buys.
//!
//! - `raft`: a 3-member cluster and 8 writers putting as fast as they can, no faults: simulated
//!   writes per simulated second, and simulated-to-real time.
//! - `standard`: the standard run of the simulator issue — 3 members, 8 clients, 10 simulated
//!   seconds, one partition (the leader isolated) and one leader crash — with the whole stack:
//!   MVCC, history recording and the linearizability check. Seeds per minute over `jobs` threads.

use crate::catalog;
use crate::kv::linearizable_resolved;
use crate::scenario::ScenarioOptions;
use detcd_core::api::PutRequest;
use detcd_sim::plan::FaultPlan;
use detcd_sim::run::RunConfig;
use detcd_sim::workload::{ClientContext, Workload};
use futures::future::BoxFuture;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Writers that put back to back and count their acknowledged writes.
struct Writers {
    acknowledged: Arc<AtomicU64>,
}

impl Workload for Writers {
    fn name(&self) -> &str {
        "writers"
    }

    fn client(&self, mut ctx: ClientContext) -> BoxFuture<'static, ()> {
        let acknowledged = self.acknowledged.clone();
        Box::pin(async move {
            let mut n = 0u64;
            while ctx.running().await {
                n += 1;
                let key = format!("w{}/{}", ctx.index, n % 64);
                let put = PutRequest {
                    key: key.into_bytes(),
                    value: vec![b'x'; 128],
                    ..Default::default()
                };
                if ctx.client.call(put).await.is_ok() {
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    }
}

pub struct RaftFigures {
    pub writes_per_sim_second: f64,
    pub sim_to_real: f64,
}

/// The `raft` benchmark over `seeds` runs of `seconds` simulated seconds each.
pub fn raft(seeds: u64, seconds: u64) -> RaftFigures {
    let acknowledged = Arc::new(AtomicU64::new(0));
    let (mut sim, mut real) = (0.0, 0.0);
    for seed in 0..seeds {
        let mut config = RunConfig::new(seed);
        config.clients = 8;
        config.chaos = Duration::from_secs(seconds);
        let started = Instant::now();
        let result =
            detcd_sim::simulate(config, Arc::new(Writers { acknowledged: acknowledged.clone() }));
        real += started.elapsed().as_secs_f64();
        sim += result.sim_time.as_secs_f64();
    }
    let writes = acknowledged.load(Ordering::Relaxed) as f64;
    RaftFigures {
        writes_per_sim_second: writes / (seeds * seconds) as f64,
        sim_to_real: sim / real,
    }
}

pub struct StandardFigures {
    pub seeds: usize,
    pub failures: usize,
    pub seeds_per_minute: f64,
    pub sim_to_real_per_core: f64,
    pub check_share: f64,
}

/// The `standard` benchmark: `seeds` standard runs on `jobs` threads.
pub fn standard(seeds: u64, jobs: usize) -> StandardFigures {
    let next = AtomicU64::new(0);
    let failures = AtomicUsize::new(0);
    let totals = std::sync::Mutex::new((0.0f64, 0.0f64, 0.0f64));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= seeds {
                    break;
                }
                let (sim, real, check, ok) = standard_run(seed);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                let mut totals = totals.lock().unwrap_or_else(|p| p.into_inner());
                totals.0 += sim;
                totals.1 += real;
                totals.2 += check;
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let (sim, real, check) = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    StandardFigures {
        seeds: seeds as usize,
        failures: failures.into_inner(),
        seeds_per_minute: seeds as f64 * 60.0 / wall,
        sim_to_real_per_core: sim / real,
        check_share: check / real,
    }
}

fn standard_run(seed: u64) -> (f64, f64, f64, bool) {
    let kv = catalog::find("kv").expect("the kv scenario");
    let mut config = RunConfig::new(seed);
    config.clients = 8;
    config.chaos = Duration::from_secs(10);
    config.plan = FaultPlan::standard(10_000);
    config.record_events = kv.records_events();
    let started = Instant::now();
    let result = detcd_sim::simulate(config, kv.workload(&ScenarioOptions::default()));
    let checking = Instant::now();
    let verdict = linearizable_resolved(&result);
    let check = checking.elapsed().as_secs_f64();
    let ok = verdict.ok == Some(true) && result.violations.is_empty();
    if !ok {
        eprintln!(
            "standard seed {seed}: {} {:?} ({} ops, {} unknown)",
            verdict.summary,
            result.violations,
            result.history.len(),
            result.history.iter().filter(|op| op.ret.is_none()).count()
        );
    }
    (result.sim_time.as_secs_f64(), started.elapsed().as_secs_f64(), check, ok)
}
