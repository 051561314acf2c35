//! etcd's `Watch` service: one bidirectional gRPC stream = one `WatchStream` of the member.
//!
//! Two tasks per stream: one feeds the client's requests into the member's stream, one forwards
//! the member's responses to the client. The second also watches for the client going away, so a
//! stream with no traffic does not outlive its client; dropping the last handle closes the
//! member's stream (its watchers are removed from the hub).

use crate::status::invalid;
use detcd_core::auth::Caller;
use detcd_core::member::{Member, WatchStream};
use detcd_proto::convert::{watch_request_from_proto, watch_response_to_proto};
use detcd_proto::etcdserverpb as pb;
use detcd_proto::etcdserverpb::watch_server::Watch;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

/// Responses queued for a slow client before the forwarding task waits for it.
const OUTBOX: usize = 128;

pub struct WatchService {
    member: Member,
}

impl WatchService {
    pub fn new(member: Member) -> Self {
        WatchService { member }
    }
}

type Outbox = mpsc::Sender<Result<pb::WatchResponse, Status>>;

#[tonic::async_trait]
impl Watch for WatchService {
    type WatchStream = WatchResponses;

    async fn watch(
        &self,
        request: Request<Streaming<pb::WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let caller = super::caller_of(&request);
        Ok(Response::new(open_watch_as(&self.member, &caller, request.into_inner())?))
    }
}

/// Responses of one watch stream, in order.
pub type WatchResponses = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

/// Opens a watch stream on the member for `caller`, fed by `incoming` (gRPC's stream, or the
/// HTTP gateway's decoded body); it lives until whoever reads the responses drops them.
pub fn open_watch_as<S>(
    member: &Member,
    caller: &Caller,
    incoming: S,
) -> Result<WatchResponses, Status>
where
    S: Stream<Item = Result<pb::WatchRequest, Status>> + Unpin + Send + 'static,
{
    let stream = member.watch_as(caller).map_err(crate::status::status_of)?;
    Ok(watch_stream(stream, incoming))
}

/// Feeds `stream` from `incoming` and hands out its responses.
fn watch_stream<S>(stream: WatchStream, incoming: S) -> WatchResponses
where
    S: Stream<Item = Result<pb::WatchRequest, Status>> + Unpin + Send + 'static,
{
    let stream = Arc::new(stream);
    let (outbox, responses) = mpsc::channel(OUTBOX);
    tokio::spawn(feed_requests(incoming, stream.clone(), outbox.clone()));
    tokio::spawn(forward_responses(stream, outbox));
    Box::pin(ReceiverStream::new(responses))
}

/// Client requests -> the member's stream, until the client stops sending or sends nonsense.
async fn feed_requests(
    mut incoming: impl Stream<Item = Result<pb::WatchRequest, Status>> + Unpin,
    stream: Arc<WatchStream>,
    outbox: Outbox,
) {
    while let Some(message) = incoming.next().await {
        let Ok(message) = message else { return };
        match watch_request_from_proto(message) {
            Ok(request) => stream.send(request),
            Err(error) => {
                let _ = outbox.send(Err(invalid(error))).await;
                return;
            }
        }
    }
}

/// The member's responses -> the client, until the client is gone.
async fn forward_responses(stream: Arc<WatchStream>, outbox: Outbox) {
    loop {
        let responses = tokio::select! {
            responses = stream.recv() => responses,
            () = outbox.closed() => return,
        };
        if responses.is_empty() && !stream.is_open() {
            let _ = outbox
                .send(Err(Status::unavailable("the member was removed from the cluster")))
                .await;
            return;
        }
        for response in responses {
            if outbox.send(Ok(watch_response_to_proto(response))).await.is_err() {
                return;
            }
        }
    }
}
