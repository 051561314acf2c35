//! What a client call can end in, as three kinds a caller must tell apart.
//!
//! - `Etcd`: the cluster answered with an error that certainly changed nothing (a refusal, or
//!   `no leader`). `Display` is etcd's own text (`etcdserver: requested lease not found`, ...), so
//!   tools print what etcd prints.
//! - `Unknown`: the request was sent and its fate is unknown (timed out, the connection broke, the
//!   leader changed under it). It may have taken effect, and may still take effect later. Code
//!   that writes must find out (read back what it wrote) before it retries.
//! - `Unavailable`: the request certainly did not take effect (no member could be reached, or none
//!   had a leader). Safe to retry as is.
//!
//! A `ClientError` is made only from a [`Failure`], through [`outcome::classify`]: an error a
//! member answered with becomes `Unknown` exactly when its class is `Unknown` and the request
//! may write, so `Etcd` never holds an error whose outcome is open, whichever transport carried
//! it. A recipe that writes and then reads within one step must itself report the step as
//! unknown when the read fails after the write (its write's fate is the step's).

use super::outcome::{self, Class, Failure};
use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A definite answer from the cluster that changed nothing, with etcd's message.
    #[error("{0}")]
    Etcd(Error),
    /// Sent; maybe applied, maybe not, maybe later.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// Not applied: no member could take the request.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ClientError {
    /// The error a request ends in after `failure`. A read changes nothing, so its open outcome
    /// is no outcome at all: `Unavailable`, which a caller may simply retry.
    pub fn of(failure: Failure, read: bool) -> ClientError {
        match (outcome::classify(&failure), failure) {
            (Class::Unknown, Failure::Answered(error)) if read => {
                ClientError::Unavailable(error.to_string())
            }
            (Class::Unknown, Failure::Answered(error)) => ClientError::Unknown(error.to_string()),
            (_, Failure::Answered(error)) => ClientError::Etcd(error),
            (_, Failure::NotDelivered(why)) => ClientError::Unavailable(why),
            (_, Failure::NoAnswer(why)) if read => ClientError::Unavailable(why),
            (_, Failure::NoAnswer(why)) => ClientError::Unknown(why),
        }
    }
}

/// A failure of a request that may write.
impl From<Failure> for ClientError {
    fn from(failure: Failure) -> Self {
        ClientError::of(failure, false)
    }
}

/// A member's answer, classified.
impl From<Error> for ClientError {
    fn from(error: Error) -> Self {
        Failure::Answered(error).into()
    }
}

impl ClientError {
    /// The class of this error (see `outcome`).
    pub fn class(&self) -> Class {
        match self {
            ClientError::Etcd(error) => outcome::class_of(error),
            ClientError::Unknown(_) => Class::Unknown,
            ClientError::Unavailable(_) => Class::RetryElsewhere,
        }
    }

    /// True when the request may have taken effect.
    pub fn is_unknown(&self) -> bool {
        self.class() == Class::Unknown
    }

    /// True when a read, or a write made idempotent, may simply be sent again: anything but a
    /// definite refusal.
    pub fn is_transient(&self) -> bool {
        self.class() != Class::Refused
    }

    /// True when the request certainly did not take effect and may be sent again as it is.
    pub fn certainly_not_applied(&self) -> bool {
        self.class() == Class::RetryElsewhere
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
