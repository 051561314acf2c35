//! detcd-check: history model and checkers.
//!
//! Depends on no other detcd crate: it judges histories recorded anywhere, including against real
//! etcd servers.
//!
//! - [`history`]: the operation/history model; [`jsonl`] (with [`jsonl_fast`]) and [`edn`] load it.
//! - [`linearizability`]: the search, with [`models`] `register`, `kv` and `etcd`.
//! - [`cli`]: what `detcd-sim check` runs; [`generate`]: linearizable histories for tests and benches.
//! - Safety checkers for the client recipes: [`bank`], [`lock`], [`rwlock`], [`barrier`],
//!   [`queue`], [`election`], [`watch`], [`lease`]; and [`auth`] for permissions under changes;
//!   all return a [`verdict::SafetyVerdict`].
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

//!
//! # Safety checker inputs (JSON)
//!
//! Each checker takes plain structs that deserialise from JSON (field docs in each module);
//! findings' `records` index into the lists below. Times are on the history's clock.
//!
//! ```text
//! bank:     initial {"a":100,"b":100} + a history of transfer/read operations (see bank)
//! lock:     {"holds":[{"client":1,"token":5,"acquired":1.0,"released":null,"lease_expired":3.0}],
//!            "writes":[{"client":2,"token":7,"read":10,"wrote":11,"time":5.0}],"initial":10,"fenced":true,
//!            "keys":[{"created":5,"deleted":9},{"created":7,"deleted":null}]}
//! rwlock:   [{"client":1,"kind":"read","revision":1,"acquired":0.0,"released":2.0}, ...]
//! barrier:  {"held":[{"put":1.0,"deleted":5.0}],"waits":[{"client":2,"call":2.0,"ret":5.1}]}
//! double:   {"n":2,"participants":[{"client":1,"enter":{"call":0,"ret":2.1},"leave":{"call":3,"ret":4.1}}]}
//! queue:    {"enqueues":[{"client":1,"value":"a","priority":0,"call":0,"ret":1}],
//!            "dequeues":[{"client":3,"value":"a","call":4,"ret":5}],"remaining":[]}
//! election: [{"election":"e","client":1,"revision":3,"elected":0.0,"ended":2.0}, ...]
//! watch:    {"committed":[{"revision":2,"key":"a","kind":"put","value":"1","prev_value":null}],
//!            "watchers":[{"key":"a","range_end":"c","start_revision":2,"prev_kv":true,"filters":["no_delete"],
//!              "received":[{"type":"events","events":[...]},{"type":"progress","revision":4},
//!                          {"type":"resume","start_revision":5},{"type":"canceled","compact_revision":null}]}]}
//!           (received events may carry "create": etcd's is_create; see watch for every rule)
//! lease:    {"bound":2.0,"leases":[{"id":1,"ttl":5.0,"granted":0.0,"keepalives":[4.0],
//!            "revoke_called":null,"keys":["k"],"attached":1.0}],
//!            "reads":[{"key":"k","call":6.0,"ret":6.1,"present":true}]}
//! auth:     {"initial":{"permissions":[{"role":"r","key":"a","range_end":"","kind":"readwrite"}],
//!            "roles":[{"user":"u","role":"r"}]},
//!            "changes":[{"change":{"revoke":{"role":"r","key":"a","range_end":""}},"call":1.0,
//!              "ret":1.2,"outcome":"ok","revision":4}],
//!            "ops":[{"user":"u","needs":[{"kind":"write","key":"a"}],"call":2.0,"ret":2.1,
//!              "outcome":"denied","revision":null,"wrote":false,"serializable":false}]}
//! ```
//!
//! Every checker returns a [`verdict::SafetyVerdict`]: `{"verdict":"ok"}` or
//! `{"verdict":"violation","findings":[{"rule":"lost_update","records":[1],"message":"..."}]}`.

pub mod auth;
pub mod bank;
pub mod barrier;
pub mod cli;
pub mod edn;
pub mod election;
pub mod generate;
pub mod history;
pub mod jsonl;
pub mod jsonl_fast;
pub mod lease;
pub mod linearizability;
pub mod lock;
pub mod models;
pub mod queue;
pub mod rwlock;
pub mod verdict;
pub mod watch;
