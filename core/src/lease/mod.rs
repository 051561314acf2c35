//! Leases: the replicated lessor and the leader's local expiry tracker.
//!
//! A lease is split along the line between what is replicated and what is not:
//! - [`lessor`]: the replicated part - which leases exist, their granted TTL and attached keys.
//!   It changes only by applying commands (grant, revoke, and the attach/detach that follows from
//!   every KV write) and never reads a clock, so every replica holds the same lessor.
//! - [`expiry`]: the leader-local part - when each lease runs out. Only the leader keeps it, on
//!   its own `Clock`; an expired lease becomes a replicated revoke command, so followers never
//!   delete on their own clocks. A new leader gives every lease its full TTL again.

pub mod expiry;
pub mod lessor;

pub use expiry::{ExpiryTracker, REVOKE_RETRY};
pub use lessor::{Lease, Lessor, DEFAULT_MIN_TTL, MAX_LEASE_TTL};
