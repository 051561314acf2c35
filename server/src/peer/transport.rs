//! The client side of the peer service: the core's `PeerTransport` over tonic.
//!
//! One lazily connected channel per peer URL, reused across calls (tonic reconnects by itself
//! after a peer restarts). Every failure — no URL, refused connection, timeout, a status from the
//! peer, an undecodable reply — is an `io::Error`, which the core reports to raft as `Unreachable`.

use super::codec::{decode, encode};
use detcd_core::raft::network::{BoxFuture, PeerMessage, PeerReply, PeerTransport};
use detcd_core::raft::types::{MemberInfo, NodeId};
use detcd_proto::detcdpeerpb::peer_client::PeerClient;
use detcd_proto::detcdpeerpb::PeerFrame;
use std::collections::BTreeMap;
use std::io;
use std::sync::Mutex;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// How long to wait for a TCP connection to a peer before giving up on one call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Peer traffic over gRPC.
#[derive(Default)]
pub struct GrpcPeerTransport {
    channels: Mutex<BTreeMap<String, Channel>>,
}

impl GrpcPeerTransport {
    pub fn new() -> Self {
        Self::default()
    }

    fn channel(&self, url: &str) -> io::Result<Channel> {
        let mut channels = self.channels.lock().map_err(|_| io::Error::other("poisoned"))?;
        if let Some(channel) = channels.get(url) {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true);
        let channel = endpoint.connect_lazy();
        channels.insert(url.to_string(), channel.clone());
        Ok(channel)
    }
}

impl PeerTransport for GrpcPeerTransport {
    fn call(
        &self,
        target: NodeId,
        target_info: &MemberInfo,
        message: PeerMessage,
        timeout: Duration,
    ) -> BoxFuture<'static, io::Result<PeerReply>> {
        let channel = match target_info.peer_urls.first() {
            Some(url) => self.channel(url),
            None => Err(io::Error::other(format!("member {target:x} has no peer URL"))),
        };
        Box::pin(async move {
            let mut client = PeerClient::new(channel?).max_decoding_message_size(usize::MAX);
            let frame = PeerFrame { payload: encode(&message)? };
            let call = client.call(frame);
            let reply = tokio::time::timeout(timeout, call)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer call timed out"))?
                .map_err(|status| io::Error::other(status.to_string()))?;
            decode(&reply.into_inner().payload)
        })
    }
}
