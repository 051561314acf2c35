//! The `Client` trait over the simulated network: what recipes use inside the simulator.
//!
//! Unary calls carry typed requests to a member (`transport::ClientCall`) with the same
//! discipline as `client::SimClient`, both decided by `detcd_core::client::outcome`: stay with
//! one member until it cannot help, move on after a failure that certainly changed nothing (`no
//! leader`, `server stopped`: a member not serving yet), and report a write whose answer never
//! came as an unknown outcome
//! (reads, which change nothing, are simply tried on the next member).
//! Clones share the endpoint and the choice of member, so a session's keep-alive task and the
//! recipe calls of one client move together.
//!
//! A watch stream is `transport::WatchCall`s to one member: open, send, and long-polling `Recv`.
//! A `Recv` that gets no answer within `watch_timeout` (the member crashed, was cut off, or simply
//! had nothing to say) marks the stream broken: responses the member handed to a lost reply are
//! gone, so the only safe continuation is a new stream from the revision after the last event
//! seen, which is what `recipes::wait` does.

use crate::transport::{client_addr, Carried, ClientCall, WatchCall, WatchReply};
use detcd_core::api::*;
use detcd_core::auth::Caller;
use detcd_core::client::outcome::{self, Class, Failure};
use detcd_core::client::{Client, ClientError, ClientResult, HashKvResponse, Watcher};
use detcd_core::member::{
    HashKvRequest, MemberListRequest, MemberStatus, MemberSummary, StatusRequest,
};
use detcd_core::raft::types::NodeId;
use detcd_core::watch::{WatchRequest, WatchResponse};
use madsim::net::Endpoint;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A simulated etcd client. Cheap to clone; clones share one endpoint.
#[derive(Clone)]
pub struct SimEtcdClient {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    members: Vec<NodeId>,
    current: AtomicUsize,
    /// Per unary attempt.
    timeout: Duration,
    /// How long one watch `Recv` may stay silent before the stream counts as broken.
    watch_timeout: Duration,
}

impl SimEtcdClient {
    /// A client of these members. Must be called on the client's own node.
    pub async fn connect(members: Vec<NodeId>) -> std::io::Result<Self> {
        Self::with_timeouts(members, Duration::from_secs(3), Duration::from_secs(5)).await
    }

    pub async fn with_timeouts(
        members: Vec<NodeId>,
        timeout: Duration,
        watch_timeout: Duration,
    ) -> std::io::Result<Self> {
        let endpoint = Endpoint::bind("0.0.0.0:0").await?;
        let current = AtomicUsize::new(0);
        let inner = Inner { endpoint, members, current, timeout, watch_timeout };
        Ok(SimEtcdClient { inner: Arc::new(inner) })
    }

    fn member(&self) -> SocketAddr {
        let members = &self.inner.members;
        client_addr(members[self.inner.current.load(Ordering::SeqCst) % members.len()])
    }

    /// Moves to the next member (after one could not help).
    fn next_member(&self) {
        self.inner.current.fetch_add(1, Ordering::SeqCst);
    }

    /// Sends one request, trying each member at most once, for as long as the one outcome
    /// classification (`detcd_core::client::outcome::resend`) sends it on.
    pub async fn call<R: Carried>(&self, request: R) -> ClientResult<R::Answer> {
        let read = outcome::is_read(request.rpc());
        let mut last = ClientError::from(Failure::NotDelivered("no member to ask".into()));
        for _ in 0..self.inner.members.len() {
            // The member itself: this client carries no credentials (`Member::call`).
            let call = ClientCall(Caller::Internal, request.clone());
            let answer = self.inner.endpoint.call_timeout(self.member(), call, self.inner.timeout);
            let failure = match answer.await {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(error)) => Failure::Answered(error),
                Err(error) => Failure::NoAnswer(error.to_string()),
            };
            let resend = outcome::resend(&failure, read);
            let class = outcome::classify(&failure);
            let error = ClientError::of(failure, read);
            if resend {
                last = error;
            } else if class == Class::Unknown {
                // Sent, maybe served: the next call tries another member.
                self.next_member();
                return Err(error);
            } else {
                return Err(error);
            }
            self.next_member();
        }
        Err(last)
    }
}

impl Client for SimEtcdClient {
    type Watcher = SimWatcher;

    async fn range(&self, request: RangeRequest) -> ClientResult<RangeResponse> {
        self.call(request).await
    }

    async fn put(&self, request: PutRequest) -> ClientResult<PutResponse> {
        self.call(request).await
    }

    async fn delete_range(&self, request: DeleteRangeRequest) -> ClientResult<DeleteRangeResponse> {
        self.call(request).await
    }

    async fn txn(&self, request: TxnRequest) -> ClientResult<TxnResponse> {
        self.call(request).await
    }

    async fn compact(&self, request: CompactionRequest) -> ClientResult<CompactionResponse> {
        self.call(request).await
    }

    async fn watch(&self) -> ClientResult<SimWatcher> {
        for _ in 0..self.inner.members.len() {
            let member = self.member();
            let opened =
                self.inner.endpoint.call_timeout(member, WatchCall::Open, self.inner.timeout).await;
            if let Ok(WatchReply::Opened { stream }) = opened {
                return Ok(SimWatcher {
                    client: self.clone(),
                    member,
                    stream,
                    buffered: VecDeque::new(),
                    broken: false,
                });
            }
            self.next_member();
        }
        Err(watch_lost("no member opened a watch stream".into()))
    }

    async fn lease_grant(&self, request: LeaseGrantRequest) -> ClientResult<LeaseGrantResponse> {
        self.call(request).await
    }

    async fn lease_revoke(&self, request: LeaseRevokeRequest) -> ClientResult<LeaseRevokeResponse> {
        self.call(request).await
    }

    async fn lease_keep_alive(
        &self,
        request: LeaseKeepAliveRequest,
    ) -> ClientResult<LeaseKeepAliveResponse> {
        self.call(request).await
    }

    async fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> ClientResult<LeaseTimeToLiveResponse> {
        self.call(request).await
    }

    async fn lease_leases(&self) -> ClientResult<LeaseLeasesResponse> {
        self.call(LeaseLeasesRequest {}).await
    }

    async fn member_list(&self) -> ClientResult<Vec<MemberSummary>> {
        self.call(MemberListRequest::default()).await
    }

    async fn status(&self) -> ClientResult<MemberStatus> {
        self.call(StatusRequest).await
    }

    async fn hash_kv(&self, revision: i64) -> ClientResult<HashKvResponse> {
        self.call(HashKvRequest { revision }).await
    }
}

/// A watch stream that broke or never opened: a watch only reads, so only the stream was lost
/// (`outcome`: a read's open outcome is `Unavailable`); the caller opens a new one.
fn watch_lost(why: String) -> ClientError {
    ClientError::of(Failure::NoAnswer(why), true)
}

/// One watch stream on one member.
pub struct SimWatcher {
    client: SimEtcdClient,
    member: SocketAddr,
    stream: u64,
    buffered: VecDeque<WatchResponse>,
    broken: bool,
}

impl SimWatcher {
    /// Marks the stream unusable; the next stream is opened on another member.
    fn break_off(&mut self, why: String) -> ClientError {
        if !self.broken {
            self.broken = true;
            self.client.next_member();
        }
        watch_lost(format!("watch stream lost: {why}"))
    }

    async fn exchange(&mut self, call: WatchCall, timeout: Duration) -> ClientResult<WatchReply> {
        if self.broken {
            return Err(watch_lost("watch stream lost".into()));
        }
        let endpoint = &self.client.inner.endpoint;
        match endpoint.call_timeout(self.member, call, timeout).await {
            Ok(WatchReply::UnknownStream) => Err(self.break_off("member forgot the stream".into())),
            Ok(reply) => Ok(reply),
            Err(error) => Err(self.break_off(error.to_string())),
        }
    }
}

impl Watcher for SimWatcher {
    async fn send(&mut self, request: WatchRequest) -> ClientResult<()> {
        let call = WatchCall::Send { stream: self.stream, request };
        self.exchange(call, self.client.inner.timeout).await.map(|_| ())
    }

    async fn recv(&mut self) -> ClientResult<WatchResponse> {
        loop {
            if let Some(response) = self.buffered.pop_front() {
                return Ok(response);
            }
            let call = WatchCall::Recv { stream: self.stream };
            if let WatchReply::Responses(responses) =
                self.exchange(call, self.client.inner.watch_timeout).await?
            {
                self.buffered.extend(responses);
            }
        }
    }
}

impl Drop for SimWatcher {
    fn drop(&mut self) {
        if madsim::runtime::Handle::try_current().is_err() {
            return;
        }
        let (endpoint, member, stream) =
            (self.client.inner.endpoint.clone(), self.member, self.stream);
        let timeout = self.client.inner.timeout;
        madsim::task::spawn(async move {
            let _ = endpoint.call_timeout(member, WatchCall::Close { stream }, timeout).await;
        });
    }
}
