//! detcd-core: the deterministic heart of detcd.
//!
//! Everything a member does lives here as pure, transport-agnostic code: the revisioned key space
//! (`mvcc`), leases (`lease`), watchers (`watch`), and the replicated state machine that applies
//! commands to them (`apply`). The core never touches sockets, real files, OS threads or the wall
//! clock except through its seams, so the same code runs inside the madsim simulator (where a seed
//! decides everything) and inside the real `detcd` server.
//!
//! What the module docs state as invariants is checked where it is kept with
//! [`invariant!`](crate::invariant!), on in debug builds and in the simulator (`invariant`).

pub mod api;
pub mod apply;
pub mod buggify;
pub mod client;
pub mod clock;
pub mod error;
pub mod invariant;
pub mod kv;
pub mod lease;
pub mod member;
pub mod mvcc;
pub mod plant;
pub mod probes;
pub mod raft;
pub mod recipes;
pub mod runtime;
pub mod storage;
pub mod watch;

pub use error::{Error, Result};
