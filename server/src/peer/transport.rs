//! The client side of the peer service: the core's `PeerTransport` over tonic.
//!
//! One lazily connected channel per peer URL, reused across calls (tonic reconnects by itself
//! after a peer restarts), and on it one `CallStream` that carries the calls; a stream that ended
//! is replaced at the next call. A message over `STREAMED_LIMIT` bytes (a snapshot, a long
//! catch-up) goes as a unary call of its own instead, so it never holds the stream's small raft
//! messages up behind it. Every failure — no URL, refused connection, timeout, a status from the
//! peer, an undecodable reply — is an `io::Error`, which the core reports to raft as `Unreachable`.
//! An `https` peer URL is reached through `tls::PeerConnector` with the peer TLS configuration;
//! without one (no peer TLS flags) a call to it fails like an unreachable peer.

use super::call_stream::CallStream;
use super::codec::{decode, encode};
use crate::tls::PeerConnector;
use detcd_core::api::{LeaseKeepAliveRequest, LeaseLeasesRequest, LeaseTimeToLiveRequest};
use detcd_core::apply::Command;
use detcd_core::peer::ReadIndex;
use detcd_core::peer::{
    AppendEntries, Forward, InstallSnapshot, PreVote, RequestVote, TransferLeader,
};
use detcd_core::peer::{ForwardedRange, MembershipChange, Noticed, PeerCall, PeerMessage};
use detcd_core::peer::{PeerTransport, Reply};
use detcd_core::raft::types::{MemberInfo, NodeId};
use detcd_proto::detcdpeerpb::peer_client::PeerClient;
use detcd_proto::detcdpeerpb::PeerFrame;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_rustls::rustls::ClientConfig;
use tonic::transport::{Channel, Endpoint};

/// How long to wait for a TCP connection to a peer before giving up on one call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Encoded messages up to this size share the peer's stream; larger ones get a call of their own.
const STREAMED_LIMIT: usize = 64 * 1024;

/// HTTP/2 flow-control windows of both ends of a peer connection (`run::serve_peers` uses it too):
/// one stream carries all small traffic to a peer, so its window must not be what paces
/// replication (the default 64 KiB wants an update every few batches).
pub const STREAM_WINDOW: u32 = 4 * 1024 * 1024;

/// The connection to one peer URL.
struct PeerLink {
    channel: Channel,
    stream: Arc<CallStream>,
}

/// Peer traffic over gRPC.
pub struct GrpcPeerTransport {
    links: Mutex<BTreeMap<String, PeerLink>>,
    /// The client configuration for `https` peer URLs (`--peer-cert-file` and friends).
    tls: Option<Arc<ClientConfig>>,
}

impl GrpcPeerTransport {
    pub fn new(tls: Option<Arc<ClientConfig>>) -> Self {
        GrpcPeerTransport { links: Mutex::new(BTreeMap::new()), tls }
    }

    /// The channel to `url`, and its stream (a new one when the last has ended).
    fn link(&self, url: &str) -> io::Result<(Channel, Arc<CallStream>)> {
        let mut links = self.links.lock().map_err(|_| io::Error::other("poisoned"))?;
        if let Some(link) = links.get_mut(url) {
            if link.stream.is_closed() {
                link.stream = Arc::new(CallStream::open(link.channel.clone()));
            }
            return Ok((link.channel.clone(), link.stream.clone()));
        }
        let connector = match (url.starts_with("https://"), &self.tls) {
            (false, _) => None,
            (true, Some(config)) => Some(PeerConnector::new(config.clone(), url)?),
            (true, None) => {
                return Err(io::Error::other(format!("{url}: https peer URL without peer TLS")))
            }
        };
        let target = connector.as_ref().map_or(url.to_string(), |(_, plain)| plain.clone());
        let endpoint = Endpoint::from_shared(target)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(STREAM_WINDOW)
            .tcp_nodelay(true);
        let channel = match connector {
            Some((connector, _)) => endpoint.connect_with_connector_lazy(connector),
            None => endpoint.connect_lazy(),
        };
        let stream = Arc::new(CallStream::open(channel.clone()));
        links
            .insert(url.to_string(), PeerLink { channel: channel.clone(), stream: stream.clone() });
        Ok((channel, stream))
    }
}

/// One unary `Peer.Call`.
async fn unary_call(channel: Channel, payload: Vec<u8>, timeout: Duration) -> io::Result<Vec<u8>> {
    let mut client = PeerClient::new(channel).max_decoding_message_size(usize::MAX);
    let call = client.call(PeerFrame { payload });
    let reply = tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer call timed out"))?
        .map_err(|status| io::Error::other(status.to_string()))?;
    Ok(reply.into_inner().payload)
}

impl GrpcPeerTransport {
    /// Sends `call` to `target` and decodes the reply as the one its kind is answered with: a
    /// frame that does not decode so is a failed call, like a lost connection.
    fn send<C: PeerCall>(
        &self,
        target: NodeId,
        target_info: &MemberInfo,
        call: C,
        timeout: Duration,
    ) -> Reply<C> {
        let link = match target_info.peer_urls.first() {
            Some(url) => self.link(url),
            None => Err(io::Error::other(format!("member {target:x} has no peer URL"))),
        };
        Box::pin(async move {
            let (channel, stream) = link?;
            let message: PeerMessage = call.into();
            let payload = encode(&message)?;
            let reply = if payload.len() <= STREAMED_LIMIT {
                stream.call(payload, timeout).await?
            } else {
                unary_call(channel, payload, timeout).await?
            };
            decode::<Noticed<C::Reply>>(&reply)
        })
    }
}

impl PeerTransport for GrpcPeerTransport {
    fn append_entries(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: AppendEntries,
        timeout: Duration,
    ) -> Reply<AppendEntries> {
        self.send(target, info, call, timeout)
    }

    fn vote(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: RequestVote,
        timeout: Duration,
    ) -> Reply<RequestVote> {
        self.send(target, info, call, timeout)
    }

    fn pre_vote(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: PreVote,
        timeout: Duration,
    ) -> Reply<PreVote> {
        self.send(target, info, call, timeout)
    }

    fn transfer_leader(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: TransferLeader,
        timeout: Duration,
    ) -> Reply<TransferLeader> {
        self.send(target, info, call, timeout)
    }

    fn install_snapshot(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: InstallSnapshot,
        timeout: Duration,
    ) -> Reply<InstallSnapshot> {
        self.send(target, info, call, timeout)
    }

    fn forward_proposals(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: Forward<Command>,
        timeout: Duration,
    ) -> Reply<Forward<Command>> {
        self.send(target, info, call, timeout)
    }

    fn forward_ranges(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: Forward<ForwardedRange>,
        timeout: Duration,
    ) -> Reply<Forward<ForwardedRange>> {
        self.send(target, info, call, timeout)
    }

    fn forward_keep_alives(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: Forward<LeaseKeepAliveRequest>,
        timeout: Duration,
    ) -> Reply<Forward<LeaseKeepAliveRequest>> {
        self.send(target, info, call, timeout)
    }

    fn forward_time_to_lives(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: Forward<LeaseTimeToLiveRequest>,
        timeout: Duration,
    ) -> Reply<Forward<LeaseTimeToLiveRequest>> {
        self.send(target, info, call, timeout)
    }

    fn forward_read_indexes(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: Forward<ReadIndex>,
        timeout: Duration,
    ) -> Reply<Forward<ReadIndex>> {
        self.send(target, info, call, timeout)
    }

    fn forward_leases(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: Forward<LeaseLeasesRequest>,
        timeout: Duration,
    ) -> Reply<Forward<LeaseLeasesRequest>> {
        self.send(target, info, call, timeout)
    }

    fn forward_membership_changes(
        &self,
        target: NodeId,
        info: &MemberInfo,
        call: Forward<MembershipChange>,
        timeout: Duration,
    ) -> Reply<Forward<MembershipChange>> {
        self.send(target, info, call, timeout)
    }
}
