//! The scenarios a chaos run can drive, each a workload over the real gRPC client plus the
//! checkers of `detcd-check` that judge its history.
//!
//! These are small real-process versions of the simulator's `register`, `bank`, `lock`,
//! `lock-unfenced`, `kv`, `watch`, `lease`, `queue` and `election` (`scenarios/src/kv.rs`,
//! `bank.rs`, `lock.rs`, `watch.rs`, `lease.rs`, `queue.rs`, `election.rs`): the same operation shapes in
//! the history (so the same checkers judge them and `detcd-sim check --model register` re-checks
//! a register history), with simpler operation mixes. The simulator's workloads are written
//! against its own client context (virtual time, madsim nodes, its outcome type), so sharing
//! them would mean reworking `scenarios/`; until then the two are kept in step by using the
//! same names, shapes and checkers.
//!
//! Outcome rule, as in the simulator: a write whose fate is open is recorded as unknown; a call
//! the cluster certainly did not apply and that observed nothing (a refusal, no member
//! reachable, a read that got no answer) leaves the history.

pub mod bank;
pub mod election;
pub mod kv;
pub mod lease;
pub mod lock;
pub mod queue;
pub mod register;
pub mod watch;

use crate::recorder::Recorder;
use detcd_check::history::Operation;
use detcd_proto::client::GrpcClient;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One client of a run.
pub struct Ctx {
    /// The client's number in the history.
    pub index: u64,
    /// Its gRPC client (its endpoint list starts at its own member, so clients spread).
    pub client: GrpcClient,
    pub recorder: Recorder,
    /// Drawn from the run's seed and the client's index.
    pub rng: ChaCha8Rng,
    /// When the chaos phase ends: no new operation starts after it.
    pub until: Instant,
    /// The last operation's outcome was unknown (see [`pace`]).
    pub unknown: AtomicBool,
    /// The client's endpoints, one per member, its own member first (a workload that must
    /// choose its member, as a watcher does, opens a client per endpoint).
    pub endpoints: Vec<String>,
    /// What the run's clients and its setup and finish share.
    pub shared: Arc<Shared>,
}

/// What a run's clients, its setup and its finish share (per scenario; unused parts stay
/// default).
#[derive(Default)]
pub struct Shared {
    /// The run may move members' clocks (`--faults clock`): lease TTLs and bounds allow for it.
    pub clocks_move: bool,
    /// `watch`: the reference stream of every committed event.
    pub archive: watch::Archive,
    /// `queue`: who is still producing and consuming.
    pub crews: queue::Crews,
    /// When the heal was complete (seconds on the history's clock), once it is.
    pub healed: std::sync::Mutex<Option<f64>>,
}

impl Shared {
    pub fn healed(&self) -> Option<f64> {
        *self.healed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Ctx {
    pub fn running(&self) -> bool {
        Instant::now() < self.until
    }
}

/// One checker's verdict, as the simulator's runs report them.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub checker: String,
    /// `None`: the checker could not decide (search budget spent, input missing).
    pub ok: Option<bool>,
    pub summary: String,
}

/// Search steps a linearizability check may take before its verdict is unknown (the
/// simulator's budget).
pub const CHECK_STEPS: u64 = 100_000_000;

/// Wall-clock time a linearizability check may take before its verdict is unknown. The
/// simulator budgets steps only, so that a seed's verdict is the same on every machine; a real
/// run is not reproducible anyway, and a debug build searches many times slower than the
/// release build the simulator runs in.
pub const CHECK_TIME: Duration = Duration::from_secs(60);

/// The checkers' search budget: [`CHECK_STEPS`] or [`CHECK_TIME`], whichever runs out first.
pub fn check_options() -> detcd_check::linearizability::Options {
    let mut options = detcd_check::linearizability::Options::default();
    options.budget.max_steps = Some(CHECK_STEPS);
    options.budget.deadline = Some(Instant::now() + CHECK_TIME);
    options
}

/// A scenario of this slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Register,
    Bank,
    Lock { fenced: bool },
    Kv,
    Watch,
    Lease,
    Queue,
    Election,
}

impl Scenario {
    pub const NAMES: [&'static str; 9] =
        ["register", "bank", "lock", "lock-unfenced", "kv", "watch", "lease", "queue", "election"];

    pub fn parse(name: &str) -> Result<Scenario, String> {
        match name {
            "register" => Ok(Scenario::Register),
            "bank" => Ok(Scenario::Bank),
            "lock" => Ok(Scenario::Lock { fenced: true }),
            "lock-unfenced" => Ok(Scenario::Lock { fenced: false }),
            "kv" => Ok(Scenario::Kv),
            "watch" => Ok(Scenario::Watch),
            "lease" => Ok(Scenario::Lease),
            "queue" => Ok(Scenario::Queue),
            "election" => Ok(Scenario::Election),
            other => {
                Err(format!("unknown scenario '{other}'; known: {}", Scenario::NAMES.join(", ")))
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Register => "register",
            Scenario::Bank => "bank",
            Scenario::Lock { fenced: true } => "lock",
            Scenario::Lock { fenced: false } => "lock-unfenced",
            Scenario::Kv => "kv",
            Scenario::Watch => "watch",
            Scenario::Lease => "lease",
            Scenario::Queue => "queue",
            Scenario::Election => "election",
        }
    }

    /// The lease TTL the scenario's leases use (what "a pause longer than a lease TTL" means).
    pub fn ttl_secs(self) -> u64 {
        match self {
            Scenario::Lease => lease::TTL_MAX,
            Scenario::Election => election::TTL as u64,
            _ => lock::TTL as u64,
        }
    }

    /// Prepares the key space before the chaos (on a healthy cluster); `endpoints` are the
    /// members' as the command reaches them.
    pub async fn setup(
        self,
        client: &GrpcClient,
        within: Duration,
        endpoints: &[String],
        shared: &Arc<Shared>,
    ) -> Result<(), String> {
        match self {
            Scenario::Bank => bank::open_accounts(client, within).await,
            Scenario::Watch | Scenario::Kv => {
                watch::start_archive(endpoints.to_vec(), shared.clone());
                Ok(())
            }
            Scenario::Register
            | Scenario::Lock { .. }
            | Scenario::Lease
            | Scenario::Queue
            | Scenario::Election => Ok(()),
        }
    }

    /// One client's work until the chaos phase ends.
    pub async fn client(self, ctx: Ctx) {
        match self {
            Scenario::Register => register::client(ctx).await,
            Scenario::Bank => bank::client(ctx).await,
            Scenario::Lock { fenced } => lock::client(ctx, fenced).await,
            Scenario::Kv => kv::client(ctx).await,
            Scenario::Watch => watch::client(ctx).await,
            Scenario::Lease => lease::client(ctx).await,
            Scenario::Queue => queue::client(ctx).await,
            Scenario::Election => election::client(ctx).await,
        }
    }

    /// After the heal, with every client done: reads the final state a checker needs, as
    /// client `index` (one no workload client uses).
    pub async fn finish(
        self,
        client: &GrpcClient,
        recorder: &Recorder,
        index: u64,
        shared: &Shared,
    ) {
        match self {
            Scenario::Lock { .. } => lock::record_after_run(client, recorder, index).await,
            Scenario::Watch | Scenario::Kv => watch::finish(client, recorder, index, shared).await,
            Scenario::Lease => lease::final_reads(client, recorder, index, shared).await,
            Scenario::Queue => queue::finish(client, recorder, index, shared).await,
            Scenario::Register | Scenario::Bank | Scenario::Election => {}
        }
    }

    /// The checkers' verdicts on the history.
    pub fn judge(self, ops: &[Operation]) -> Vec<Verdict> {
        match self {
            Scenario::Register => vec![register::verdict(ops)],
            Scenario::Bank => vec![bank::verdict(ops)],
            Scenario::Lock { fenced } => vec![lock::verdict(ops, fenced)],
            Scenario::Kv => vec![kv::verdict(ops)],
            Scenario::Watch => vec![watch::verdict(ops), watch::archive_verdict(ops)],
            Scenario::Lease => vec![lease::verdict(ops)],
            Scenario::Queue => vec![queue::verdict(ops)],
            Scenario::Election => vec![election::verdict(ops)],
        }
    }
}

/// How long a client waits after an operation whose outcome it could not learn.
const BACKOFF: Duration = Duration::from_millis(500);

/// The wait between two operations: `low..high` milliseconds, or [`BACKOFF`] after an unknown
/// outcome. A real client backs off when its calls time out (clientv3 does); without it, a
/// client facing a member that answers "request timed out" at once piles up hundreds of
/// unknown writes in a second, each of which the checker must try at every later point.
pub async fn pace(ctx: &mut Ctx, low: u64, high: u64) {
    if ctx.unknown.swap(false, Ordering::SeqCst) {
        tokio::time::sleep(BACKOFF).await;
    } else {
        jitter(ctx, low, high).await;
    }
}

/// Waits `low..high` milliseconds, drawn from the client's rng.
pub async fn jitter(ctx: &mut Ctx, low: u64, high: u64) {
    use rand::Rng;
    let millis = ctx.rng.gen_range(low..high.max(low + 1));
    tokio::time::sleep(Duration::from_millis(millis)).await;
}
