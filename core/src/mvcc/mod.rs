//! The MVCC key space: every key's history, addressed by revision, with etcd's semantics.
//!
//! - [`history`]: one key's versions (generations of put ... put, delete);
//! - [`key`]: the stored key, inline and compared as machine words;
//! - [`store`]: the ordered key index, the current and compacted revisions, and the writer that
//!   lands all changes of one request at one revision;
//! - [`persist`]: the serialized form (keys and histories in key order, no slots);
//! - [`check`]: request checks that need no state (empty key, too many ops, duplicate keys);
//! - [`batch`]: reading many keys with their cache misses overlapped;
//! - [`range`]: range reads (limit, count, sort, filters, historical revisions);
//! - [`write`]: put, delete range and txn, all-or-nothing;
//! - [`compact`]: compaction and its contract;
//! - [`events`]: the changes between two revisions, for watch catch-up;
//! - [`hash`]: `hash_kv`, to compare members;
//! - [`size`]: the backend size the quota counts, a function of the retained versions;
//! - [`retained`]: every retained version in revision order (what a whole-history export walks);
//! - [`import`]: a store from such an export, checked.
//!
//! Invariants kept by the whole module: the revision starts at 1 and rises by exactly one per
//! write that changed something; all changes of one write share that revision; a refused write
//! changes nothing; nothing here reads a clock, spawns a thread or depends on hash order.

mod batch;
pub mod check;
pub mod compact;
pub mod events;
pub mod hash;
pub mod history;
pub mod import;
pub mod key;
mod persist;
pub mod range;
pub mod retained;
pub mod size;
pub mod store;
pub mod write;

pub use check::MAX_TXN_OPS;
pub use store::Store;
pub use write::{compare_kv, LeaseLookup};
