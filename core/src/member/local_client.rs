//! The member as a [`Client`] of itself, so the server-side Lock and Election services run the
//! very recipes (`crate::recipes`) that clients run over the network.
//!
//! Every call goes through the member's own node API (`Member::range`, `Member::txn`, ...), which
//! already routes writes and linearizable reads to the leader; nothing here decides anything. A
//! member error becomes a `ClientError` through the one classification (`client::outcome`), so
//! the recipes served here see exactly what they see over the network.

use super::watch::WatchStream;
use super::{Member, MemberStatus, MemberSummary};
use crate::api::*;
use crate::client::outcome::{self, Failure, Rpc};
use crate::client::{Client, ClientError, ClientResult, HashKvResponse, Watcher};
use crate::error::Error;
use crate::member::ClientResponse;
use crate::watch::{WatchRequest, WatchResponse};
use std::collections::VecDeque;

/// A member calling itself. Cheap to clone.
#[derive(Clone)]
pub struct LocalClient {
    member: Member,
}

impl Member {
    /// This member as a `Client`, for recipes served inside the member.
    pub fn local_client(&self) -> LocalClient {
        LocalClient { member: self.clone() }
    }
}

fn answer<T>(result: crate::error::Result<T>) -> ClientResult<T> {
    result.map_err(ClientError::from)
}

/// The answer to a call that only reads (`outcome::is_read`).
fn read<T>(result: crate::error::Result<T>) -> ClientResult<T> {
    result.map_err(|error| ClientError::of(Failure::Answered(error), true))
}

impl Client for LocalClient {
    type Watcher = LocalWatcher;

    async fn range(&self, request: RangeRequest) -> ClientResult<RangeResponse> {
        read(self.member.range(request).await)
    }

    async fn put(&self, request: PutRequest) -> ClientResult<PutResponse> {
        answer(self.member.put(request).await)
    }

    async fn delete_range(&self, request: DeleteRangeRequest) -> ClientResult<DeleteRangeResponse> {
        answer(self.member.delete_range(request).await)
    }

    async fn txn(&self, request: TxnRequest) -> ClientResult<TxnResponse> {
        let reads = outcome::is_read(Rpc::Txn(&request));
        let answered = self.member.txn(request).await;
        if reads {
            read(answered)
        } else {
            answer(answered)
        }
    }

    async fn compact(&self, request: CompactionRequest) -> ClientResult<CompactionResponse> {
        answer(self.member.compact(request).await)
    }

    async fn watch(&self) -> ClientResult<LocalWatcher> {
        Ok(LocalWatcher { stream: self.member.watch(), received: VecDeque::new() })
    }

    async fn lease_grant(&self, request: LeaseGrantRequest) -> ClientResult<LeaseGrantResponse> {
        answer(self.member.lease_grant(request).await)
    }

    async fn lease_revoke(&self, request: LeaseRevokeRequest) -> ClientResult<LeaseRevokeResponse> {
        answer(self.member.lease_revoke(request).await)
    }

    async fn lease_keep_alive(
        &self,
        request: LeaseKeepAliveRequest,
    ) -> ClientResult<LeaseKeepAliveResponse> {
        answer(self.member.lease_keep_alive(request.id).await)
    }

    async fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> ClientResult<LeaseTimeToLiveResponse> {
        read(self.member.lease_time_to_live(request).await)
    }

    async fn lease_leases(&self) -> ClientResult<LeaseLeasesResponse> {
        read(self.member.lease_leases().await)
    }

    async fn member_list(&self) -> ClientResult<Vec<MemberSummary>> {
        Ok(self.member.member_list())
    }

    async fn status(&self) -> ClientResult<MemberStatus> {
        Ok(self.member.status())
    }

    async fn hash_kv(&self, revision: i64) -> ClientResult<HashKvResponse> {
        match read(self.member.hash_kv(revision))? {
            ClientResponse::HashKv { hash, compact_revision, revision } => {
                Ok(HashKvResponse { hash, compact_revision, revision })
            }
            _ => Err(Error::Internal("unexpected answer to hash kv".into()).into()),
        }
    }
}

/// A watch stream on the member itself; responses come in batches and are handed out one by one.
pub struct LocalWatcher {
    stream: WatchStream,
    received: VecDeque<WatchResponse>,
}

impl Watcher for LocalWatcher {
    async fn send(&mut self, request: WatchRequest) -> ClientResult<()> {
        self.stream.send(request);
        Ok(())
    }

    async fn recv(&mut self) -> ClientResult<WatchResponse> {
        loop {
            if let Some(response) = self.received.pop_front() {
                return Ok(response);
            }
            let responses = self.stream.recv().await;
            if responses.is_empty() && !self.stream.is_open() {
                return Err(ClientError::Unavailable(
                    "the member was removed from the cluster".into(),
                ));
            }
            self.received.extend(responses);
        }
    }
}
