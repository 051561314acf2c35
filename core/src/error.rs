//! Errors a member returns to clients, with etcd's exact message texts.
//!
//! Clients (and `etcdctl`) recognise errors by their text, so `Display` prints what etcd prints.
//! Every error here is a refusal that changed nothing: a command that fails leaves the store, its
//! revision and every lease exactly as they were.

use serde::{Deserialize, Serialize};

/// An error a request can end in. The `Display` text is etcd's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Error {
    #[error("etcdserver: mvcc: required revision has been compacted")]
    Compacted { compact_revision: i64 },
    #[error("etcdserver: mvcc: required revision is a future revision")]
    FutureRevision,
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    #[error("etcdserver: lease already exists")]
    LeaseExists,
    #[error("etcdserver: key is not provided")]
    EmptyKey,
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    #[error("etcdserver: too many operations in txn request")]
    TooManyOps,
    #[error("etcdserver: request is too large")]
    RequestTooLarge,
    /// `ignore_value` together with a non-empty value.
    #[error("etcdserver: value is provided")]
    ValueProvided,
    /// `ignore_lease` together with a non-zero lease.
    #[error("etcdserver: lease is provided")]
    LeaseProvided,
    /// `ignore_value` / `ignore_lease` on a key that does not exist.
    #[error("etcdserver: key not found")]
    KeyNotFound,
    #[error("etcdserver: too large lease TTL")]
    LeaseTtlTooLarge,
    /// A lease keep-alive reached a member that is not counting leases down (not the leader).
    #[error("etcdserver: not a primary lessor")]
    NotPrimary,
    /// The member is not serving: its raft stopped (e.g. its WAL was poisoned by a failed fsync),
    /// or it has not finished starting up (`Member::until_ready`). Nothing was done; another member
    /// may serve the request.
    #[error("etcdserver: server stopped")]
    Stopped,
    #[error("etcdserver: no leader")]
    NoLeader,
    #[error("etcdserver: leader changed")]
    LeaderChanged,
    #[error("etcdserver: request timed out")]
    Timeout,
    #[error("etcdserver: {0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, Error>;
