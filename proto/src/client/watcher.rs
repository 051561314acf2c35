//! One watch stream of a `GrpcClient`: requests go in through a channel feeding the gRPC request
//! stream, responses come out of the gRPC response stream in order. Once the stream breaks, every
//! call fails; the caller opens a new stream and resumes after the last revision it saw.

use super::error::{convert_failed, from_status, GrpcError, GrpcResult};
use crate::convert::{watch_request_to_proto, watch_response_from_proto};
use crate::etcdserverpb as pb;
use crate::etcdserverpb::watch_client::WatchClient;
use detcd_core::watch::{WatchRequest, WatchResponse};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Streaming;

pub struct GrpcWatcher {
    requests: mpsc::Sender<pb::WatchRequest>,
    responses: Streaming<pb::WatchResponse>,
}

impl GrpcWatcher {
    pub(super) async fn open(mut client: WatchClient<Channel>) -> GrpcResult<GrpcWatcher> {
        let (requests, outgoing) = mpsc::channel(16);
        let responses = client.watch(ReceiverStream::new(outgoing)).await.map_err(from_status)?;
        Ok(GrpcWatcher { requests, responses: responses.into_inner() })
    }

    /// Sends a create, cancel or progress request.
    pub async fn send(&mut self, request: WatchRequest) -> GrpcResult<()> {
        let request = watch_request_to_proto(request);
        self.requests
            .send(request)
            .await
            .map_err(|_| GrpcError::Unknown("watch stream closed".into()))
    }

    /// The next response on this stream.
    pub async fn recv(&mut self) -> GrpcResult<WatchResponse> {
        match self.responses.message().await.map_err(from_status)? {
            Some(response) => watch_response_from_proto(response).map_err(convert_failed),
            None => Err(GrpcError::Unknown("watch stream ended".into())),
        }
    }
}
