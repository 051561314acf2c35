//! One watch stream of a `GrpcClient`: requests go in through a channel feeding the gRPC request
//! stream, responses come out of the gRPC response stream in order. Once the stream breaks, every
//! call fails; the caller opens a new stream and resumes after the last revision it saw.
//!
//! The call is opened lazily, on the first `recv`: a real etcd (grpc-go) sends the response
//! headers of a Watch stream only with its first message, which it writes only after a request
//! has arrived. Awaiting the headers before sending anything would wait forever (until the call
//! timeout), so `send` only queues requests and `recv` starts the call with them already queued.

use super::endpoints::Turn;
use super::error::{convert_failed, failure_of, GrpcError, GrpcResult};
use crate::convert::{watch_request_to_proto, watch_response_from_proto};
use crate::etcdserverpb as pb;
use crate::etcdserverpb::watch_client::WatchClient;
use detcd_core::client::Failure;
use detcd_core::watch::{WatchRequest, WatchResponse};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

type Opening = Pin<
    Box<
        dyn Future<Output = Result<tonic::Response<Streaming<pb::WatchResponse>>, tonic::Status>>
            + Send,
    >,
>;

/// The gRPC call: not answered yet, its response stream, or refused for good.
enum Call {
    Opening(Opening),
    Open(Box<Streaming<pb::WatchResponse>>),
    /// The call failed to open; every later `recv` answers with the same error.
    Refused(GrpcError),
}

pub struct GrpcWatcher {
    requests: mpsc::Sender<pb::WatchRequest>,
    call: Call,
    /// The endpoint this stream uses: a failure moves the client on from it.
    turn: Turn,
}

impl GrpcWatcher {
    pub(super) async fn open(turn: Turn) -> GrpcResult<GrpcWatcher> {
        let (requests, outgoing) = mpsc::channel(16);
        let mut client = WatchClient::new(turn.channel.clone());
        let opening = Box::pin(async move { client.watch(ReceiverStream::new(outgoing)).await });
        Ok(GrpcWatcher { requests, call: Call::Opening(opening), turn })
    }

    /// Sends a create, cancel or progress request.
    pub async fn send(&mut self, request: WatchRequest) -> GrpcResult<()> {
        let request = watch_request_to_proto(request);
        let sent = self.requests.send(request).await;
        sent.map_err(|_| self.broke(lost("watch stream closed")))
    }

    /// The next response on this stream.
    pub async fn recv(&mut self) -> GrpcResult<WatchResponse> {
        let responses = match self.responses().await {
            Ok(responses) => responses,
            Err(error) => return Err(self.broke(error)),
        };
        match responses.message().await {
            Ok(Some(response)) => watch_response_from_proto(response).map_err(convert_failed),
            Ok(None) => Err(self.broke(lost("watch stream ended"))),
            Err(status) => Err(self.broke(GrpcError::of(failure_of(&status), true))),
        }
    }

    /// The stream is broken: the caller will reopen it, and should reach another member.
    fn broke(&self, error: GrpcError) -> GrpcError {
        self.turn.failed();
        error
    }

    /// The response stream, starting the call if it is not answered yet.
    async fn responses(&mut self) -> GrpcResult<&mut Streaming<pb::WatchResponse>> {
        if let Call::Opening(opening) = &mut self.call {
            self.call = match opening.await {
                Ok(response) => Call::Open(Box::new(response.into_inner())),
                Err(status) => Call::Refused(GrpcError::of(failure_of(&status), true)),
            };
        }
        match &mut self.call {
            Call::Open(responses) => Ok(responses),
            Call::Refused(error) => Err(error.clone()),
            Call::Opening(_) => Err(lost("watch call still opening")),
        }
    }
}

/// A stream that broke: a watch only reads, so nothing was lost but the stream itself
/// (`outcome`: a read's open outcome is `Unavailable`); the caller reopens it.
fn lost(why: &str) -> GrpcError {
    GrpcError::of(Failure::NoAnswer(why.into()), true)
}
