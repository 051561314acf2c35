//! detcd-core: the deterministic heart of detcd.
//!
//! Everything a member does lives here as pure, transport-agnostic code: the revisioned key space
//! (`mvcc`), leases (`lease`), watchers (`watch`), and the replicated state machine that applies
//! commands to them (`apply`). The core never touches sockets, real files, OS threads or the wall
//! clock except through its seams, so the same code runs inside the madsim simulator (where a seed
//! decides everything) and inside the real `detcd` server.
//!
//! The map:
//! - `member`: one member, the API every transport calls (routing, forwarding to the leader, KV,
//!   leases, watch streams, Lock/Election, membership, start-up to ready, snapshot archives);
//! - `apply`, `mvcc`, `lease`, `watch`: the replicated state machine and its parts; `api` and `kv`
//!   their request, response and data types;
//! - `raft`: openraft's log store (on the WAL, with group commit) and its state machine (the
//!   member's `Replica`);
//! - `peer`: the wire between members, and its seam: raft's calls and the batches of requests a
//!   follower forwards to the leader, one kind of call per kind of request, each with its reply
//!   type; openraft's network over the seam;
//! - `storage`: the disk seam, the WAL and snapshot files;
//! - `runtime`, `clock`: the async runtime seam and each node's clock;
//! - `client`, `recipes`: the `Client` trait, its outcome classification and etcd's recipes on it;
//! - `auth`: users, roles, permissions and tokens (etcd's auth store), replicated, and the
//!   permission checks of every request;
//! - `error`: the errors callers branch on;
//! - `invariant`: [`invariant!`](crate::invariant!), the module docs' invariants checked where
//!   they are kept, on in debug builds and in the simulator;
//! - `buggify`, `plant`, `probes`: fault-injection sites, planted bugs and coverage probes, live
//!   only in the simulator build.
//!
//! The seams, each a trait here with a simulated and a real side: the async runtime
//! (`runtime::DetRuntime`, openraft's `AsyncRuntime` on madsim, which is plain tokio outside the
//! simulator), time (`clock::Clock`, read through `runtime::NodeClock`), the disk
//! (`storage::Disk`: `SimDisk` and `RealDisk`) and the network between members
//! (`peer::PeerTransport`, implemented by `detcd-sim` over madsim and by the server
//! over gRPC).

pub mod api;
pub mod apply;
pub mod auth;
pub mod buggify;
pub mod client;
pub mod clock;
pub mod error;
pub mod invariant;
pub mod kv;
pub mod lease;
pub mod member;
pub mod members;
pub mod mvcc;
pub mod peer;
pub mod plant;
pub mod probes;
pub mod raft;
pub mod recipes;
pub mod runtime;
pub mod storage;
pub mod version;
pub mod watch;

pub use error::{Error, Result};
