//! The server side of the peer service: decode, have the member serve the call (`serve_peer`),
//! encode its reply (the type its kind is answered with, which the sender decodes). On a `Stream`, every frame is served by a task of its own, as a
//! unary call would be, and answered when ready: a slow append never holds up a vote behind it.

use super::codec::{decode, encode};
use detcd_core::member::Member;
use detcd_core::peer::PeerMessage;
use detcd_proto::detcdpeerpb::peer_server::Peer;
use detcd_proto::detcdpeerpb::{PeerFrame, PeerStreamFrame};
use futures::channel::mpsc::{unbounded, UnboundedSender};
use futures::Stream;
use serde::Serialize;
use std::pin::Pin;
use tonic::{Request, Response, Status, Streaming};

type Answers = Pin<Box<dyn Stream<Item = Result<PeerStreamFrame, Status>> + Send>>;

pub struct PeerService {
    member: Member,
}

impl PeerService {
    pub fn new(member: Member) -> Self {
        PeerService { member }
    }
}

/// Decodes one peer call, has `member` serve it, encodes the reply.
async fn answer(member: &Member, payload: &[u8]) -> Result<Vec<u8>, Status> {
    let message: PeerMessage = decode(payload)
        .map_err(|e| Status::invalid_argument(format!("undecodable peer message: {e}")))?;
    match message {
        PeerMessage::AppendEntries(call) => reply(member.serve_peer(call).await),
        PeerMessage::RequestVote(call) => reply(member.serve_peer(call).await),
        PeerMessage::PreVote(call) => reply(member.serve_peer(call).await),
        PeerMessage::TransferLeader(call) => reply(member.serve_peer(call).await),
        PeerMessage::InstallSnapshot(call) => reply(member.serve_peer(call).await),
        PeerMessage::ForwardProposals(call) => reply(member.serve_peer(call).await),
        PeerMessage::ForwardRanges(call) => reply(member.serve_peer(call).await),
        PeerMessage::ForwardKeepAlives(call) => reply(member.serve_peer(call).await),
        PeerMessage::ForwardTimeToLives(call) => reply(member.serve_peer(call).await),
        PeerMessage::ForwardLeases(call) => reply(member.serve_peer(call).await),
        PeerMessage::ForwardReadIndexes(call) => reply(member.serve_peer(call).await),
        PeerMessage::ForwardMembershipChanges(call) => reply(member.serve_peer(call).await),
    }
}

fn reply(reply: impl Serialize) -> Result<Vec<u8>, Status> {
    encode(&reply).map_err(|e| Status::internal(e.to_string()))
}

/// Serves the frames of one stream until the caller ends it.
async fn serve_stream(
    member: Member,
    mut calls: Streaming<PeerStreamFrame>,
    answers: UnboundedSender<Result<PeerStreamFrame, Status>>,
) {
    while let Ok(Some(frame)) = calls.message().await {
        let member = member.clone();
        let answers = answers.clone();
        tokio::spawn(async move {
            let (payload, error) = match answer(&member, &frame.payload).await {
                Ok(payload) => (payload, String::new()),
                Err(status) => (Vec::new(), status.message().to_string()),
            };
            // The caller may have gone meanwhile; its answer has nowhere to go.
            let _ = answers.unbounded_send(Ok(PeerStreamFrame { id: frame.id, payload, error }));
        });
    }
}

#[tonic::async_trait]
impl Peer for PeerService {
    async fn call(&self, request: Request<PeerFrame>) -> Result<Response<PeerFrame>, Status> {
        let payload = answer(&self.member, &request.into_inner().payload).await?;
        Ok(Response::new(PeerFrame { payload }))
    }

    type StreamStream = Answers;

    async fn stream(
        &self,
        request: Request<Streaming<PeerStreamFrame>>,
    ) -> Result<Response<Answers>, Status> {
        let (answers, outbound) = unbounded();
        tokio::spawn(serve_stream(self.member.clone(), request.into_inner(), answers));
        Ok(Response::new(Box::pin(outbound)))
    }
}
