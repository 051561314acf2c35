//! The `Client` trait: etcd's v3 API as async Rust calls, one method per gRPC method.
//!
//! Recipes (`crate::recipes`) are written once against this trait and run unchanged over the
//! simulator's transport (`detcd_sim::etcd_client`) and, later, over gRPC to a real etcd or detcd.
//!
//! # Mapping onto etcd's gRPC API (what a tonic implementation does)
//!
//! | method | etcd gRPC | notes |
//! |---|---|---|
//! | `range` / `put` / `delete_range` / `txn` / `compact` | `KV.Range/Put/DeleteRange/Txn/Compact` | request/response types are `crate::api`'s, field for field |
//! | `watch` -> [`Watcher`] | `Watch.Watch` (bidi stream) | `Watcher::send` writes one `WatchRequest`, `recv` reads one `WatchResponse` |
//! | `lease_grant` / `lease_revoke` / `lease_time_to_live` / `lease_leases` | `Lease.LeaseGrant/LeaseRevoke/LeaseTimeToLive/LeaseLeases` | |
//! | `lease_keep_alive` | `Lease.LeaseKeepAlive` (bidi stream) | one request/response exchange on a stream the implementation keeps open; `crate::recipes::Session` runs the periodic loop |
//! | `member_list` | `Cluster.MemberList` | |
//! | `status` / `hash_kv` | `Maintenance.Status/HashKV` | answered by the member the client is talking to |
//!
//! Every implementation states each failure as an [`outcome::Failure`] (a member's error, not
//! delivered, no answer) and lets [`outcome::classify`] decide what it means; `ClientError` is made
//! from that class. The retry discipline is the same everywhere: move to another member and resend
//! while [`Class::resend`] allows it (certainly not applied, or a read), never resend a write
//! whose outcome is unknown.
//!
//! Every returned future is `Send`, so generic recipe code (`impl<C: Client>`) can be spawned on
//! any executor (madsim or tokio). Implementations are cheap to clone and share one connection.

mod error;
pub mod ops;
pub mod outcome;

pub use error::{ClientError, ClientResult};
pub use outcome::{Class, Failure, Rpc};

use crate::api::*;
use crate::members::{MemberStatus, MemberSummary};
use crate::watch::{WatchRequest, WatchResponse};
use std::future::Future;

/// etcd's `HashKVResponse`: the hash of the key space of one member at `revision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct HashKvResponse {
    pub hash: u32,
    pub compact_revision: i64,
    pub revision: i64,
}

/// An etcd client: KV, Txn, Compact, Watch, Lease, Cluster and Maintenance.
pub trait Client: Clone + Send + Sync + 'static {
    /// One open watch stream.
    type Watcher: Watcher;

    // KV.
    fn range(
        &self,
        request: RangeRequest,
    ) -> impl Future<Output = ClientResult<RangeResponse>> + Send;
    fn put(&self, request: PutRequest) -> impl Future<Output = ClientResult<PutResponse>> + Send;
    fn delete_range(
        &self,
        request: DeleteRangeRequest,
    ) -> impl Future<Output = ClientResult<DeleteRangeResponse>> + Send;
    fn txn(&self, request: TxnRequest) -> impl Future<Output = ClientResult<TxnResponse>> + Send;
    fn compact(
        &self,
        request: CompactionRequest,
    ) -> impl Future<Output = ClientResult<CompactionResponse>> + Send;

    // Watch.
    /// Opens a new watch stream (no watchers on it yet).
    fn watch(&self) -> impl Future<Output = ClientResult<Self::Watcher>> + Send;

    // Lease.
    fn lease_grant(
        &self,
        request: LeaseGrantRequest,
    ) -> impl Future<Output = ClientResult<LeaseGrantResponse>> + Send;
    fn lease_revoke(
        &self,
        request: LeaseRevokeRequest,
    ) -> impl Future<Output = ClientResult<LeaseRevokeResponse>> + Send;
    /// One keep-alive exchange; `ttl == 0` in the answer means the lease is gone.
    fn lease_keep_alive(
        &self,
        request: LeaseKeepAliveRequest,
    ) -> impl Future<Output = ClientResult<LeaseKeepAliveResponse>> + Send;
    fn lease_time_to_live(
        &self,
        request: LeaseTimeToLiveRequest,
    ) -> impl Future<Output = ClientResult<LeaseTimeToLiveResponse>> + Send;
    fn lease_leases(&self) -> impl Future<Output = ClientResult<LeaseLeasesResponse>> + Send;

    // Cluster and Maintenance.
    fn member_list(&self) -> impl Future<Output = ClientResult<Vec<MemberSummary>>> + Send;
    fn status(&self) -> impl Future<Output = ClientResult<MemberStatus>> + Send;
    fn hash_kv(&self, revision: i64) -> impl Future<Output = ClientResult<HashKvResponse>> + Send;
}

/// One watch stream: requests go in, responses come out in order.
///
/// A stream that breaks (its member became unreachable) answers every later call with an error;
/// the caller opens a new one and resumes from the revision after the last event it saw.
pub trait Watcher: Send + 'static {
    /// Sends a create, cancel or progress request.
    fn send(&mut self, request: WatchRequest) -> impl Future<Output = ClientResult<()>> + Send;
    /// The next response on this stream.
    fn recv(&mut self) -> impl Future<Output = ClientResult<WatchResponse>> + Send;
}
