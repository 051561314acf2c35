//! detcd-check: history model and checkers.
//!
//! Depends on no other detcd crate: it judges histories recorded anywhere, including against real
//! etcd servers.
//!
//! - [`history`]: the operation/history model; [`jsonl`] and [`edn`] load it.
//! - [`linearizability`]: the search, with [`models`] `register`, `kv` and `etcd`.
//! - [`cli`]: what `detcd-sim check` runs; [`generate`]: linearizable histories for tests and benches.
//! - Safety checkers for the client recipes: [`bank`], [`lock`], [`rwlock`], [`barrier`],
//!   [`queue`], [`election`], [`watch`], [`lease`]; all return a [`verdict::SafetyVerdict`].
//!
//! # History format (JSON Lines)
//!
//! One operation per line:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `client` | integer | who issued it; one operation at a time per client |
//! | `call` | number | invocation time; only the order of times matters |
//! | `return` | number or `null` | completion time; `null` (or absent) = unknown outcome: it may take effect at any point after `call`, or never |
//! | `f` | string | operation name (per model, below) |
//! | `key` | string, optional | the key, for models checked per key |
//! | `input` | JSON | what was sent |
//! | `output` | JSON | what came back (ignored when `return` is `null`) |
//!
//! ```text
//! {"client":0,"call":0,"return":1,"f":"write","input":1,"output":null}
//! {"client":1,"call":0.5,"return":null,"f":"write","input":2,"output":null}
//! {"client":2,"call":2,"return":3,"f":"read","input":null,"output":2}
//! ```
//!
//! The second write's outcome is unknown; the read of `2` is fine because that write may have
//! taken effect. Model-specific shapes are documented in [`models::register`], [`models::kv`] and
//! [`models::etcd`]. Jepsen EDN histories are imported by [`edn`].

pub mod bank;
pub mod barrier;
pub mod cli;
pub mod edn;
pub mod election;
pub mod generate;
pub mod history;
pub mod jsonl;
pub mod lease;
pub mod linearizability;
pub mod lock;
pub mod models;
pub mod queue;
pub mod rwlock;
pub mod verdict;
pub mod watch;
