//! The KV API on a member: proposals through raft, linearizable and serializable reads.

use super::forward::{PeerAnswer, PeerRequest};
use super::Member;
use crate::api::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse,
};
use crate::apply::{Command, Response};
use crate::error::{Error, Result};
use crate::plant::{self, Bug};
use crate::probes::{self, Probe};
use crate::raft::types::NodeId;
use crate::runtime::DetRuntime;
use openraft::errors::{ClientWriteError, RaftError};
use openraft::ReadPolicy;
use openraft_rt::{AsyncRuntime, Instant as _, WatchReceiver};

type Instant = <DetRuntime as AsyncRuntime>::Instant;

impl Member {
    pub async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        if request.serializable {
            return self.local_range(&request);
        }
        let started = Instant::now();
        match self.other_leader() {
            Some(leader) => self.forward_range(leader, request).await,
            None => {
                let before = self.leadership();
                match self.linearizable_range_here(&request).await {
                    Err(Error::NoLeader) => {
                        let Some(leader) = self.next_leader_within(before, started).await else {
                            return Err(Error::NoLeader);
                        };
                        probes::hit(Probe::ReadIndexRetried);
                        if leader == self.id() {
                            return self.linearizable_range_here(&request).await;
                        }
                        if plant::active(Bug::RetriedReadLocal) {
                            return self.local_range(&request);
                        }
                        self.forward_range(leader, request).await
                    }
                    other => other,
                }
            }
        }
    }

    /// Who raft names leader, in which term.
    fn leadership(&self) -> (Option<NodeId>, u64) {
        self.with_metrics(|m| (m.current_leader, m.current_term))
    }

    /// The leader raft names after `before` (a leader named in another term, or another one),
    /// waiting for it no longer than the longest election timeout, nor than the rest of a
    /// request begun at `started`. A read whose read index failed for want of leadership asks
    /// the next leader, as etcd's read loop retries until one is elected; but a member that sees
    /// no election end in that time (cut off, or removed from the cluster) says `NoLeader` while
    /// its client still waits, so the client tries another member.
    async fn next_leader_within(
        &self,
        before: (Option<NodeId>, u64),
        started: Instant,
    ) -> Option<NodeId> {
        let mut metrics = self.inner.raft.metrics();
        let next = async {
            loop {
                let now = {
                    let named = metrics.borrow_watched();
                    (named.current_leader, named.current_term)
                };
                if let (Some(leader), true) = (now.0, now != before) {
                    return Some(leader);
                }
                metrics.changed().await.ok()?;
            }
        };
        let left = self.inner.config.request_timeout.saturating_sub(started.elapsed());
        let election = self.inner.config.election_timeout * 2;
        DetRuntime::timeout(left.min(election), next).await.ok().flatten()
    }

    async fn forward_range(&self, leader: NodeId, request: RangeRequest) -> Result<RangeResponse> {
        match self.forward(leader, PeerRequest::LinearizableRange(request)).await? {
            PeerAnswer::Range(response) => Ok(response),
            _ => Err(Error::Internal("unexpected answer to a range".into())),
        }
    }

    pub async fn put(&self, request: PutRequest) -> Result<PutResponse> {
        match self.propose(Command::Put(request)).await? {
            Response::Put(response) => Ok(response),
            _ => Err(unexpected()),
        }
    }

    pub async fn delete_range(&self, request: DeleteRangeRequest) -> Result<DeleteRangeResponse> {
        match self.propose(Command::DeleteRange(request)).await? {
            Response::DeleteRange(response) => Ok(response),
            _ => Err(unexpected()),
        }
    }

    /// A txn goes through the log even when it only reads: its compares must see the latest state.
    pub async fn txn(&self, request: TxnRequest) -> Result<TxnResponse> {
        match self.propose(Command::Txn(request)).await? {
            Response::Txn(response) => Ok(response),
            _ => Err(unexpected()),
        }
    }

    pub async fn compact(&self, request: CompactionRequest) -> Result<CompactionResponse> {
        match self.propose(Command::Compact(request)).await? {
            Response::Compact(response) => Ok(response),
            _ => Err(unexpected()),
        }
    }

    /// Proposes `command` through raft, forwarding to the leader when this member is not it.
    /// A follower that knows the leader forwards straight away, without asking its own raft first.
    pub async fn propose(&self, command: Command) -> Result<Response> {
        if let Some(leader) = self.other_leader() {
            return self.forward_proposal(leader, command).await;
        }
        match self.propose_here(command.clone()).await {
            Err(Error::NoLeader) => match self.other_leader() {
                Some(leader) => self.forward_proposal(leader, command).await,
                None => Err(Error::NoLeader),
            },
            other => other,
        }
    }

    async fn forward_proposal(&self, leader: NodeId, command: Command) -> Result<Response> {
        match self.forward(leader, PeerRequest::Propose(command)).await? {
            PeerAnswer::Applied(response) => Ok(self.stamp(response)),
            _ => Err(unexpected()),
        }
    }

    /// Proposes on this member; `NoLeader` when it is not the leader (nothing was appended).
    pub(super) async fn propose_here(&self, command: Command) -> Result<Response> {
        if !self.is_running() {
            return Err(Error::Stopped);
        }
        let proposal = self.inner.raft.client_write(command);
        let timeout = self.inner.config.request_timeout;
        let written = match DetRuntime::timeout(timeout, proposal).await {
            Ok(written) => written,
            Err(_) => return Err(Error::Timeout),
        };
        match written {
            Ok(reply) => reply.data.map(|response| self.stamp(response)),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(Error::NoLeader),
            // Appended, then discarded from this log: another leader may still commit it.
            Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(_))) => {
                probes::hit(Probe::ProposalDiscarded);
                Err(Error::LeaderChanged)
            }
            // Raft stopped (a failed fsync, say) while the write was pending: it may already be
            // replicated, and the next leader may commit it. Only a member that had stopped before
            // the proposal can say nothing was appended (`Stopped`, above).
            Err(RaftError::Fatal(_)) => Err(Error::LeaderChanged),
            Err(RaftError::APIError(other)) => Err(Error::Internal(other.to_string())),
        }
    }

    /// Reads after a read index on this member, which must be the leader.
    pub(super) async fn linearizable_range_here(
        &self,
        request: &RangeRequest,
    ) -> Result<RangeResponse> {
        if plant::active(Bug::StaleRead) {
            return self.local_range(request);
        }
        let trusted_itself = self.leader() == Some(self.id());
        let read = self.inner.raft.ensure_linearizable(ReadPolicy::ReadIndex);
        let timeout = self.inner.config.request_timeout;
        let confirmed = DetRuntime::timeout(timeout, read).await;
        if trusted_itself && !matches!(confirmed, Ok(Ok(_))) {
            probes::hit(Probe::DeposedLeaderRead);
        }
        match confirmed {
            Err(_) => Err(Error::Timeout),
            Ok(Ok(_)) => self.local_range(request),
            // Not the leader: the caller may forward. Otherwise leadership could not be confirmed.
            Ok(Err(error)) if error.forward_to_leader().is_some() => Err(Error::NoLeader),
            Ok(Err(_)) if !self.is_running() => Err(Error::Stopped),
            Ok(Err(_)) => Err(Error::Timeout),
        }
    }

    /// Reads this member's replica as it is now.
    pub fn local_range(&self, request: &RangeRequest) -> Result<RangeResponse> {
        let state = self.inner.replica.lock();
        let mut response = state.machine.range(request)?;
        response.header = self.header(state.machine.revision());
        Ok(response)
    }

    /// Puts this member's identity and term into a response the state machine produced.
    pub(super) fn stamp(&self, mut response: Response) -> Response {
        let revision = response.header().revision;
        *response.header_mut() = self.header(revision);
        response
    }

    /// The member raft currently believes leads, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.with_metrics(|m| m.current_leader)
    }

    /// The leader, when raft believes it is another member.
    fn other_leader(&self) -> Option<NodeId> {
        self.leader().filter(|leader| *leader != self.id())
    }
}

fn unexpected() -> Error {
    Error::Internal("the state machine answered a different request".into())
}
