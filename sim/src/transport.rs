//! Peer and client traffic over madsim's simulated network.
//!
//! Messages travel as typed values (madsim does not serialize), so the simulator exercises the
//! members' logic, not protobuf; wire compatibility is the server's tests' job. Each member
//! listens on `PEER_PORT` for peers and `CLIENT_PORT` for clients at its own simulated address.

use detcd_core::api::*;
use detcd_core::apply::{AlarmRequest, Command, DowngradeRequest};
use detcd_core::auth::request::*;
use detcd_core::auth::Caller;
use detcd_core::member::{
    CallerRequest, HashKvRequest, Member, MemberListRequest, MoveLeaderRequest, StatusRequest,
    WatchStream,
};
use detcd_core::member::{PeerServed, RangeStreamRequest};
use detcd_core::peer::{
    AppendEntries, Forward, InstallSnapshot, PreVote, RequestVote, TransferLeader,
};
use detcd_core::peer::{
    ForwardedRange, MembershipChange, Noticed, PeerTransport, ReadIndex, Reply,
};
use detcd_core::raft::types::{MemberInfo, NodeId};
use detcd_core::watch::{WatchRequest, WatchResponse};
use madsim::net::rpc::Request;
use madsim::net::Endpoint;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const PEER_PORT: u16 = 2380;
pub const CLIENT_PORT: u16 = 2379;

/// The simulated address of member `id` (ids start at 1).
pub fn member_ip(id: NodeId) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, (id >> 8) as u8, id as u8))
}

pub fn peer_addr(id: NodeId) -> SocketAddr {
    SocketAddr::new(member_ip(id), PEER_PORT)
}

pub fn client_addr(id: NodeId) -> SocketAddr {
    SocketAddr::new(member_ip(id), CLIENT_PORT)
}

/// What the cluster is told about member `id` before it starts (its initial cluster, or `member
/// add`): its name and peer URL. Its client URLs arrive when it publishes them itself
/// (`client_urls`, `Member::until_ready`), as with etcd.
pub fn member_info(id: NodeId) -> MemberInfo {
    MemberInfo {
        name: format!("n{id}"),
        peer_urls: vec![peer_addr(id).to_string()],
        client_urls: Vec::new(),
    }
}

/// The client URLs member `id` publishes once it has started.
pub fn client_urls(id: NodeId) -> Vec<String> {
    vec![client_addr(id).to_string()]
}

/// One call from a member to a peer: madsim carries each kind of peer call (`peer::PeerCall`) as
/// its own kind of call and answers it with that kind's reply, so a reply of another kind cannot
/// arrive, as with client calls below.
#[derive(Debug, Serialize, Deserialize)]
pub struct PeerWire<C>(pub C);

/// A kind of peer call the simulated network carries (listed in `carried_peer!`).
pub trait CarriedPeer: PeerServed {
    /// madsim's id for this kind of call.
    const ID: u64;
}

impl<C: CarriedPeer> Request for PeerWire<C> {
    type Response = Noticed<C::Reply>;
    const ID: u64 = C::ID;
}

/// Every kind of peer call, with its call id; a member serves exactly these.
macro_rules! carried_peer {
    ($($call:ty = $id:expr,)*) => {
        $(impl CarriedPeer for $call {
            const ID: u64 = $id;
        })*

        /// Has `member` answer every kind of peer call on `endpoint` (`Member::serve_peer`).
        fn serve_peers(endpoint: &Endpoint, member: &Member) {
            $(serve_peer::<$call>(endpoint, member);)*
        }
    };
}

carried_peer! {
    AppendEntries = 0xdec0_0101,
    RequestVote = 0xdec0_0102,
    PreVote = 0xdec0_0103,
    TransferLeader = 0xdec0_0104,
    InstallSnapshot = 0xdec0_0105,
    Forward<Command> = 0xdec0_0106,
    Forward<ForwardedRange> = 0xdec0_0107,
    Forward<LeaseKeepAliveRequest> = 0xdec0_0108,
    Forward<LeaseTimeToLiveRequest> = 0xdec0_0109,
    Forward<LeaseLeasesRequest> = 0xdec0_010a,
    Forward<MembershipChange> = 0xdec0_010b,
    Forward<ReadIndex> = 0xdec0_010c,
}

/// A call's handler as madsim runs it: on the heap, behind a pointer.
///
/// madsim spawns a task per call and wraps the handler's future twice on the way (its RPC
/// layer, then its task), and each wrapper holds the future it was given beside the one it
/// awaits, so a handler's size doubles at each. A member's futures are kilobytes (raft's, a
/// proposal's route), and the task was copied by its full size at every spawn, for every
/// message of the run. Boxed, what madsim moves is a pointer; the handler's future is written
/// once, where it runs. Nothing else changes: the same tasks are spawned and polled in the
/// same order.
fn handler<T>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> futures::future::BoxFuture<'static, T> {
    Box::pin(future)
}

fn serve_peer<C: CarriedPeer>(endpoint: &Endpoint, member: &Member) {
    let member = member.clone();
    endpoint.add_rpc_handler(move |PeerWire(call): PeerWire<C>| {
        let member = member.clone();
        handler(async move { member.serve_peer(call).await })
    });
}

/// One unary client request, typed, with its caller: madsim carries each request type as its own
/// kind of call and answers it with that type's answer, as gRPC has one method per request, and
/// the member serves it for the caller (`Member::call_as`), as the server does for the token a
/// gRPC request carries.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClientCall<R>(pub Caller, pub R);

/// A request type the simulated network carries to members (listed in `carried!`).
pub trait Carried:
    CallerRequest<Answer: Serialize + DeserializeOwned + Sync>
    + Clone
    + Serialize
    + DeserializeOwned
    + Sync
{
    /// madsim's id for this kind of call.
    const ID: u64;
}

impl<R: Carried> Request for ClientCall<R> {
    type Response = Result<R::Answer, detcd_core::Error>;
    const ID: u64 = R::ID;
}

/// Every request type clients send, with its call id; a member serves exactly these.
macro_rules! carried {
    ($($request:ty = $id:expr,)*) => {
        $(impl Carried for $request {
            const ID: u64 = $id;
        })*

        /// Has `member` answer every kind of client call on `endpoint` (`Member::call_as`).
        fn serve_calls(endpoint: &Endpoint, member: &Member) {
            $(serve_call::<$request>(endpoint, member);)*
        }
    };
}

carried! {
    RangeRequest = 0xdec0_0010,
    PutRequest = 0xdec0_0011,
    DeleteRangeRequest = 0xdec0_0012,
    TxnRequest = 0xdec0_0013,
    CompactionRequest = 0xdec0_0014,
    LeaseGrantRequest = 0xdec0_0015,
    LeaseRevokeRequest = 0xdec0_0016,
    LeaseKeepAliveRequest = 0xdec0_0017,
    LeaseTimeToLiveRequest = 0xdec0_0018,
    LeaseLeasesRequest = 0xdec0_0019,
    StatusRequest = 0xdec0_001a,
    MemberListRequest = 0xdec0_001b,
    HashKvRequest = 0xdec0_001c,
    AlarmRequest = 0xdec0_001d,
    MoveLeaderRequest = 0xdec0_001e,
    DowngradeRequest = 0xdec0_001f,
    RangeStreamRequest = 0xdec0_0020,
    AuthEnableRequest = 0xdec0_0030,
    AuthDisableRequest = 0xdec0_0031,
    AuthStatusRequest = 0xdec0_0032,
    AuthenticateRequest = 0xdec0_0033,
    AuthUserAddRequest = 0xdec0_0034,
    AuthUserGetRequest = 0xdec0_0035,
    AuthUserListRequest = 0xdec0_0036,
    AuthUserDeleteRequest = 0xdec0_0037,
    AuthUserChangePasswordRequest = 0xdec0_0038,
    AuthUserGrantRoleRequest = 0xdec0_0039,
    AuthUserRevokeRoleRequest = 0xdec0_003a,
    AuthRoleAddRequest = 0xdec0_003b,
    AuthRoleGetRequest = 0xdec0_003c,
    AuthRoleListRequest = 0xdec0_003d,
    AuthRoleDeleteRequest = 0xdec0_003e,
    AuthRoleGrantPermissionRequest = 0xdec0_003f,
    AuthRoleRevokePermissionRequest = 0xdec0_0040,
}

fn serve_call<R: Carried>(endpoint: &Endpoint, member: &Member) {
    let member = member.clone();
    endpoint.add_rpc_handler(move |ClientCall(caller, request): ClientCall<R>| {
        let member = member.clone();
        handler(async move { member.call_as(&caller, request).await })
    });
}

/// A watch stream over the simulated network: open it, send requests on it, and long-poll for
/// responses (a real etcd watch is one bidirectional gRPC stream; here the same conversation is
/// carried by small calls, so a partition still cuts it).
#[derive(Debug, Serialize, Deserialize)]
pub enum WatchCall {
    Open,
    Send {
        stream: u64,
        request: WatchRequest,
    },
    /// Waits until the stream has responses.
    Recv {
        stream: u64,
    },
    /// Waits at most `wait_ms` for responses and answers with what there is, perhaps none. The
    /// member gives up waiting, not the client, so an empty answer loses nothing: a quiet stream
    /// (a member cut off from its peers has no new events) stays open.
    Poll {
        stream: u64,
        wait_ms: u64,
    },
    Close {
        stream: u64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum WatchReply {
    Opened {
        stream: u64,
    },
    Sent,
    Responses(Vec<WatchResponse>),
    Closed,
    /// The member does not know this stream (it restarted, or the stream was closed).
    UnknownStream,
    /// The member is still starting up and opens no stream yet (ask another member).
    NotReady,
}

impl Request for WatchCall {
    type Response = WatchReply;
    const ID: u64 = 0xdec0_0003;
}

/// The watch streams a member serves to remote clients, by number.
#[derive(Clone, Default)]
struct WatchStreams {
    streams: Arc<Mutex<BTreeMap<u64, Arc<WatchStream>>>>,
    next: Arc<Mutex<u64>>,
}

impl WatchStreams {
    fn get(&self, stream: u64) -> Option<Arc<WatchStream>> {
        self.streams.lock().ok()?.get(&stream).cloned()
    }

    /// `responses`, or, once the member has closed the stream for good, its end: the client
    /// hears the stream is gone and resumes elsewhere (the last responses were empty then).
    fn still_open(
        &self,
        stream: u64,
        watch: &WatchStream,
        responses: Vec<WatchResponse>,
    ) -> WatchReply {
        if responses.is_empty() && !watch.is_open() {
            if let Ok(mut streams) = self.streams.lock() {
                streams.remove(&stream);
            }
            return WatchReply::UnknownStream;
        }
        WatchReply::Responses(responses)
    }

    async fn serve(&self, member: &Member, call: WatchCall) -> WatchReply {
        match call {
            WatchCall::Open if !member.is_ready() => WatchReply::NotReady,
            WatchCall::Open => {
                let Ok(mut next) = self.next.lock() else { return WatchReply::UnknownStream };
                // Never reuse a number across restarts (the map starts empty again): a client
                // still polling its old stream must hear `UnknownStream`, not someone else's.
                *next = (*next + 1).max(crate::trace::now().as_nanos() as u64);
                let id = *next;
                if let Ok(mut streams) = self.streams.lock() {
                    streams.insert(id, Arc::new(member.watch()));
                }
                WatchReply::Opened { stream: id }
            }
            WatchCall::Send { stream, request } => match self.get(stream) {
                Some(watch) => {
                    watch.send(request);
                    WatchReply::Sent
                }
                None => WatchReply::UnknownStream,
            },
            WatchCall::Recv { stream } => match self.get(stream) {
                Some(watch) => {
                    let responses = watch.recv().await;
                    self.still_open(stream, &watch, responses)
                }
                None => WatchReply::UnknownStream,
            },
            WatchCall::Poll { stream, wait_ms } => match self.get(stream) {
                Some(watch) => {
                    // `recv` takes responses off the stream only when it returns them, so
                    // dropping it at the deadline leaves everything queued for the next poll.
                    let wait = std::time::Duration::from_millis(wait_ms);
                    let responses = madsim::time::timeout(wait, watch.recv()).await;
                    self.still_open(stream, &watch, responses.unwrap_or_default())
                }
                None => WatchReply::UnknownStream,
            },
            WatchCall::Close { stream } => {
                let removed = self.streams.lock().ok().and_then(|mut s| s.remove(&stream));
                if removed.is_some() {
                    WatchReply::Closed
                } else {
                    WatchReply::UnknownStream
                }
            }
        }
    }
}

/// A member's way to its peers: madsim RPC to the address in their `MemberInfo`.
pub struct SimPeerTransport {
    endpoint: Endpoint,
}

impl SimPeerTransport {
    pub async fn bind() -> io::Result<Self> {
        Ok(SimPeerTransport { endpoint: Endpoint::bind("0.0.0.0:0").await? })
    }
}

impl SimPeerTransport {
    /// Sends `call` to the peer at the address in `target_info`.
    fn send<C: CarriedPeer>(
        &self,
        target_info: &MemberInfo,
        call: C,
        timeout: Duration,
    ) -> Reply<C> {
        let endpoint = self.endpoint.clone();
        let address = target_info.peer_urls.first().and_then(|url| url.parse::<SocketAddr>().ok());
        Box::pin(async move {
            let address = address.ok_or_else(|| io::Error::other("member has no peer address"))?;
            endpoint.call_timeout(address, PeerWire(call), timeout).await
        })
    }
}

impl PeerTransport for SimPeerTransport {
    fn append_entries(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: AppendEntries,
        timeout: Duration,
    ) -> Reply<AppendEntries> {
        self.send(info, call, timeout)
    }

    fn vote(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: RequestVote,
        timeout: Duration,
    ) -> Reply<RequestVote> {
        self.send(info, call, timeout)
    }

    fn pre_vote(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: PreVote,
        timeout: Duration,
    ) -> Reply<PreVote> {
        self.send(info, call, timeout)
    }

    fn transfer_leader(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: TransferLeader,
        timeout: Duration,
    ) -> Reply<TransferLeader> {
        self.send(info, call, timeout)
    }

    fn install_snapshot(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: InstallSnapshot,
        timeout: Duration,
    ) -> Reply<InstallSnapshot> {
        self.send(info, call, timeout)
    }

    fn forward_proposals(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: Forward<Command>,
        timeout: Duration,
    ) -> Reply<Forward<Command>> {
        self.send(info, call, timeout)
    }

    fn forward_ranges(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: Forward<ForwardedRange>,
        timeout: Duration,
    ) -> Reply<Forward<ForwardedRange>> {
        self.send(info, call, timeout)
    }

    fn forward_keep_alives(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: Forward<LeaseKeepAliveRequest>,
        timeout: Duration,
    ) -> Reply<Forward<LeaseKeepAliveRequest>> {
        self.send(info, call, timeout)
    }

    fn forward_time_to_lives(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: Forward<LeaseTimeToLiveRequest>,
        timeout: Duration,
    ) -> Reply<Forward<LeaseTimeToLiveRequest>> {
        self.send(info, call, timeout)
    }

    fn forward_read_indexes(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: Forward<ReadIndex>,
        timeout: Duration,
    ) -> Reply<Forward<ReadIndex>> {
        self.send(info, call, timeout)
    }

    fn forward_leases(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: Forward<LeaseLeasesRequest>,
        timeout: Duration,
    ) -> Reply<Forward<LeaseLeasesRequest>> {
        self.send(info, call, timeout)
    }

    fn forward_membership_changes(
        &self,
        _target: NodeId,
        info: &MemberInfo,
        call: Forward<MembershipChange>,
        timeout: Duration,
    ) -> Reply<Forward<MembershipChange>> {
        self.send(info, call, timeout)
    }
}

/// Serves peers and clients of `member` on its simulated address until the node dies. Clients
/// are refused until the member is ready (`Member::until_ready`): unary calls are answered
/// `Stopped` by `Member::call` itself, and a watch stream is not opened (`NotReady`).
pub async fn serve(member: Member) -> io::Result<()> {
    let id = member.id();
    let peers = Endpoint::bind(peer_addr(id)).await?;
    serve_peers(&peers, &member);
    let clients = Endpoint::bind(client_addr(id)).await?;
    let watches = WatchStreams::default();
    let watch_member = member.clone();
    clients.add_rpc_handler(move |call: WatchCall| {
        let (member, watches) = (watch_member.clone(), watches.clone());
        handler(async move { watches.serve(&member, call).await })
    });
    serve_calls(&clients, &member);
    // The handlers run on their own tasks; the endpoints must stay bound.
    std::future::pending::<()>().await;
    drop((peers, clients));
    Ok(())
}
