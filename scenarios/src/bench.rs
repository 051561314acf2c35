//! Benchmarks of the simulator itself (`cargo sim bench`): how much simulated time and how many
//! seeds a real second buys.
//!
//! - `raft`: a 3-member cluster and 8 writers putting as fast as they can, no faults: simulated
//!   writes per simulated second, and simulated-to-real time.
//! - `standard`: the standard run of the simulator issue — 3 members, 8 clients, 10 simulated
//!   seconds, one partition (the leader isolated) and one leader crash — with the whole stack:
//!   MVCC, history recording and the linearizability check. Seeds per minute over `jobs` threads.
//!
//! Each figure "per core" is given twice: by the runs' wall clock and by their CPU time. On a
//! machine shared with other work the wall clock also counts waiting for a core; CPU time is
//! the steadier figure there.

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
    pub sim_to_cpu: f64,
}

/// The `raft` benchmark over `seeds` runs of `seconds` simulated seconds each.
pub fn raft(seeds: u64, seconds: u64) -> RaftFigures {
    let acknowledged = Arc::new(AtomicU64::new(0));
    let (mut sim, mut real, mut cpu) = (0.0, 0.0, 0.0);
    for seed in 0..seeds {
        let mut config = RunConfig::new(seed);
        config.clients = 8;
        config.chaos = Duration::from_secs(seconds);
        let started = Instant::now();
        let result =
            detcd_sim::simulate(config, Arc::new(Writers { acknowledged: acknowledged.clone() }));
        real += started.elapsed().as_secs_f64();
        sim += result.sim_time.as_secs_f64();
        cpu += result.cpu_time.as_secs_f64();
    }
    let writes = acknowledged.load(Ordering::Relaxed) as f64;
    RaftFigures {
        writes_per_sim_second: writes / (seeds * seconds) as f64,
        sim_to_real: sim / real,
        sim_to_cpu: if cpu > 0.0 { sim / cpu } else { 0.0 },
    }
}

pub struct StandardFigures {
    pub seeds: usize,
    pub failures: usize,
    pub seeds_per_minute: f64,
    pub sim_to_real_per_core: f64,
    pub sim_to_cpu: f64,
    /// Seeds one core's CPU-minute runs.
    pub seeds_per_cpu_minute: f64,
    pub check_share: f64,
}

/// The `standard` benchmark: `seeds` standard runs on `jobs` threads.
pub fn standard(seeds: u64, jobs: usize) -> StandardFigures {
    let next = AtomicU64::new(0);
    let failures = AtomicUsize::new(0);
    let totals = std::sync::Mutex::new(Totals::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= seeds {
                    break;
                }
                let run = standard_run(seed);
                if !run.ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                let mut totals = totals.lock().unwrap_or_else(|p| p.into_inner());
                totals.sim += run.sim;
                totals.real += run.real;
                totals.cpu += run.cpu;
                totals.check += run.check;
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let Totals { sim, real, cpu, check } = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    let per_cpu = |x: f64| if cpu > 0.0 { x / cpu } else { 0.0 };
    StandardFigures {
        seeds: seeds as usize,
        failures: failures.into_inner(),
        seeds_per_minute: seeds as f64 * 60.0 / wall,
        sim_to_real_per_core: sim / real,
        sim_to_cpu: per_cpu(sim),
        seeds_per_cpu_minute: per_cpu(seeds as f64 * 60.0),
        check_share: check / real,
    }
}

/// Seconds summed over the standard runs.
#[derive(Default)]
struct Totals {
    sim: f64,
    real: f64,
    cpu: f64,
    check: f64,
}

/// One standard run's figures, in seconds.
struct StandardRun {
    sim: f64,
    real: f64,
    cpu: f64,
    check: f64,
    ok: bool,
}

fn standard_run(seed: u64) -> StandardRun {
    let kv = catalog::find("kv").expect("the kv scenario");
    let mut config = RunConfig::new(seed);
    config.clients = 8;
    config.chaos = Duration::from_secs(10);
    config.plan = FaultPlan::standard(10_000);
    config.record_events = kv.records_events();
    let started = Instant::now();
    let result = detcd_sim::simulate(config, kv.workload(&ScenarioOptions::default()));
    let checking = Instant::now();
    let checking_cpu = detcd_sim::thread_cpu_time();
    let verdict = linearizable_resolved(&result);
    let check = checking.elapsed().as_secs_f64();
    let check_cpu = detcd_sim::thread_cpu_time().saturating_sub(checking_cpu);
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
    StandardRun {
        sim: result.sim_time.as_secs_f64(),
        real: started.elapsed().as_secs_f64(),
        cpu: (result.cpu_time + check_cpu).as_secs_f64(),
        check,
        ok,
    }
}
