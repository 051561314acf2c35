//! A client's watch stream to one member over the simulated network (`WatchCall`).
//!
//! A stream lives on one member. It is lost when that member crashes or restarts (it answers
//! `UnknownStream`), when the network cuts it (a call fails), or when a long poll times out: a
//! timed-out `Recv` may still take responses off the member's queue after the client gave up on
//! it, so the only safe reading of a timeout is "responses may be lost" — open a new stream and
//! resume from the last revision received + 1, as etcd's clients do.

use crate::transport::{client_addr, WatchCall, WatchReply};
use detcd_core::raft::types::NodeId;
use detcd_core::watch::{WatchCreateRequest, WatchRequest, WatchResponse};
use madsim::net::Endpoint;
use std::time::Duration;

/// Why a stream cannot be used any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLost(pub String);

/// One open watch stream.
pub struct WatchClient {
    endpoint: Endpoint,
    member: NodeId,
    stream: u64,
    /// Per call; a `Recv` that waits longer counts as a lost stream.
    pub timeout: Duration,
}

impl WatchClient {
    /// Opens a stream on `member`. Must be called on the client's own node.
    pub async fn open(member: NodeId, timeout: Duration) -> Result<WatchClient, StreamLost> {
        let endpoint = Endpoint::bind("0.0.0.0:0").await.map_err(lost)?;
        let reply = call(&endpoint, member, WatchCall::Open, timeout).await?;
        match reply {
            WatchReply::Opened { stream } => Ok(WatchClient { endpoint, member, stream, timeout }),
            other => Err(StreamLost(format!("open answered {other:?}"))),
        }
    }

    pub fn member(&self) -> NodeId {
        self.member
    }

    /// Asks the member to create a watcher on this stream.
    pub async fn create(&self, request: WatchCreateRequest) -> Result<(), StreamLost> {
        self.send(WatchRequest::Create(request)).await
    }

    pub async fn send(&self, request: WatchRequest) -> Result<(), StreamLost> {
        let call_ = WatchCall::Send { stream: self.stream, request };
        match call(&self.endpoint, self.member, call_, self.timeout).await? {
            WatchReply::Sent => Ok(()),
            other => Err(StreamLost(format!("send answered {other:?}"))),
        }
    }

    /// The next responses, waiting up to `timeout` for at least one.
    pub async fn recv(&self) -> Result<Vec<WatchResponse>, StreamLost> {
        let call_ = WatchCall::Recv { stream: self.stream };
        match call(&self.endpoint, self.member, call_, self.timeout).await? {
            WatchReply::Responses(responses) => Ok(responses),
            other => Err(StreamLost(format!("recv answered {other:?}"))),
        }
    }

    /// The responses that arrive within `wait` (perhaps none): the member stops waiting, so an
    /// empty answer is not a lost stream. The call itself may take up to `wait` + `timeout`.
    pub async fn poll(&self, wait: Duration) -> Result<Vec<WatchResponse>, StreamLost> {
        let call_ = WatchCall::Poll { stream: self.stream, wait_ms: wait.as_millis() as u64 };
        match call(&self.endpoint, self.member, call_, wait + self.timeout).await? {
            WatchReply::Responses(responses) => Ok(responses),
            other => Err(StreamLost(format!("poll answered {other:?}"))),
        }
    }

    /// Closes the stream (best effort: a lost stream is gone anyway).
    pub async fn close(self) {
        let call_ = WatchCall::Close { stream: self.stream };
        let _ = call(&self.endpoint, self.member, call_, self.timeout).await;
    }
}

async fn call(
    endpoint: &Endpoint,
    member: NodeId,
    request: WatchCall,
    timeout: Duration,
) -> Result<WatchReply, StreamLost> {
    match endpoint.call_timeout(client_addr(member), request, timeout).await {
        Ok(WatchReply::UnknownStream) => Err(StreamLost("the member does not know it".into())),
        Ok(reply) => Ok(reply),
        Err(error) => Err(lost(error)),
    }
}

fn lost(error: std::io::Error) -> StreamLost {
    StreamLost(error.to_string())
}
