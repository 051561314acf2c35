//! Errors a member returns to clients, with etcd's exact message texts.
//!
//! Clients (and `etcdctl`) recognise errors by their text, so `Display` prints what etcd prints
//! (etcd's `rpctypes`), and the server answers each with etcd's gRPC code (`detcd_server::status`).
//! Everything a caller branches on has a variant of its own: no caller reads an error's text.
//!
//! Most errors are refusals that changed nothing: a command that fails leaves the store, its
//! revision and every lease exactly as they were. A few leave the outcome open (`Timeout`,
//! `LeaderChanged`, `Internal`); which ones, and what a client does after each, is decided once,
//! in `crate::client::outcome`.

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
    /// A membership change names a member the cluster does not have.
    #[error("etcdserver: member not found")]
    MemberNotFound,
    /// `member add` with an id the cluster already has.
    #[error("etcdserver: member ID already exist")]
    MemberExists,
    /// A membership change with no peer URLs (etcd: URLs that do not parse).
    #[error("etcdserver: given member URLs are invalid")]
    MemberBadUrls,
    /// `member promote` of a member that already votes.
    #[error("etcdserver: can only promote a learner member")]
    MemberNotLearner,
    /// A write while the cluster's NOSPACE alarm is raised (the backend passed its quota, see
    /// `crate::mvcc::size`): nothing was written; compaction, defragment and `alarm disarm` lift it.
    #[error("etcdserver: mvcc: database space exceeded")]
    NoSpace,
    /// `MoveLeader` asked of a member that does not lead: nothing was done; ask the leader.
    #[error("etcdserver: not leader")]
    NotLeader,
    /// `MoveLeader` to a member that is not a voting member of the cluster.
    #[error("etcdserver: bad leader transferee")]
    BadLeaderTransferee,
    /// `MoveLeader` did not see the target lead in time; the transfer may still complete.
    #[error("etcdserver: request timed out, leader transfer took too long")]
    LeaderTransferTimeout,
    /// etcd's auth errors (`auth/store.go`), with the texts of its `rpctypes`.
    #[error("etcdserver: root user does not exist")]
    RootUserNotExist,
    #[error("etcdserver: root user does not have root role")]
    RootRoleNotExist,
    #[error("etcdserver: user name already exists")]
    UserAlreadyExist,
    #[error("etcdserver: user name is empty")]
    UserEmpty,
    #[error("etcdserver: user name not found")]
    UserNotFound,
    #[error("etcdserver: role name already exists")]
    RoleAlreadyExist,
    #[error("etcdserver: role name not found")]
    RoleNotFound,
    #[error("etcdserver: role name is empty")]
    RoleEmpty,
    #[error("etcdserver: authentication failed, invalid user ID or password")]
    AuthFailed,
    #[error("etcdserver: permission denied")]
    PermissionDenied,
    #[error("etcdserver: role is not granted to the user")]
    RoleNotGranted,
    #[error("etcdserver: permission is not granted to the role")]
    PermissionNotGranted,
    #[error("etcdserver: authentication is not enabled")]
    AuthNotEnabled,
    #[error("etcdserver: invalid auth token")]
    InvalidAuthToken,
    /// Deleting `root` (user or role), or revoking `root` from `root`, while auth is enabled.
    #[error("etcdserver: invalid auth management")]
    InvalidAuthMgmt,
    /// The auth store changed after the request's caller was resolved: the client
    /// authenticates again and retries.
    #[error("etcdserver: revision of auth store is old")]
    AuthOldRevision,
    /// etcd's Downgrade errors (`member::downgrade`): a target version that does not parse,
    /// one that is not exactly one minor version below the cluster's, an enable while a
    /// downgrade is enabled, a cancel while none is.
    #[error("etcdserver: wrong downgrade target version format")]
    WrongDowngradeVersionFormat,
    #[error("etcdserver: invalid downgrade target version")]
    InvalidDowngradeTargetVersion,
    #[error("etcdserver: cluster has a downgrade job in progress")]
    DowngradeInProcess,
    #[error("etcdserver: no inflight downgrade job")]
    NoInflightDowngrade,
    /// A request with an action etcd does not know (a Downgrade action other than validate,
    /// enable, cancel): nothing was done.
    #[error("etcdserver: unknown method")]
    UnknownMethod,
    /// A refusal no caller tells apart from others (bad input to a tool, an etcd message detcd
    /// has no variant for); nothing changed.
    #[error("etcdserver: {0}")]
    Other(String),
    /// Something inside detcd went wrong after the request may have reached raft (raft failed
    /// mid-change, an answer of the wrong kind): the outcome is open.
    #[error("etcdserver: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;
