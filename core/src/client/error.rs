//! What a client call can end in, as three kinds a caller must tell apart.
//!
//! - `Etcd`: the cluster answered with a refusal; nothing changed. `Display` is etcd's own text
//!   (`etcdserver: requested lease not found`, ...), so tools print what etcd prints.
//! - `Unknown`: the request was sent and its fate is unknown (timed out, the connection broke, the
//!   leader changed under it). It may have taken effect, and may still take effect later. Code
//!   that writes must find out (read back what it wrote) before it retries.
//! - `Unavailable`: the request certainly did not take effect (no member could be reached, or none
//!   had a leader). Safe to retry as is.

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A definite refusal from the cluster, with etcd's message.
    #[error("{0}")]
    Etcd(#[from] Error),
    /// Sent; maybe applied, maybe not, maybe later.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// Not applied: no member could take the request.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ClientError {
    /// True when the request may have taken effect.
    pub fn is_unknown(&self) -> bool {
        matches!(self, ClientError::Unknown(_))
    }

    /// True when the same request may simply be sent again: it either certainly did not apply,
    /// or it is a read.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unknown(_) | ClientError::Unavailable(_) => true,
            ClientError::Etcd(error) => matches!(
                error,
                Error::NoLeader | Error::LeaderChanged | Error::Timeout | Error::NotPrimary
            ),
        }
    }

    /// The etcd error, when the cluster gave a definite one.
    pub fn etcd(&self) -> Option<&Error> {
        match self {
            ClientError::Etcd(error) => Some(error),
            _ => None,
        }
    }
}

pub type ClientResult<T> = std::result::Result<T, ClientError>;
