//! The async runtime seam: openraft's `AsyncRuntime` on madsim, and every node's view of time.
//!
//! Under `--cfg madsim` the `madsim` crate is a deterministic simulator (one thread, virtual time,
//! seeded randomness); without it, `madsim` is a thin layer over real tokio. Implementing openraft's
//! runtime trait on `madsim` therefore gives the simulator and the server the same code.
//!
//! Time is per node: `node_clock` gives each simulated node its own offset, drift rate and jumps over
//! madsim's single virtual clock, and everything here (openraft's `Instant`, sleeps and timeouts)
//! reads that skewed clock. Invariants: no OS threads are spawned, no wall clock is read except
//! through `node_clock`, and every random draw comes from madsim's seeded generator.

mod instant;
pub mod node_clock;
mod timeout;

pub use instant::NodeInstant;
pub use node_clock::{ClockSkew, NodeClock};
pub use timeout::{Timeout, TimeoutError};

use openraft_rt::{AsyncRuntime, Instant as _, OptionalSend};
use std::future::Future;
use std::time::Duration;

/// The timer future of whichever executor this build runs on.
#[cfg(madsim)]
pub type Sleep = madsim::time::Sleep;
#[cfg(not(madsim))]
pub type Sleep = tokio::time::Sleep;

/// openraft's runtime for detcd: madsim's executor and timers, tokio's sync primitives, and a
/// watch channel that wakes waiters in a fixed order (tokio's wakes them in random order).
#[derive(Debug, Default)]
pub struct DetRuntime;

impl AsyncRuntime for DetRuntime {
    type JoinError = madsim::task::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = madsim::task::JoinHandle<T>;
    type Sleep = Sleep;
    type Instant = NodeInstant;
    type TimeoutError = TimeoutError;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = Timeout<T>;
    type ThreadLocalRng = rand010::rngs::SmallRng;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        // openraft's task futures (the core loop, replication, the state machine worker) are
        // large; boxed here, the executor's spawn path moves a pointer instead of copying the
        // whole future several times over. The tasks and their order stay the same.
        #[cfg(madsim)]
        let future = Box::pin(future);
        madsim::task::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        madsim::time::sleep(node_clock::to_real_duration(duration))
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        Self::sleep(deadline.saturating_duration_since(NodeInstant::now_local()))
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        Timeout::new(future, Self::sleep(duration))
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        Timeout::new(future, Self::sleep_until(deadline))
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        join_error.is_panic()
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        use rand010::SeedableRng;
        // Seeded from madsim's generator so every draw is covered by the seed (and by madsim's
        // determinism check); outside the simulator this is the OS's randomness.
        rand010::rngs::SmallRng::seed_from_u64(madsim::rand::random::<u64>())
    }

    type Mpsc = openraft_rt_tokio::TokioMpsc;
    type Watch = openraft_rt_sim::SimWatch;
    type Oneshot = openraft_rt_tokio::TokioOneshot;
    type Mutex<T: OptionalSend + 'static> = openraft_rt_tokio::TokioMutex<T>;

    fn new(_threads: usize) -> Self {
        DetRuntime
    }

    fn block_on<F, T>(&mut self, _future: F) -> T
    where
        F: Future<Output = T>,
    {
        // openraft never calls it; the simulator and the server each own their executor.
        unreachable!("detcd drives openraft from its own executor; block_on is never used")
    }
}
