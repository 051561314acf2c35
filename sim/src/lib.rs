//! detcd-sim: whole detcd clusters and their clients inside madsim, where one seed decides a run.
//!
//! Every member is a madsim node with its own simulated disk (owned here, so it outlives the
//! node's tasks across crashes) and its own clock; members talk raft and forward requests over
//! madsim's network, and so do clients, so a partition cuts both. Only meaningful in the
//! `--cfg madsim` build: in the normal build this crate is empty.

#[cfg(madsim)]
pub mod client;
#[cfg(madsim)]
pub mod cluster;
#[cfg(madsim)]
pub mod committed;
#[cfg(madsim)]
pub mod etcd_client;
#[cfg(madsim)]
pub mod faults;
#[cfg(madsim)]
pub mod history;
#[cfg(madsim)]
pub mod invariants;
#[cfg(madsim)]
pub mod knobs;
#[cfg(madsim)]
pub mod plan;
#[cfg(madsim)]
pub mod run;
#[cfg(madsim)]
pub mod trace;
#[cfg(madsim)]
pub mod transport;
#[cfg(madsim)]
pub mod watch_client;
#[cfg(madsim)]
pub mod workload;

/// Runs `scenario` as one simulation with this seed, on a fresh thread (madsim seeds the thread's
/// hashing and OS randomness per run), and returns its result.
#[cfg(madsim)]
pub fn run_seed<F>(seed: u64, scenario: fn() -> F) -> F::Output
where
    F: std::future::Future + 'static,
    F::Output: Send + 'static,
{
    let run = std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(scenario())
    });
    match run.join() {
        Ok(output) => output,
        Err(panic) => {
            eprintln!("seed {seed} failed; rerun just this seed to reproduce it");
            std::panic::resume_unwind(panic)
        }
    }
}

/// Runs `scenario` twice with this seed and panics at the first random draw that differs
/// (madsim's determinism check): the run does not depend on anything but the seed.
#[cfg(madsim)]
pub fn check_determinism<F>(seed: u64, scenario: fn() -> F) -> F::Output
where
    F: std::future::Future + 'static,
    F::Output: Send,
{
    madsim::runtime::Runtime::check_determinism(seed, madsim::Config::default(), scenario)
}

/// Runs one simulation of `config` with `workload`, on a fresh thread seeded with `config.seed`.
/// A panic anywhere in the run (a member, a client, the harness) is that run's failure, with
/// the panic's message as its one violation, not the end of the caller: a sweep goes on.
#[cfg(madsim)]
pub fn simulate(
    config: run::RunConfig,
    workload: std::sync::Arc<dyn workload::Workload>,
) -> run::RunResult {
    let seed = config.seed;
    let thread = std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        let mut result = runtime.block_on(run::simulate(config, workload));
        drop(runtime);
        result.cpu_time = thread_cpu_time();
        result
    });
    match thread.join() {
        Ok(result) => result,
        Err(panic) => run::RunResult::panicked(seed, panic_message(panic.as_ref())),
    }
}

/// The CPU time (user and system) the calling thread has used so far. On a machine shared with
/// other work, wall-clock time also counts the time spent waiting for a core; this does not.
/// A measurement beside the run, never an input to it (madsim virtualizes the clocks a run may
/// read, not this one). Zero where the platform has no per-thread figure.
#[cfg(madsim)]
pub fn thread_cpu_time() -> std::time::Duration {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getrusage only writes the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } == 0 {
            let time = |t: libc::timeval| {
                std::time::Duration::from_secs(t.tv_sec as u64)
                    + std::time::Duration::from_micros(t.tv_usec as u64)
            };
            return time(usage.ru_utime) + time(usage.ru_stime);
        }
    }
    std::time::Duration::ZERO
}

/// The text a panic was raised with.
#[cfg(madsim)]
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => text.to_string(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_string(),
    }
}

#[cfg(madsim)]
type Pending = (run::RunConfig, std::sync::Arc<dyn workload::Workload>);

#[cfg(madsim)]
static PENDING: std::sync::Mutex<std::collections::BTreeMap<u64, Pending>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

#[cfg(madsim)]
fn pending_run() -> futures::future::BoxFuture<'static, run::RunResult> {
    // Evaluated before madsim enters its runtime; the seed is only known inside.
    Box::pin(async {
        let seed = madsim::runtime::Handle::current().seed();
        let pending = PENDING.lock().ok().and_then(|runs| runs.get(&seed).cloned());
        let (config, workload) = pending.expect("a run registered for this seed");
        run::simulate(config, workload).await
    })
}

/// Runs `config` three times: once plainly, then twice under madsim's determinism check (which
/// fails at the first random draw that differs); then compares the traces line by line. Returns
/// the result, or where the runs first differ.
#[cfg(madsim)]
pub fn check_run_determinism(
    config: run::RunConfig,
    workload: std::sync::Arc<dyn workload::Workload>,
) -> Result<run::RunResult, String> {
    let seed = config.seed;
    let first = simulate(config.clone(), workload.clone());
    if let Ok(mut runs) = PENDING.lock() {
        runs.insert(seed, (config, workload));
    }
    let checked = std::panic::catch_unwind(|| {
        madsim::runtime::Runtime::check_determinism(seed, madsim::Config::default(), pending_run)
    });
    if let Ok(mut runs) = PENDING.lock() {
        runs.remove(&seed);
    }
    let second = checked.map_err(|_| format!("seed {seed}: madsim's determinism check failed"))?;
    match first.trace.iter().zip(&second.trace).position(|(a, b)| a != b) {
        Some(line) => Err(format!(
            "seed {seed}: traces differ at line {}:\n  first:  {}\n  second: {}",
            line + 1,
            first.trace[line],
            second.trace[line]
        )),
        None if first.trace.len() != second.trace.len() => Err(format!(
            "seed {seed}: traces differ in length ({} vs {})",
            first.trace.len(),
            second.trace.len()
        )),
        // Same trace, yet the clients saw something else: find the first operation that differs.
        None if first.trace_hash != second.trace_hash => {
            let at = first.history.iter().zip(&second.history).position(|(a, b)| a != b);
            Err(match at {
                Some(op) => format!(
                    "seed {seed}: same trace, but operation {op} differs:\n  first:  {:?}\n  second: {:?}",
                    first.history[op], second.history[op]
                ),
                None => format!(
                    "seed {seed}: same trace, but {} vs {} operations",
                    first.history.len(),
                    second.history.len()
                ),
            })
        }
        None => Ok(first),
    }
}
