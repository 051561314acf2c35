//! The member as a [`Client`] of itself, so the server-side Lock and Election services run the
//! very recipes (`crate::recipes`) that clients run over the network.
//!
//! Every call is a typed request served by the member (`MemberRequest::serve`), which already
//! routes writes and linearizable reads to the leader; nothing here decides anything. A
//! member error becomes a `ClientError` through the one classification (`client::outcome`), so
//! the recipes served here see exactly what they see over the network.
//!
//! A local client calls either as the member itself (`Caller::Internal`, unchecked) or on behalf
//! of a client (`local_client_as`): then every call, watches included, is authorized afresh and
//! checked as the same request from that client over the network would be. etcd's Lock and
//! Election servers do the same: they run the recipes over an in-process client with the
//! caller's request context, so each recipe call carries the caller's token or certificate.

use super::auth::CallerRequest;
use super::request::{HashKvRequest, MemberListRequest, StatusRequest};
use super::watch::WatchStream;
use super::{Member, MemberStatus, MemberSummary};
use crate::api::*;
use crate::auth::Caller;
use crate::client::outcome::{self, Failure};
use crate::client::{Client, ClientError, ClientResult, HashKvResponse, Watcher};
use crate::error::Result;
use crate::watch::{WatchRequest, WatchResponse};
use std::collections::VecDeque;

/// A member calling itself, as itself or for a client. Cheap to clone.
#[derive(Clone)]
pub struct LocalClient {
    member: Member,
    /// Whose calls these are.
    caller: Caller,
}

impl Member {
    /// This member as a `Client` of its own, unchecked (`Caller::Internal`).
    pub fn local_client(&self) -> LocalClient {
        self.local_client_as(Caller::Internal)
    }

    /// This member as a `Client` calling for `caller`: every call is checked for it.
    pub fn local_client_as(&self, caller: Caller) -> LocalClient {
        LocalClient { member: self.clone(), caller }
    }

    /// Serves `request` for `caller`, whose credentials are resolved now (etcd resolves them
    /// per request, so a token that expires or a permission revoked meanwhile counts at once);
    /// the member itself is served unchecked, as `MemberRequest::serve` does.
    pub(super) async fn serve_for<R: CallerRequest>(
        &self,
        caller: &Caller,
        request: R,
    ) -> Result<R::Answer> {
        match caller {
            Caller::Internal => request.serve(self).await,
            Caller::Client(_) => {
                let info = self.authorize(caller)?;
                request.serve_as(self, info).await
            }
        }
    }
}

impl LocalClient {
    /// Serves `request` on the member for this client's caller, with the member's error
    /// classified as every client classifies it (`outcome::is_read` decides whether an open
    /// outcome is no outcome).
    async fn serve<R: CallerRequest>(&self, request: R) -> ClientResult<R::Answer> {
        let read = outcome::is_read(request.rpc());
        // Boxed: a recipe's future holds this one for each of its calls, and the served
        // request's own future (routing, forwarding, proposing) is deep enough that nesting it
        // inline overflows the compiler's layout depth in the services that await recipes.
        let answered = Box::pin(self.member.serve_for(&self.caller, request)).await;
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
        let stream = match &self.caller {
            Caller::Internal => self.member.watch(),
            caller => self
                .member
                .watch_as(caller)
                .map_err(|error| ClientError::of(Failure::Answered(error), true))?,
        };
        Ok(LocalWatcher { stream, received: VecDeque::new() })
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
        self.serve(MemberListRequest::default()).await
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
