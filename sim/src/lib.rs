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
pub mod etcd_client;
#[cfg(madsim)]
pub mod transport;

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
