//! gRPC statuses as the three outcomes a caller must tell apart (the `Client` trait's
//! `ClientError`): a definite etcd refusal, an unknown outcome, or certainly not applied.

use crate::convert::{error_from_message, ConvertError};
use detcd_core::Error;
use tonic::{Code, Status};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrpcError {
    /// A definite refusal from the cluster, with etcd's message.
    #[error("{0}")]
    Etcd(Error),
    /// Sent; maybe applied, maybe not, maybe later.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// Not applied: the endpoint could not be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

pub type GrpcResult<T> = Result<T, GrpcError>;

impl GrpcError {
    /// True when the request certainly did not take effect, so another endpoint may take it.
    pub fn is_definitely_not_applied(&self) -> bool {
        matches!(self, GrpcError::Unavailable(_) | GrpcError::Etcd(Error::NoLeader))
    }
}

pub(super) fn from_status(status: Status) -> GrpcError {
    if let Some(error) = error_from_message(status.message()) {
        return GrpcError::Etcd(error);
    }
    let text = format!("{:?}: {}", status.code(), status.message());
    // A connection that was never made is the only transport failure known not to have
    // delivered the request.
    let never_connected = status.code() == Code::Unavailable
        && (status.message().contains("connect")
            || status.message().contains("Connection refused"));
    if never_connected {
        GrpcError::Unavailable(text)
    } else {
        GrpcError::Unknown(text)
    }
}

pub(super) fn convert_failed(error: ConvertError) -> GrpcError {
    GrpcError::Unknown(format!("undecodable response: {error}"))
}
