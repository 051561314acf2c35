//! Errors of the client-side recipes, with etcd's texts where etcd has one.

use crate::client::ClientError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipeError {
    /// A call to the cluster failed (etcd's text for definite refusals).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `TryLock` found the mutex held.
    #[error("mutex: Locked by another session")]
    Locked,
    /// The session's lease is gone (expired or revoked), so its keys are gone too.
    #[error("session expired: lease {lease:x} is gone")]
    SessionExpired { lease: i64 },
    /// A recipe was given a key or prefix it cannot use.
    #[error("invalid {what}: {why}")]
    InvalidArgument { what: &'static str, why: &'static str },
    /// A double barrier saw more participants than its count.
    #[error("barrier: too many clients")]
    TooManyClients,
    /// A barrier key is already held.
    #[error("key already exists")]
    KeyExists,
    /// `Proclaim` or `Resign` by a campaigner that is not the leader.
    #[error("election: not leader")]
    NotLeader,
    /// `Leader` on an election nobody has won.
    #[error("election: no leader")]
    NoLeader,
    /// A watch was canceled by the cluster for a reason other than compaction.
    #[error("watch canceled: {0}")]
    WatchCanceled(String),
    /// An STM transaction kept conflicting.
    #[error("stm: gave up after {0} conflicting attempts")]
    TooManyConflicts(usize),
    /// Unlock or leave on something not held.
    #[error("{0}")]
    NotHeld(&'static str),
}

impl From<crate::Error> for RecipeError {
    fn from(error: crate::Error) -> Self {
        RecipeError::Client(ClientError::Etcd(error))
    }
}

impl RecipeError {
    /// True when the cluster may have applied the failed call.
    pub fn is_unknown(&self) -> bool {
        matches!(self, RecipeError::Client(error) if error.is_unknown())
    }
}

pub type RecipeResult<T> = std::result::Result<T, RecipeError>;
