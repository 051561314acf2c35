//! Forwarded requests travel to the leader in batches, one kind of request per batch.
//!
//! A follower forwards every write and every linearizable read it is sent. One peer RPC per
//! request made a put sent to a follower cost about 1.7 times a put sent to the leader (measured
//! with `detcd-bench put`, 64 clients): the RPC's framing, syscalls and wake-ups on both sides
//! outweighed the put itself. So requests queue here, and one sender task per member sends
//! everything queued for the leader as one message, with at most [`MAX_IN_FLIGHT`] batches on the
//! wire: under load each batch carries what arrived while the previous ones were out, and a lone
//! request still leaves at once. The leader serves a batch's requests concurrently, each exactly
//! as it serves a single forwarded request, and answers them in order
//! (`Member::serve_forwarded_batch`).
//!
//! Each kind of forwarded request (`peer::Forwarded`: proposals, linearizable ranges, each lease
//! call, membership changes) waits in a lane of its own ([`Lane`]) and travels in batches of its
//! own kind, each answered with that kind's answer type: a caller gets back its own answer type
//! through its own channel, and nothing unpacks an enum of answers. The lanes share the sender
//! task and its slots on the wire, and the batch that leaves next is the one of the lane whose
//! oldest request arrived first.
//!
//! `Forwarder` is routing's sending side: it owns the lanes and the peer transport, and is given
//! the `Node` handle (leader, membership, timeout) and the member's `Removal` (a leader's
//! "you are not a member" notice) rather than reaching into the member. `Member::route` decides
//! whether a request is forwarded at all.
//!
//! Invariants: every queued request is answered exactly once, with its own result; a batch lost
//! on the wire answers each of its requests `Timeout` (the leader may have served them: the
//! outcome is unknown), as a lost single forward did; a request whose caller stopped waiting
//! before it left is never sent (its caller was told `Timeout`, so either outcome is allowed, and
//! not sending keeps stale writes from landing long after their clients moved on); requests of
//! one kind leave in the order they arrived, and batches in the order of their oldest requests.

use super::forward::ForwardServed;
use super::node::Node;
use super::removal::Removal;
use super::route::LeaderRequest;
use super::Member;
use crate::api::{LeaseKeepAliveRequest, LeaseLeasesRequest, LeaseTimeToLiveRequest};
use crate::apply::Command;
use crate::error::{Error, Result};
use crate::peer::{BoxFuture, Forward, ForwardReply, MembershipChange, Noticed, PeerCall};
use crate::peer::{Forwarded, ForwardedRange, PeerTransport, ReadIndex};
use crate::probes::{self, Probe};
use crate::raft::types::{MemberInfo, NodeId};
use crate::runtime::DetRuntime;
use futures::FutureExt;
use openraft_rt::{AsyncRuntime, WatchReceiver};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Notify, Semaphore};

/// Batches on the wire at once, per member (all lanes together). More lets a lone request go
/// without waiting behind a full batch; fewer makes batches bigger under load.
const MAX_IN_FLIGHT: usize = 4;

/// The most requests one batch carries, so that one message stays well under the peer message
/// limit and one slow request does not hold up an unbounded number of others.
const MAX_BATCH: usize = 256;

/// A request of kind `R` waiting to be sent, and where its answer goes.
struct Queued<R: Forwarded> {
    /// When it arrived, counted across all lanes (older is smaller).
    arrival: u64,
    leader: NodeId,
    request: R,
    answer: oneshot::Sender<Result<R::Answer>>,
}

/// The requests of one kind waiting to be forwarded, shared by the callers and the sender task.
pub(super) struct Lane<R: Forwarded> {
    waiting: Mutex<VecDeque<Queued<R>>>,
}

impl<R: Forwarded> Default for Lane<R> {
    fn default() -> Self {
        Lane { waiting: Mutex::new(VecDeque::new()) }
    }
}

impl<R: Forwarded> Lane<R> {
    fn waiting(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued<R>>> {
        self.waiting.lock().expect("forward lane poisoned")
    }

    /// Queues a request, numbered under the lane's lock so a lane's numbers only grow.
    fn push(&self, arrivals: &AtomicU64, leader: NodeId, request: R, answer: Answer<R>) {
        let mut waiting = self.waiting();
        let arrival = arrivals.fetch_add(1, Ordering::Relaxed);
        waiting.push_back(Queued { arrival, leader, request, answer });
    }

    /// The oldest waiting requests that go to the same leader as the oldest one whose caller
    /// still waits.
    fn take_batch(&self) -> Vec<Queued<R>> {
        let mut waiting = self.waiting();
        let mut batch = Vec::new();
        let mut others = VecDeque::new();
        let mut leader = None;
        while let Some(queued) = waiting.pop_front() {
            if queued.answer.is_closed() {
                // Its caller gave up (timed out): the request is not sent at all.
                continue;
            }
            let to = *leader.get_or_insert(queued.leader);
            if queued.leader == to && batch.len() < MAX_BATCH {
                batch.push(queued);
            } else {
                others.push_back(queued);
            }
        }
        *waiting = others;
        batch
    }
}

type Answer<R> = oneshot::Sender<Result<<R as Forwarded>::Answer>>;

/// What sending a batch needs, shared by every batch's task.
#[derive(Clone)]
struct Sending {
    transport: Arc<dyn PeerTransport>,
    node: Node,
    removal: Arc<Removal>,
}

/// A lane as the sender task sees it, whatever its kind.
trait Pending: Send + Sync {
    /// The arrival of the oldest request waiting in the lane.
    fn oldest(&self) -> Option<u64>;

    /// Takes the lane's next batch, and the task that sends it (`None`: nothing to send).
    fn next_batch(&self, sending: &Sending) -> Option<BoxFuture<'static, ()>>;
}

impl<R: Laned> Pending for Lane<R> {
    fn oldest(&self) -> Option<u64> {
        self.waiting().front().map(|queued| queued.arrival)
    }

    fn next_batch(&self, sending: &Sending) -> Option<BoxFuture<'static, ()>> {
        let batch = self.take_batch();
        if batch.is_empty() {
            return None;
        }
        let sending = sending.clone();
        Some(Box::pin(async move { send_batch(&sending, batch).await }))
    }
}

/// A kind of forwarded request with its lane in `Lanes` and its call on the transport.
pub(super) trait Laned: ForwardServed {
    fn lane(lanes: &Lanes) -> &Lane<Self>;

    /// Sends a batch of this kind to `target` (`Forward<Self>`'s `PeerCall::send`).
    fn send(
        batch: Forward<Self>,
        transport: &dyn PeerTransport,
        target: NodeId,
        info: &MemberInfo,
        timeout: Duration,
    ) -> BoxFuture<'static, io::Result<Noticed<ForwardReply<Self>>>>;
}

macro_rules! lanes {
    ($($request:ty => $lane:ident,)*) => {
        /// One lane per kind of forwarded request.
        #[derive(Default)]
        pub(super) struct Lanes {
            $($lane: Lane<$request>,)*
        }

        impl Lanes {
            fn all(&self) -> Vec<&dyn Pending> {
                vec![$(&self.$lane,)*]
            }
        }

        $(impl Laned for $request {
            fn lane(lanes: &Lanes) -> &Lane<Self> {
                &lanes.$lane
            }

            fn send(
                batch: Forward<Self>,
                transport: &dyn PeerTransport,
                target: NodeId,
                info: &MemberInfo,
                timeout: Duration,
            ) -> BoxFuture<'static, io::Result<Noticed<ForwardReply<Self>>>> {
                batch.send(transport, target, info, timeout)
            }
        })*
    };
}

lanes! {
    Command => proposals,
    ForwardedRange => ranges,
    LeaseKeepAliveRequest => keep_alives,
    LeaseTimeToLiveRequest => time_to_lives,
    LeaseLeasesRequest => leases,
    MembershipChange => membership_changes,
    ReadIndex => read_indexes,
}

impl Lanes {
    /// The lane whose oldest waiting request arrived first.
    fn oldest(&self) -> Option<&dyn Pending> {
        let all = self.all();
        let oldest = all.iter().filter_map(|lane| lane.oldest()).min()?;
        all.into_iter().find(|lane| lane.oldest() == Some(oldest))
    }

    fn any_waiting(&self) -> bool {
        self.all().iter().any(|lane| lane.oldest().is_some())
    }
}

/// Routing's sending side: the lanes of requests waiting to go to the leader, and the transport
/// they go over.
pub(super) struct Forwarder {
    lanes: Lanes,
    /// Counts arrivals across the lanes.
    arrivals: AtomicU64,
    /// Told whenever a request arrives (or some are left waiting after a batch was taken).
    arrived: Notify,
    transport: Arc<dyn PeerTransport>,
}

impl Forwarder {
    pub(super) fn new(transport: Arc<dyn PeerTransport>) -> Self {
        Forwarder {
            lanes: Lanes::default(),
            arrivals: AtomicU64::new(0),
            arrived: Notify::new(),
            transport,
        }
    }

    /// Queues `request` for `leader` in its kind's lane.
    fn push<R: Laned>(&self, leader: NodeId, request: R, answer: Answer<R>) {
        R::lane(&self.lanes).push(&self.arrivals, leader, request, answer);
        self.arrived.notify_one();
    }

    /// Sends `request` to `leader` with the next batch of its kind and waits for its answer, at
    /// most the request timeout in all (then the outcome is unknown: the batch may still be
    /// served).
    ///
    /// If raft names a new leader while the answer is outstanding (the old one was cut off or
    /// deposed), waiting on is pointless: a request that may safely be served twice (a read, a
    /// keep-alive) goes again to the new leader, as etcd's read-index loop retries with whoever
    /// leads now; any other request is answered `LeaderChanged` (the old leader may still commit
    /// it, so its outcome is unknown) instead of holding the client until the timeout.
    pub(super) async fn forward<R: LeaderRequest>(
        &self,
        member: &Member,
        leader: NodeId,
        request: R,
    ) -> Result<R::Answer> {
        let timeout = member.node().config.request_timeout;
        // Boxed: the retrying future nests deep enough to overflow the compiler's layout
        // recursion in the server's handlers that await a forward.
        let following = Box::pin(self.forward_following(member, leader, request));
        match DetRuntime::timeout(timeout, following).await {
            Ok(response) => response,
            Err(_) => Err(Error::Timeout),
        }
    }

    async fn forward_following<R: LeaderRequest>(
        &self,
        member: &Member,
        mut leader: NodeId,
        request: R,
    ) -> Result<R::Answer> {
        loop {
            let (answer, answered) = oneshot::channel();
            self.push(leader, request.clone().into_wire(), answer);
            let new_leader = futures::select_biased! {
                // A sender dropped without an answer leaves the outcome unknown, as a batch
                // lost on the wire does.
                response = answered.fuse() => {
                    let response = response.unwrap_or(Err(Error::Timeout));
                    return response.and_then(|answer| R::from_wire(answer, member));
                }
                new_leader = leader_other_than(member.node(), leader).fuse() => new_leader,
            };
            probes::hit(Probe::ForwardFollowedLeader);
            if !request.may_repeat() {
                return Err(Error::LeaderChanged);
            }
            if new_leader == member.id() {
                return request.serve_on_leader(member).await;
            }
            leader = new_leader;
        }
    }

    /// The sender task: forever takes the next batch once a slot on the wire is free.
    pub(super) async fn run(&self, node: &Node, removal: &Arc<Removal>) {
        let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let sending = Sending {
            transport: self.transport.clone(),
            node: node.clone(),
            removal: removal.clone(),
        };
        loop {
            self.arrived.notified().await;
            let Ok(slot) = slots.clone().acquire_owned().await else { return };
            let send = self.lanes.oldest().and_then(|lane| lane.next_batch(&sending));
            if self.lanes.any_waiting() {
                self.arrived.notify_one();
            }
            let Some(send) = send else { continue };
            madsim::task::spawn(async move {
                send.await;
                drop(slot);
            });
        }
    }
}

/// Resolves once raft names a leader other than `leader` (never, if it keeps naming it).
async fn leader_other_than(node: &Node, leader: NodeId) -> NodeId {
    let mut metrics = node.raft.server_metrics();
    loop {
        let named = metrics.borrow_watched().current_leader;
        if let Some(named) = named.filter(|named| *named != leader) {
            return named;
        }
        if metrics.changed().await.is_err() {
            return futures::future::pending().await;
        }
    }
}

/// Sends one batch (all to one leader) and hands each caller its answer.
async fn send_batch<R: Laned>(sending: &Sending, batch: Vec<Queued<R>>) {
    let Sending { transport, node, removal } = sending;
    let leader = batch[0].leader;
    let (requests, answers): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|queued| (queued.request, queued.answer)).unzip();
    let count = requests.len();
    let every = |error: Error| (0..count).map(|_| Err(error.clone())).collect::<ForwardReply<R>>();
    let responses = match node.member_info(leader) {
        None => every(Error::NoLeader),
        Some(info) => {
            let timeout = node.config.request_timeout;
            let call = Forward { from: node.id(), requests };
            let reply = R::send(call, &**transport, leader, &info, timeout).await.map(|noticed| {
                if let Some(membership_at) = noticed.outsider {
                    removal.left_out_by_peer(node, membership_at);
                }
                noticed.reply
            });
            match reply {
                Ok(responses) if responses.len() == count => responses,
                // Lost on the wire, or not one response per request: the leader may have served
                // them, so the outcome is unknown.
                Ok(_) | Err(_) => {
                    probes::hit(Probe::ForwardedBatchLost);
                    every(Error::Timeout)
                }
            }
        }
    };
    for (answer, response) in answers.into_iter().zip(responses) {
        let _ = answer.send(response);
    }
}

impl Member {
    /// The forwarding sender task of this member (`Forwarder::run`).
    pub(super) async fn run_forwarding(&self) {
        self.inner.forwarder.run(self.node(), &self.inner.removal).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PutRequest;

    fn put(key: &str) -> Command {
        Command::Put(PutRequest { key: key.as_bytes().to_vec(), ..Default::default() })
    }

    fn keys(batch: &[Queued<Command>]) -> Vec<(NodeId, String)> {
        let key = |command: &Command| match command {
            Command::Put(put) => String::from_utf8_lossy(&put.key).into_owned(),
            other => format!("{other:?}"),
        };
        batch.iter().map(|queued| (queued.leader, key(&queued.request))).collect()
    }

    #[test]
    fn a_batch_goes_to_one_leader_oldest_first_without_abandoned_requests() {
        let (lane, arrivals) = (Lane::<Command>::default(), AtomicU64::new(0));
        let mut waiting = Vec::new();
        for (leader, key) in [(1, "gave-up"), (2, "a"), (1, "b"), (2, "c")] {
            let (answer, answered) = oneshot::channel();
            lane.push(&arrivals, leader, put(key), answer);
            waiting.push(answered);
        }
        drop(waiting.remove(0));
        // The abandoned request is not sent, so the batch goes where the oldest one still
        // waited for goes; the other leader's request stays for the next batch.
        assert_eq!(keys(&lane.take_batch()), [(2, "a".into()), (2, "c".into())]);
        assert_eq!(keys(&lane.take_batch()), [(1, "b".into())]);
        assert!(lane.take_batch().is_empty());
    }

    #[test]
    fn the_lane_with_the_oldest_request_sends_next() {
        let (lanes, arrivals) = (Lanes::default(), AtomicU64::new(0));
        let (range, _range_waits) = oneshot::channel();
        let (write, _write_waits) = oneshot::channel();
        let (renew, _renew_waits) = oneshot::channel();
        let forwarded = ForwardedRange { caller: None, request: Default::default() };
        lanes.ranges.push(&arrivals, 1, forwarded, range);
        lanes.proposals.push(&arrivals, 1, put("k"), write);
        lanes.keep_alives.push(&arrivals, 1, LeaseKeepAliveRequest { id: 7 }, renew);
        let mut order = Vec::new();
        while let Some(oldest) = lanes.oldest().and_then(|lane| lane.oldest()) {
            order.push(oldest);
            match oldest {
                0 => assert_eq!(lanes.ranges.take_batch().len(), 1),
                1 => assert_eq!(lanes.proposals.take_batch().len(), 1),
                _ => assert_eq!(lanes.keep_alives.take_batch().len(), 1),
            }
        }
        assert_eq!(order, [0, 1, 2]);
        assert!(!lanes.any_waiting());
    }
}
