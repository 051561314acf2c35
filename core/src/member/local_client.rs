//! The member as a [`Client`] of itself, so the server-side Lock and Election services run the
//! very recipes (`crate::recipes`) that clients run over the network.
//!
//! Every call is a typed request served by the member (`MemberRequest::serve`), which already
//! routes writes and linearizable reads to the leader; nothing here decides anything. A
//! member error becomes a `ClientError` through the one classification (`client::outcome`), so
//! the recipes served here see exactly what they see over the network.

use super::request::{HashKvRequest, MemberListRequest, MemberRequest, StatusRequest};
use super::watch::WatchStream;
use super::{Member, MemberStatus, MemberSummary};
use crate::api::*;
use crate::client::outcome::{self, Failure};
use crate::client::{Client, ClientError, ClientResult, HashKvResponse, Watcher};
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

impl LocalClient {
    /// Serves `request` on the member, with the member's error classified as every client
    /// classifies it (`outcome::is_read` decides whether an open outcome is no outcome).
    async fn serve<R: MemberRequest>(&self, request: R) -> ClientResult<R::Answer> {
        let read = outcome::is_read(request.rpc());
        let answered = request.serve(&self.member).await;
        answered.map_err(|error| ClientError::of(Failure::Answered(error), read))
    }
}

impl Client for LocalClient {
    type Watcher = LocalWatcher;

    async fn range(&self, request: RangeRequest) -> ClientResult<RangeResponse> {
        self.serve(request).await
    }

    async fn put(&self, request: PutRequest) -> ClientResult<PutResponse> {
        self.serve(request).await
    }

    async fn delete_range(&self, request: DeleteRangeRequest) -> ClientResult<DeleteRangeResponse> {
        self.serve(request).await
    }

    async fn txn(&self, request: TxnRequest) -> ClientResult<TxnResponse> {
        self.serve(request).await
    }

    async fn compact(&self, request: CompactionRequest) -> ClientResult<CompactionResponse> {
        self.serve(request).await
    }

    async fn watch(&self) -> ClientResult<LocalWatcher> {
        Ok(LocalWatcher { stream: self.member.watch(), received: VecDeque::new() })
    }

    async fn lease_grant(&self, request: LeaseGrantRequest) -> ClientResult<LeaseGrantResponse> {
        self.serve(request).await
    }

    async fn lease_revoke(&self, request: LeaseRevokeRequest) -> ClientResult<LeaseRevokeResponse> {
        self.serve(request).await
    }

    async fn lease_keep_alive(
        &self,
        request: LeaseKeepAliveRequest,
    ) -> ClientResult<LeaseKeepAliveResponse> {
        self.serve(request).await
    }

    async fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> ClientResult<LeaseTimeToLiveResponse> {
        self.serve(request).await
    }

    async fn lease_leases(&self) -> ClientResult<LeaseLeasesResponse> {
        self.serve(LeaseLeasesRequest {}).await
    }

    async fn member_list(&self) -> ClientResult<Vec<MemberSummary>> {
        self.serve(MemberListRequest).await
    }

    async fn status(&self) -> ClientResult<MemberStatus> {
        self.serve(StatusRequest).await
    }

    async fn hash_kv(&self, revision: i64) -> ClientResult<HashKvResponse> {
        self.serve(HashKvRequest { revision }).await
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
