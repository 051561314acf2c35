//! The server side of the peer service: decode, call the member (`handle_peer` or
//! `publish_attributes`), encode.

use super::codec::{decode, encode};
use detcd_core::member::Member;
use detcd_core::raft::network::PeerMessage;
use detcd_core::raft::types::NodeId;
use detcd_core::Error;
use detcd_proto::detcdpeerpb::peer_server::Peer;
use detcd_proto::detcdpeerpb::PeerFrame;
use tonic::{Request, Response, Status};

pub struct PeerService {
    member: Member,
}

impl PeerService {
    pub fn new(member: Member) -> Self {
        PeerService { member }
    }
}

#[tonic::async_trait]
impl Peer for PeerService {
    async fn call(&self, request: Request<PeerFrame>) -> Result<Response<PeerFrame>, Status> {
        let message: PeerMessage = decode(&request.into_inner().payload)
            .map_err(|e| Status::invalid_argument(format!("undecodable peer message: {e}")))?;
        let reply = self.member.handle_peer(message).await;
        let payload = encode(&reply).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(PeerFrame { payload }))
    }

    async fn publish(&self, request: Request<PeerFrame>) -> Result<Response<PeerFrame>, Status> {
        let (id, name, client_urls): (NodeId, String, Vec<String>) =
            decode(&request.into_inner().payload).map_err(|e| {
                Status::invalid_argument(format!("undecodable publish request: {e}"))
            })?;
        let reply: Result<(), Error> = self.member.publish_attributes(id, name, client_urls).await;
        let payload = encode(&reply).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(PeerFrame { payload }))
    }
}
